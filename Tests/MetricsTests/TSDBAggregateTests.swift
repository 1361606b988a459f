import Foundation
import Testing
@testable import StratusMetrics

/// `aggregateWindows` from chunk headers, heads and rollups equals the reference computed from
/// `select` on the same data.
@Suite struct TSDBAggregateTests {
    static let hour: Int64 = 3_600_000

    /// 12 series over 5 h: irregular timestamps, two-decimal values, chunks of at most 100 samples
    /// (so several chunks per hour and windows straddling chunk edges), an out-of-order rewrite.
    func fill(_ store: RocksMetricStore, seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)  // seeded, so failures reproduce
        var samples: [Sample] = []
        for s in 0..<12 {
            let l = testLabels("agg", ["s": String(s), "g": String(s % 3)])
            var t: Int64 = Int64(rng.int(20_000))
            while t < 5 * Self.hour {
                samples.append(Sample(labels: l, timestamp: t, value: Double(rng.int(20_000) - 5_000) / 100))
                t += 5_000 + Int64(rng.int(25_000))
            }
        }
        try await store.write(samples)
        // Rewrite a few old samples (merges into stored chunks).
        try await store.write((0..<5).map { i in
            Sample(labels: testLabels("agg", ["s": String(i), "g": String(i % 3)]), timestamp: Int64(i) * 600_000 + 1_234, value: 7.77)
        })
    }

    func expectMatchesReference(_ store: RocksMetricStore, start: Int64, end: Int64, step: Int64, window: Int64) async throws {
        let matchers = [LabelMatcher.equal(Labels.nameKey, "test::agg")]
        let got = try await store.aggregateWindows(matchers, start: start, end: end, step: step, window: window)
        let raw = try await store.select(matchers, from: start - window + 1, to: end)
        let want = aggregateWindows(raw, start: start, end: end, step: step, window: window)
        #expect(got.map(\.labels) == want.map(\.labels), "start \(start) step \(step) window \(window)")
        for (g, w) in zip(got, want) {
            #expect(g.windows.count == w.windows.count)
            for (a, b) in zip(g.windows, w.windows) {
                guard let a, let b else { #expect(a == nil && b == nil, "\(g.labels) start \(start) step \(step) window \(window)"); continue }
                #expect(a.count == b.count && a.min == b.min && a.max == b.max && a.last == b.last)
                #expect(abs(a.sum - b.sum) <= 1e-9 * max(1, abs(b.sum)), "sum \(a.sum) vs \(b.sum)")
            }
        }
    }

    /// Query shapes: aligned to every rollup resolution, unaligned, overlapping windows, a range past the data.
    let shapes: [(start: Int64, end: Int64, step: Int64, window: Int64)] = [
        (3_600_000, 5 * 3_600_000, 3_600_000, 3_600_000),
        (300_000, 5 * 3_600_000, 300_000, 300_000),
        (60_000, 3 * 3_600_000, 60_000, 300_000),
        (1_800_000, 6 * 3_600_000, 900_000, 3_600_000),
        (12_345, 5 * 3_600_000, 77_777, 123_456),
        (7_200_000, 7_200_000, 1, 7_200_000),
        (0, 5 * 3_600_000, 3_600_000, 10 * 3_600_000),
    ]

    @Test(arguments: [UInt64(1), 2, 3])
    func windowsEqualTheReferenceWithAndWithoutRollups(seed: UInt64) async throws {
        try await withTSDBTempDirectory { dir in
            var o = TSDBOptions.keepForever
            o.maxChunkSamples = 100
            o.outOfOrderWindow = 10 * Self.hour
            let store = try RocksMetricStore(path: dir, options: o)
            defer { store.close() }
            try await fill(store, seed: seed)
            for q in shapes { try await expectMatchesReference(store, start: q.start, end: q.end, step: q.step, window: q.window) }
            // Close every head and build the rollups: now whole hours come from R buckets.
            let report = try store.maintain(now: 10 * Self.hour)
            #expect(report.rollupsBuilt > 0)
            #expect(try store.rollups.rolledUpThrough(openFrom: 10 * Self.hour).map { $0 >= 5 * Self.hour } == true)
            for q in shapes { try await expectMatchesReference(store, start: q.start, end: q.end, step: q.step, window: q.window) }
            // Newer raw data after the rolled-up range, and an out-of-order rewrite re-queued but not yet rebuilt.
            try await store.write([Sample(labels: testLabels("agg", ["s": "1", "g": "1"]), timestamp: 5 * Self.hour + 10, value: 1),
                                   Sample(labels: testLabels("agg", ["s": "2", "g": "2"]), timestamp: 2 * Self.hour + 5, value: -3.25)])
            for q in shapes { try await expectMatchesReference(store, start: q.start, end: q.end, step: q.step, window: q.window) }
        }
    }
}
