import Testing
@testable import StratusMetrics

@Suite struct ZWatchQueryTests {
    private let minute: Int64 = 60_000

    private func labels(_ vm: String, _ metric: String = "CPUAllUsedUtilization") -> Labels {
        ZWatchName.labels(namespace: "ZStack/VM", metricName: metric, ["VMUuid": vm])
    }

    private func query(start: Int64 = 0, end: Int64, period: Int64, _ matchers: [LabelMatcher] = []) -> ZWatchQuery {
        ZWatchQuery(namespace: "ZStack/VM", metricName: "CPUAllUsedUtilization", matchers: matchers,
                    start: start, end: end, period: period)
    }

    /// Windows are (t - period, t] for t = start + k·period, stamped t, as Prometheus' avg_over_time.
    @Test(arguments: MetricStoreKind.allCases)
    func averagesEachSeriesPerWindowEndingAtEachStep(kind: MetricStoreKind) async throws {
        try await kind.withStore { store in
            try await store.write([
                // vm-b first so that ordering is the query's doing.
                Sample(labels: labels("vm-b"), timestamp: 10_000, value: 50),
                Sample(labels: labels("vm-a"), timestamp: 10_000, value: 10),
                Sample(labels: labels("vm-a"), timestamp: 40_000, value: 20),
                Sample(labels: labels("vm-a"), timestamp: 70_000, value: 90),
                // On a window end: belongs to the window ending there, not the next one.
                Sample(labels: labels("vm-c"), timestamp: 60_000, value: 7),
                Sample(labels: labels("vm-c"), timestamp: 120_000, value: 9),
                // After end: ignored.
                Sample(labels: labels("vm-a"), timestamp: 200_000, value: 1_000),
                // Another metric of the same VM: ignored.
                Sample(labels: labels("vm-a", "MemoryUsedBytes"), timestamp: 10_000, value: 5),
            ])
            let got = try await query(end: 3 * minute, period: minute).run(on: store)
            #expect(got == [
                ZWatchDataPoint(value: 15, time: minute, labels: ["VMUuid": "vm-a"]),
                ZWatchDataPoint(value: 90, time: 2 * minute, labels: ["VMUuid": "vm-a"]),
                ZWatchDataPoint(value: 50, time: minute, labels: ["VMUuid": "vm-b"]),
                ZWatchDataPoint(value: 7, time: minute, labels: ["VMUuid": "vm-c"]),
                ZWatchDataPoint(value: 9, time: 2 * minute, labels: ["VMUuid": "vm-c"]),
            ])
            let onlyB = try await query(end: 3 * minute, period: minute, [.equal("VMUuid", "vm-b")]).run(on: store)
            #expect(onlyB == [ZWatchDataPoint(value: 50, time: minute, labels: ["VMUuid": "vm-b"])])
            // The first window reaches back one period before start: start = 60 s covers (0, 60 s].
            let fromOneMinute = try await query(start: minute, end: minute, period: minute, [.equal("VMUuid", "vm-a")]).run(on: store)
            #expect(fromOneMinute == [ZWatchDataPoint(value: 15, time: minute, labels: ["VMUuid": "vm-a"])])
            // One window over the whole range: the mean of every sample in (0, 3 min].
            let whole = try await query(start: 3 * minute, end: 3 * minute, period: 3 * minute, [.equal("VMUuid", "vm-a")]).run(on: store)
            #expect(whole == [ZWatchDataPoint(value: 40, time: 3 * minute, labels: ["VMUuid": "vm-a"])])
        }
    }

    @Test(arguments: MetricStoreKind.allCases)
    func conditionsFilterPointsThenFunctionsRun(kind: MetricStoreKind) async throws {
        try await kind.withStore { store in
            try await store.write([
                Sample(labels: labels("vm-a"), timestamp: 30_000, value: 10),
                Sample(labels: labels("vm-b"), timestamp: 30_000, value: 85),
                Sample(labels: labels("vm-c"), timestamp: 30_000, value: 95),
                Sample(labels: labels("vm-d"), timestamp: 30_000, value: 81),
            ])
            var q = query(start: minute, end: minute, period: minute)
            q.valueConditions = [try ZWatchValueCondition.parse("value>80"), try ZWatchValueCondition.parse("value<=90")]
            #expect(try await q.run(on: store).map(\.value) == [85, 81])
            q.functions = [try ZWatchFunction.parse("top(num=1)")]
            #expect(try await q.run(on: store) == [ZWatchDataPoint(value: 85, time: minute, labels: ["VMUuid": "vm-b"])])
        }
    }

    @Test func rejectsOutOfRangeFieldsNamingThem() async throws {
        let store = MemoryMetricStore()
        func field(_ q: ZWatchQuery) async -> String? {
            do {
                _ = try await q.run(on: store)
                return nil
            } catch let MetricsError.invalidQuery(field, _) {
                return field
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(await field(query(start: 10, end: 5, period: 1)) == "endTime")
        #expect(await field(query(end: 5, period: 0)) == "period")
        #expect(await field(query(end: 5, period: -1)) == "period")
        #expect(await field(query(start: -1, end: 5, period: 1)) == "startTime")
        #expect(await field(query(end: 11_001, period: 1)) == "period")
        var noName = query(end: 1, period: 1)
        noName.metricName = ""
        #expect(await field(noName) == "metricName")
        // The limit itself is allowed.
        #expect(await field(query(end: 11_000 * minute, period: minute)) == nil)
    }
}
