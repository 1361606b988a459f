import Testing
@testable import StratusMetrics

@Suite struct ZWatchCustomMetricTests {
    private let now: Int64 = 1_732_170_000_000
    private let rules = ZWatchCustomMetricRules()

    private func datum(_ name: String = "Latency", value: Double = 12.5, time: Int64? = nil, labels: [String: String] = ["Shop": "a"]) -> ZWatchDatum {
        ZWatchDatum(metricName: name, value: value, time: time ?? now, labels: labels)
    }

    private func field(_ data: [ZWatchDatum], namespace: String = "MyApp/Orders") -> String? {
        do {
            _ = try rules.samples(namespace: namespace, data: data, now: now)
            return nil
        } catch let MetricsError.invalidQuery(field, _) {
            return field
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func validDataBecomeZWatchNamedSamples() throws {
        let samples = try rules.samples(namespace: "MyApp/Orders", data: [datum(), datum("Count", value: 3, labels: [:])], now: now)
        #expect(samples == [
            Sample(labels: Labels(["__name__": "MyApp:Orders::Latency", "Shop": "a"]), timestamp: now, value: 12.5),
            Sample(labels: Labels(["__name__": "MyApp:Orders::Count"]), timestamp: now, value: 3),
        ])
    }

    @Test func namespacesMustBeCustomAndWellFormed() {
        for ns in ["ZStack/VM", "zstack/Custom", "Single", "My App/Orders", "MyApp//Orders", "MyApp/Or:ders", ""] {
            #expect(field([datum()], namespace: ns) == "namespace", "\(ns)")
        }
        #expect(field([datum()], namespace: "A/B/C") == nil)
    }

    @Test func eachBadDatumIsNamedWithItsIndex() {
        #expect(field([datum(), datum("bad name")]) == "data[1].metricName")
        #expect(field([datum(value: .nan)]) == "data[0].value")
        #expect(field([datum(), datum(), datum(value: .infinity)]) == "data[2].value")
        #expect(field([datum(time: now + 10 * 60_000)]) == "data[0].time")
        #expect(field([datum(time: now - 181 * 86_400_000)]) == "data[0].time")
        #expect(field([datum(labels: ["__x": "1"])]) == "data[0].labels.__x")
        #expect(field([datum(labels: ["Shop": ""])]) == "data[0].labels.Shop")
        #expect(field([datum(labels: ["1abc": "v"])]) == "data[0].labels.1abc")
        #expect(field([]) == "data")
        // At the edges of the window: accepted.
        #expect(field([datum(time: now + 5 * 60_000), datum(time: now - 180 * 86_400_000)]) == nil)
    }
}
