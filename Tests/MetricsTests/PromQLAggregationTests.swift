import Testing
@testable import StratusMetrics

@Suite struct PromQLAggregationTests {
    private func engine() async throws -> PromQLEngine {
        PromQLEngine(store: try await pqStore([
            (["__name__": "cpu", "host": "h1", "vm": "a"], [(0, 1)]),
            (["__name__": "cpu", "host": "h1", "vm": "b"], [(0, 2)]),
            (["__name__": "cpu", "host": "h2", "vm": "c"], [(0, 4)]),
            (["__name__": "cpu", "host": "h2", "vm": "d"], [(0, 8)]),
            (["__name__": "cpu", "host": "h3", "vm": "e"], [(0, 8)]),
        ]))
    }

    @Test func sumAvgMinMaxCountBy() async throws {
        let e = try await engine()
        let h = ["{host=\"h1\"}", "{host=\"h2\"}", "{host=\"h3\"}"]
        pqExpect(try await e.instantQuery("sum by (host) (cpu)", at: 0), zip(h, [3.0, 12, 8]).map { ($0, $1) })
        pqExpect(try await e.instantQuery("sum(cpu) by (host)", at: 0), zip(h, [3.0, 12, 8]).map { ($0, $1) })
        pqExpect(try await e.instantQuery("avg by (host) (cpu)", at: 0), zip(h, [1.5, 6, 8]).map { ($0, $1) })
        pqExpect(try await e.instantQuery("min by (host) (cpu)", at: 0), zip(h, [1.0, 4, 8]).map { ($0, $1) })
        pqExpect(try await e.instantQuery("max by (host) (cpu)", at: 0), zip(h, [2.0, 8, 8]).map { ($0, $1) })
        pqExpect(try await e.instantQuery("count by (host) (cpu)", at: 0), zip(h, [2.0, 2, 1]).map { ($0, $1) })
        pqExpect(try await e.instantQuery("sum(cpu)", at: 0), [("{}", 23)])
        pqExpect(try await e.instantQuery("count(cpu)", at: 0), [("{}", 5)])
        pqExpect(try await e.instantQuery("avg(cpu)", at: 0), [("{}", 23.0 / 5)])
    }

    @Test func withoutDropsTheNameAndTheListedLabels() async throws {
        let e = try await engine()
        pqExpect(try await e.instantQuery("sum without (vm) (cpu)", at: 0), [
            ("{host=\"h1\"}", 3), ("{host=\"h2\"}", 12), ("{host=\"h3\"}", 8),
        ])
        // Without nothing: each series alone, minus __name__.
        pqExpect(try await e.instantQuery("max without () (cpu{host=\"h1\"})", at: 0), [
            ("{host=\"h1\",vm=\"a\"}", 1), ("{host=\"h1\",vm=\"b\"}", 2),
        ])
        pqExpect(try await e.instantQuery("sum by (__name__) (cpu)", at: 0), [("{__name__=\"cpu\"}", 23)])
    }

    @Test func topkAndBottomkOrderByValueAndKeepLabels() async throws {
        let e = try await engine()
        // d and e tie at 8: the one met first (labels order: d) ranks first.
        pqExpect(try await e.instantQuery("topk(3, cpu)", at: 0), [
            ("{__name__=\"cpu\",host=\"h2\",vm=\"d\"}", 8), ("{__name__=\"cpu\",host=\"h3\",vm=\"e\"}", 8),
            ("{__name__=\"cpu\",host=\"h2\",vm=\"c\"}", 4),
        ])
        pqExpect(try await e.instantQuery("topk(1, cpu)", at: 0), [("{__name__=\"cpu\",host=\"h2\",vm=\"d\"}", 8)])
        pqExpect(try await e.instantQuery("bottomk(2, cpu)", at: 0), [
            ("{__name__=\"cpu\",host=\"h1\",vm=\"a\"}", 1), ("{__name__=\"cpu\",host=\"h1\",vm=\"b\"}", 2),
        ])
        pqExpect(try await e.instantQuery("topk by (host) (1, cpu)", at: 0), [
            ("{__name__=\"cpu\",host=\"h1\",vm=\"b\"}", 2), ("{__name__=\"cpu\",host=\"h2\",vm=\"d\"}", 8),
            ("{__name__=\"cpu\",host=\"h3\",vm=\"e\"}", 8),
        ])
        pqExpect(try await e.instantQuery("topk(0, cpu)", at: 0), [])
        #expect(pqVector(try await e.instantQuery("topk(10, cpu)", at: 0)).count == 5)
        // The order survives scalar arithmetic.
        pqExpect(try await e.instantQuery("bottomk(2, cpu) * 10", at: 0), [("{host=\"h1\",vm=\"a\"}", 10), ("{host=\"h1\",vm=\"b\"}", 20)])
    }

    @Test func topkInARangeQueryPicksPerStep() async throws {
        let store = try await pqStore([
            (["__name__": "x", "i": "a"], [(0, 1), (60_000, 5)]),
            (["__name__": "x", "i": "b"], [(0, 3), (60_000, 2)]),
        ])
        let r = try await PromQLEngine(store: store).rangeQuery("topk(1, x)", start: 0, end: 60_000, step: 60_000)
        #expect(r == .matrix([
            SeriesPoints(labels: Labels(["__name__": "x", "i": "a"]), points: [Point(timestamp: 60_000, value: 5)]),
            SeriesPoints(labels: Labels(["__name__": "x", "i": "b"]), points: [Point(timestamp: 0, value: 3)]),
        ]))
    }

    @Test func nanInAggregations() async throws {
        let store = try await pqStore([
            (["__name__": "x", "i": "a"], [(0, .nan)]),
            (["__name__": "x", "i": "b"], [(0, 2)]),
            (["__name__": "x", "i": "c"], [(0, 1)]),
        ])
        let e = PromQLEngine(store: store)
        pqExpect(try await e.instantQuery("max(x)", at: 0), [("{}", 2)])
        pqExpect(try await e.instantQuery("min(x)", at: 0), [("{}", 1)])
        pqExpect(try await e.instantQuery("sum(x)", at: 0), [("{}", .nan)])
        pqExpect(try await e.instantQuery("max(x{i=\"a\"})", at: 0), [("{}", .nan)])
        // NaN ranks last for both topk and bottomk.
        pqExpect(try await e.instantQuery("topk(3, x)", at: 0), [
            ("{__name__=\"x\",i=\"b\"}", 2), ("{__name__=\"x\",i=\"c\"}", 1), ("{__name__=\"x\",i=\"a\"}", .nan),
        ])
        pqExpect(try await e.instantQuery("bottomk(1, x)", at: 0), [("{__name__=\"x\",i=\"c\"}", 1)])
    }

    @Test func benchmarkShapedQueries() async throws {
        // Two VMs on h1, one on h2; one sample every 30 min over 2 h, value = VM number × sample index.
        var series: [([String: String], [(Int64, Double)])] = []
        for (vm, host, n) in [("v1", "h1", 1.0), ("v2", "h1", 2.0), ("v3", "h2", 3.0)] {
            series.append((["__name__": "ZStack:VM::NetworkInBytes", "VMUuid": vm, "HostUuid": host],
                           (1...4).map { (Int64($0) * 1_800_000, n * Double($0)) }))
        }
        let e = PromQLEngine(store: try await pqStore(series))
        // Per host, per 1 h step: window (0, 1 h] holds samples 1, 2; (1 h, 2 h] holds 3, 4.
        // h1 = (1+2)·(1+2) = 9 then (1+2)·(3+4) = 21; h2 = 3·3 = 9 then 3·7 = 21.
        let r = try await e.rangeQuery(
            "sum by (HostUuid) (sum_over_time(ZStack:VM::NetworkInBytes[1h]))", start: 3_600_000, end: 7_200_000, step: 3_600_000)
        #expect(r == .matrix([
            SeriesPoints(labels: Labels(["HostUuid": "h1"]), points: [
                Point(timestamp: 3_600_000, value: 9), Point(timestamp: 7_200_000, value: 21),
            ]),
            SeriesPoints(labels: Labels(["HostUuid": "h2"]), points: [
                Point(timestamp: 3_600_000, value: 9), Point(timestamp: 7_200_000, value: 21),
            ]),
        ]))
        // Top 2 by average over the last hour (samples 3, 4): v3 = 10.5, v2 = 7.
        pqExpect(try await e.instantQuery("topk(2, avg_over_time(ZStack:VM::NetworkInBytes[1h]))", at: 7_200_000), [
            ("{HostUuid=\"h2\",VMUuid=\"v3\"}", 10.5), ("{HostUuid=\"h1\",VMUuid=\"v2\"}", 7),
        ])
    }
}
