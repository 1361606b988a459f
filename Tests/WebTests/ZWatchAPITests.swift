import Foundation
import Hummingbird
import HummingbirdTesting
import StratusMetrics
import Testing
import Web

/// The ZWatch API over the fixture: VM a's CPUAllUsedUtilization is 0…59 at 10 s steps ending
/// 10 s before `now`; its MemoryUsedInPercent is 40; the host's CPU is 12.5.
@Suite struct ZWatchAPITests {
    private let now = WebFixture.now / 1000

    private func get(_ c: some TestClientProtocol, _ s: String, _ query: String) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await c.execute(uri: "/zstack/v1/zwatch/metrics\(query)", method: .get, headers: oauth(s)) { r in
            (r.status, try json(r.body))
        }
    }

    private func points(_ body: [String: Any]) -> [(value: Double, time: Int64, labels: [String: String])] {
        (body["data"] as? [[String: Any]] ?? []).map {
            ($0["value"] as? Double ?? .nan, $0["time"] as? Int64 ?? -1, $0["labels"] as? [String: String] ?? [:])
        }
    }

    private func cpu(_ f: WebFixture, _ extra: String = "") -> String {
        "?namespace=ZStack/VM&metricName=CPUAllUsedUtilization&labels=VMUuid=\(f.vmUuids[0])&startTime=\(now - 600)&endTime=\(now)&period=60\(extra)"
    }

    @Test func periodWindowsEndAtEachStepAndAverageTheSamplesInside() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let s = try await c.login()
            let (status, body) = try await get(c, s, cpu(f))
            #expect(status == .ok)
            let got = points(body)
            // Window (t-60, t] for t = start + 60k: the first holds only sample 0 (at start), then
            // six samples each, and the last five (samples 55…59; none at `now`).
            #expect(got.map(\.value) == [0, 3.5, 9.5, 15.5, 21.5, 27.5, 33.5, 39.5, 45.5, 51.5, 57])
            #expect(got.map(\.time) == (0...10).map { now - 600 + 60 * Int64($0) })
            #expect(got.first?.labels == ["VMUuid": f.vmUuids[0], "HostUuid": f.host.uuid])
        }
    }

    @Test func valueConditionsAndFunctionsApplyInOrder() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let s = try await c.login()
            let (_, between) = try await get(c, s, cpu(f, "&valueConditions=value>30&valueConditions=value<=51.5"))
            #expect(points(between).map(\.value) == [33.5, 39.5, 45.5, 51.5])
            let (_, top) = try await get(c, s, cpu(f, "&functions=top(num=2)"))
            #expect(points(top).map(\.value) == [57, 51.5])
            #expect(points(top).map(\.time) == [now, now - 60])
            let (_, low) = try await get(c, s, cpu(f, "&valueConditions=value>5&functions=low(num=1)"))
            #expect(points(low).map(\.value) == [9.5])
            let sorted = cpu(f, "&functions=" + #"sort(by="value",direction="desc")"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! + "&functions=limit(limit=3)")
            let (_, desc) = try await get(c, s, sorted)
            #expect(points(desc).map(\.value) == [57, 51.5, 45.5])
        }
    }

    @Test func putMetricDataThenQueryItBackGrouped() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let s = try await c.login()
            let t = now - 30
            let body = #"{"params":{"namespace":"MyApp/Orders","data":["#
                + #"{"metricName":"Latency","value":12.5,"time":\#(t),"labels":{"Shop":"a","Region":"x"}},"#
                + #"{"metricName":"Latency","value":7.5,"time":\#(t),"labels":{"Shop":"b","Region":"x"}},"#
                + #"{"metricName":"Latency","value":1,"time":\#(t),"labels":{"Shop":"c","Region":"y"}}]}}"#
            try await c.execute(uri: "/zstack/v1/zwatch/metrics", method: .post, headers: oauth(s), body: ByteBuffer(string: body)) { r in
                #expect(r.status == .ok)
                let reply = try json(r.body)
                #expect(reply["accepted"] as? Int == 3)
                #expect((reply["rejected"] as? [Any])?.isEmpty == true)
            }
            let q = "?namespace=MyApp/Orders&metricName=Latency&startTime=\(now)&endTime=\(now)&period=60"
            let (_, all) = try await get(c, s, q)
            #expect(points(all).map(\.value) == [12.5, 7.5, 1])
            let sum = #"sum(groupBy="Region")"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let (_, grouped) = try await get(c, s, q + "&functions=\(sum)")
            #expect(points(grouped).map(\.value) == [20, 1])
            #expect(points(grouped).map(\.labels) == [["Region": "x"], ["Region": "y"]])
            #expect(points(grouped).map(\.time) == [now, now])
            // It shows in the metadata with the labels it was written with.
            try await c.execute(uri: "/zstack/v1/zwatch/metrics/meta-data?namespace=MyApp/Orders", method: .get, headers: oauth(s)) { r in
                let metrics = try #require(try json(r.body)["metrics"] as? [[String: Any]])
                #expect(metrics.count == 1)
                #expect(metrics.first?["name"] as? String == "Latency")
                #expect(metrics.first?["labelNames"] as? [String] == ["Region", "Shop"])
            }
        }
    }

    @Test func putMetricDataRefusesTheWholeRequestNamingFieldAndIndex() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let s = try await c.login()
            for (data, field) in [
                (#""namespace":"ZStack/VM","data":[{"metricName":"X","value":1}]"#, "namespace"),
                (#""namespace":"MyApp/A","data":[{"metricName":"X","value":1},{"metricName":"bad name","value":1}]"#, "data[1].metricName"),
                (#""namespace":"MyApp/A","data":[{"metricName":"X","value":1,"time":\#(WebFixture.now)}]"#, "data[0].time"),
                (#""namespace":"MyApp/A","data":[{"metricName":"X","value":1,"labels":{"__n":"v"}}]"#, "data[0].labels.__n"),
                (#""namespace":"MyApp/A","data":[{"metricName":"X"}]"#, "value"),
            ] {
                try await c.execute(uri: "/zstack/v1/zwatch/metrics", method: .post, headers: oauth(s),
                                    body: ByteBuffer(string: #"{"params":{\#(data)}}"#)) { r in
                    #expect(r.status == .badRequest, "\(data)")
                    let details = try errorDetails(r.body)
                    #expect(details.contains(field), "\(data): \(details)")
                }
            }
            // Nothing of a refused request was stored.
            #expect(try await f.store.labelValues(Labels.nameKey, matchers: []).allSatisfy { !$0.hasPrefix("MyApp") })
        }
    }

    @Test func samplesTheStoreRefusesAreReportedByIndex() async throws {
        let f = try await WebFixture.make(store: RefusingNegativeStore())
        try await f.app.test(.router) { c in
            let s = try await c.login()
            let body = #"{"params":{"namespace":"MyApp/A","data":[{"metricName":"X","value":1},{"metricName":"X","value":-1,"time":\#(now - 1)},{"metricName":"Y","value":2}]}}"#
            try await c.execute(uri: "/zstack/v1/zwatch/metrics", method: .post, headers: oauth(s), body: ByteBuffer(string: body)) { r in
                #expect(r.status == .ok)
                let reply = try json(r.body)
                #expect(reply["accepted"] as? Int == 2)
                let rejected = try #require(reply["rejected"] as? [[String: Any]])
                #expect(rejected.count == 1)
                #expect(rejected.first?["index"] as? Int == 1)
                #expect(rejected.first?["reason"] as? String == "too_old")
            }
        }
    }

    @Test func metadataListsCatalogAndStoredMetrics() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let s = try await c.login()
            try await c.execute(uri: "/zstack/v1/zwatch/metrics/meta-data?namespace=ZStack/VM", method: .get, headers: oauth(s)) { r in
                #expect(r.status == .ok)
                let metrics = try #require(try json(r.body)["metrics"] as? [[String: Any]])
                #expect(metrics.allSatisfy { $0["namespace"] as? String == "ZStack/VM" })
                let cpu = try #require(metrics.first { $0["name"] as? String == "CPUAllUsedUtilization" })
                #expect(cpu["labelNames"] as? [String] == ["HostUuid", "VMUuid"])
                // From the catalog though nothing was collected.
                #expect(metrics.contains { $0["name"] as? String == "NetworkAllInBytes" })
            }
            try await c.execute(uri: "/zstack/v1/zwatch/metrics/meta-data", method: .get, headers: oauth(s)) { r in
                let metrics = try #require(try json(r.body)["metrics"] as? [[String: Any]])
                let namespaces = Set(metrics.compactMap { $0["namespace"] as? String })
                #expect(namespaces.isSuperset(of: ["ZStack/VM", "ZStack/Host", "ZStack/L3Network", "ZStack/PrimaryStorage"]))
            }
        }
    }

    @Test func labelValuesListDistinctCombinations() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let s = try await c.login()
            let base = "/zstack/v1/zwatch/metrics/label-values?namespace=ZStack/VM&metricName=CPUAllUsedUtilization"
            try await c.execute(uri: base + "&labelNames=VMUuid&labelNames=HostUuid", method: .get, headers: oauth(s)) { r in
                #expect(r.status == .ok)
                let labels = try #require(try json(r.body)["labels"] as? [[String: String]])
                #expect(labels == [["VMUuid": f.vmUuids[0], "HostUuid": f.host.uuid]])
            }
            try await c.execute(uri: base + "&labelNames=VMUuid&filterLabels=VMUuid=\(f.vmUuids[1])", method: .get, headers: oauth(s)) { r in
                let labels = try json(r.body)["labels"] as? [[String: String]]
                #expect(labels == [])
            }
            try await c.execute(uri: base, method: .get, headers: oauth(s)) { r in
                #expect(r.status == .badRequest)
                let details = try errorDetails(r.body)
                #expect(details.contains("labelNames"))
            }
        }
    }

    @Test func badConditionsAndFunctionsNameTheField() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let s = try await c.login()
            for (extra, field) in [("&valueConditions=value~3", "valueConditions"), ("&functions=median(num=1)", "functions"),
                                   ("&functions=top(num=0)", "functions")] {
                let (status, body) = try await get(c, s, cpu(f, extra))
                #expect(status == .badRequest, "\(extra)")
                let details: String = (body["error"] as? [String: String])?["details"] ?? ""
                #expect(details.contains(field), "\(extra): \(details)")
            }
        }
    }
}

/// A store that refuses negative values as too old, to see per-sample rejections reported.
struct RefusingNegativeStore: MetricStore {
    let inner = MemoryMetricStore()

    func write(_ samples: [Sample]) async throws -> WriteReport {
        let refused = samples.filter { $0.value < 0 }
        var report = try await inner.write(samples.filter { $0.value >= 0 })
        report.rejected += refused.map { SampleRejection(sample: $0, reason: .tooOld, message: "\($0.labels) at \($0.timestamp) is too old") }
        return report
    }

    func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) async throws -> [SeriesPoints] {
        try await inner.select(matchers, from: from, to: to)
    }

    func labelValues(_ name: String, matchers: [LabelMatcher]) async throws -> [String] {
        try await inner.labelValues(name, matchers: matchers)
    }

    func stats() async throws -> TSDBStats { try await inner.stats() }
}
