import Foundation
import Synchronization
import Testing
@testable import StratusMetrics

// MARK: Helpers shared by the PromQL suites

/// A memory store holding `series` (labels as a dictionary incl. `__name__`, points as (ms, value)).
func pqStore(_ series: [([String: String], [(Int64, Double)])]) async throws -> MemoryMetricStore {
    let store = MemoryMetricStore()
    var samples: [Sample] = []
    for (labels, points) in series {
        for (t, v) in points { samples.append(Sample(labels: Labels(labels), timestamp: t, value: v)) }
    }
    try await store.write(samples)
    return store
}

/// The samples of an instant vector result, in result order, as (labels text, value).
func pqVector(_ value: PromQLValue) -> [(String, Double)] {
    guard case let .vector(samples) = value else {
        Issue.record("expected a vector, got \(value)")
        return []
    }
    return samples.map { ($0.labels.description, $0.point.value) }
}

/// The scalar of a result.
func pqScalar(_ value: PromQLValue) -> Double? {
    guard case let .scalar(p) = value else {
        Issue.record("expected a scalar, got \(value)")
        return nil
    }
    return p.value
}

/// Equal within 1e-12 relative, or both NaN.
func pqClose(_ a: Double?, _ b: Double) -> Bool {
    guard let a else { return false }
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a.isInfinite || b.isInfinite { return a == b }
    return abs(a - b) <= 1e-12 * max(1, abs(b))
}

/// Compares a vector result with expected (labels text, value) pairs in order.
func pqExpect(_ value: PromQLValue, _ expected: [(String, Double)], sourceLocation: SourceLocation = #_sourceLocation) {
    let got = pqVector(value)
    #expect(got.map(\.0) == expected.map(\.0), sourceLocation: sourceLocation)
    guard got.count == expected.count else { return }
    for (g, e) in zip(got, expected) {
        #expect(pqClose(g.1, e.1), "\(g.0): got \(g.1), expected \(e.1)", sourceLocation: sourceLocation)
    }
}

// MARK: Engine-level behaviour

@Suite struct PromQLEngineTests {
    @Test func rangeQueryEvaluatesAtEveryStepUpToEnd() async throws {
        // One sample every 10 s: value = t/1000.
        let store = try await pqStore([(["__name__": "x"], (0...30).map { (Int64($0) * 10_000, Double($0) * 10) })])
        let engine = PromQLEngine(store: store)
        // end is not on the step grid: times 5 s, 65 s, 125 s, 185 s (245 s > end 200 s).
        let r = try await engine.rangeQuery("x", start: 5_000, end: 200_000, step: 60_000)
        guard case let .matrix(series) = r else { Issue.record("expected a matrix"); return }
        #expect(series.count == 1)
        #expect(series.first?.labels == Labels(["__name__": "x"]))
        // Latest sample at or before each time: 0 s, 60 s, 120 s, 180 s.
        #expect(series.first?.points == [
            Point(timestamp: 5_000, value: 0), Point(timestamp: 65_000, value: 60),
            Point(timestamp: 125_000, value: 120), Point(timestamp: 185_000, value: 180),
        ])
    }

    @Test func rangeQueryOfScalarIsOneSeriesWithoutLabels() async throws {
        let engine = PromQLEngine(store: MemoryMetricStore())
        let r = try await engine.rangeQuery("time() * 2", start: 10_000, end: 30_000, step: 10_000)
        #expect(r == .matrix([SeriesPoints(labels: Labels([:]), points: [
            Point(timestamp: 10_000, value: 20), Point(timestamp: 20_000, value: 40), Point(timestamp: 30_000, value: 60),
        ])]))
    }

    @Test func rangeQueryMatrixIsSortedByLabelsAndOmitsTimesWithoutValue() async throws {
        let store = try await pqStore([
            (["__name__": "x", "i": "b"], [(0, 1), (600_000, 2)]),
            (["__name__": "x", "i": "a"], [(0, 3)]),
        ])
        let r = try await PromQLEngine(store: store).rangeQuery("x", start: 0, end: 600_000, step: 300_000)
        // Lookback 5 m: the sample at 0 is seen at 0 only (300 000 - 300 000 = 0 is outside (0, 300 000]).
        #expect(r == .matrix([
            SeriesPoints(labels: Labels(["__name__": "x", "i": "a"]), points: [Point(timestamp: 0, value: 3)]),
            SeriesPoints(labels: Labels(["__name__": "x", "i": "b"]), points: [
                Point(timestamp: 0, value: 1), Point(timestamp: 600_000, value: 2),
            ]),
        ]))
    }

    @Test func instantQueryResultKinds() async throws {
        let engine = PromQLEngine(store: MemoryMetricStore())
        #expect(try await engine.instantQuery("1 + 1", at: 7_000) == .scalar(Point(timestamp: 7_000, value: 2)))
        #expect(try await engine.instantQuery("\"hello\"", at: 7_000) == .string("hello", at: 7_000))
        #expect(try await engine.instantQuery("x", at: 7_000) == .vector([]))
    }

    @Test func rangeQueryRejectsRangeVectorsAndStrings() async throws {
        let engine = PromQLEngine(store: MemoryMetricStore())
        for q in ["x[5m]", "\"s\""] {
            await #expect(throws: PromQLError.self) { try await engine.rangeQuery(q, start: 0, end: 60_000, step: 10_000) }
        }
        await #expect(throws: PromQLError.self) { try await engine.rangeQuery("x", start: 0, end: 60_000, step: 0) }
    }

    @Test func tooManySamplesCountsLoadedSamples() async throws {
        let store = try await pqStore([(["__name__": "x"], (0..<10).map { (Int64($0) * 10_000, 1) })])
        // rate(x[10m]) over a 90 s query reads the 10 samples once.
        let exact = PromQLEngine(store: store, maxSamples: 10)
        _ = try await exact.rangeQuery("rate(x[10m])", start: 0, end: 90_000, step: 10_000)
        let tight = PromQLEngine(store: store, maxSamples: 9)
        await #expect(throws: PromQLError.tooManySamples(limit: 9)) {
            try await tight.rangeQuery("rate(x[10m])", start: 0, end: 90_000, step: 10_000)
        }
        await #expect(throws: PromQLError.tooManySamples(limit: 9)) {
            try await tight.instantQuery("sum_over_time(x[10m])", at: 90_000)
        }
    }

    @Test func colonNamesOfZWatchMetrics() async throws {
        let name = ZWatchName.seriesName(namespace: "ZStack/VM", metricName: "CPUUsedUtilization")
        let store = try await pqStore([([Labels.nameKey: name, "VMUuid": "v1"], [(1_000, 42)])])
        let r = try await PromQLEngine(store: store).instantQuery("ZStack:VM::CPUUsedUtilization{VMUuid=\"v1\"}", at: 1_000)
        pqExpect(r, [("{VMUuid=\"v1\",__name__=\"ZStack:VM::CPUUsedUtilization\"}", 42)])
    }
}

// MARK: The AggregatingStore fast path

/// A memory store that answers window aggregates itself (from the reference) and records the
/// windows asked for, to see that `*_over_time` goes through `aggregateWindows`.
final class PromQLRecordingAggregatingStore: AggregatingStore {
    let base: MemoryMetricStore
    let calls = Mutex<[(start: Int64, end: Int64, window: Int64)]>([])

    init(_ base: MemoryMetricStore) { self.base = base }

    func write(_ samples: [Sample]) async throws -> WriteReport { try await base.write(samples) }
    func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) async throws -> [SeriesPoints] {
        try await base.select(matchers, from: from, to: to)
    }
    func labelValues(_ name: String, matchers: [LabelMatcher]) async throws -> [String] {
        try await base.labelValues(name, matchers: matchers)
    }
    func stats() async throws -> TSDBStats { try await base.stats() }
    func aggregateWindows(
        _ matchers: [LabelMatcher], start: Int64, end: Int64, step: Int64, window: Int64
    ) async throws -> [SeriesWindows] {
        calls.withLock { $0.append((start, end, window)) }
        let raw = try await base.select(matchers, from: start - window + 1, to: end)
        return StratusMetrics.aggregateWindows(raw, start: start, end: end, step: step, window: window)
    }
}

@Suite struct PromQLFastPathTests {
    @Test func overTimeFunctionsAskTheAggregatingStore() async throws {
        let store = PromQLRecordingAggregatingStore(
            try await pqStore([(["__name__": "x"], [(10_000, 1), (20_000, 3), (30_000, 5)])]))
        let engine = PromQLEngine(store: store)
        // Windows (0, 20 s] = 1, 3 and (10 s, 30 s] = 3, 5, shifted by offset 10 s from 30 s / 40 s.
        let r = try await engine.rangeQuery("avg_over_time(x[20s] offset 10s)", start: 30_000, end: 40_000, step: 10_000)
        #expect(r == .matrix([SeriesPoints(labels: Labels([:]), points: [
            Point(timestamp: 30_000, value: 2), Point(timestamp: 40_000, value: 4),
        ])]))
        let calls = store.calls.withLock { $0 }
        #expect(calls.count == 1)
        #expect(calls.first.map { [$0.start, $0.end, $0.window] } == [20_000, 30_000, 20_000])
        // rate reads raw points, not aggregates.
        _ = try await engine.instantQuery("rate(x[1m])", at: 30_000)
        #expect(store.calls.withLock { $0.count } == 1)
    }
}
