import Foundation
import Testing
@testable import StratusMetrics

/// `aggregateSeries` (one aggregate per series by ref, from closed chunks and heads) equals the
/// aggregate of what `select` returns on the same real RocksDB store, and `seriesLabels` names
/// the refs.
@Suite struct TSDBSeriesAggregateTests {
    static let hour: Int64 = 3_600_000

    /// Series with points only in closed chunks, only in the head, and in both (several chunks of
    /// at most 10 samples, so ranges clip chunks in the middle), decimal and float values, an
    /// out-of-order rewrite into a closed chunk, and a series of another metric.
    func fill(_ store: RocksMetricStore) async throws {
        var rng = SplitMix64(seed: 42)
        func series(_ name: String, from: Int64, to: Int64, float: Bool = false) -> [Sample] {
            var out: [Sample] = []
            var t = from
            while t < to {
                let v = float ? Double(rng.int(1_000_000)) / 7 : Double(rng.int(20_000) - 5_000) / 100
                out.append(Sample(labels: testLabels("sa", ["s": name]), timestamp: t, value: v))
                t += 30_000 + Int64(rng.int(60_000))
            }
            return out
        }
        // Hour 0: "closed" and "both" (closed later by maintain), "float" in float mode.
        try await store.write(series("closed", from: 1_000, to: Self.hour) + series("both", from: 5_000, to: Self.hour)
                              + series("float", from: 2_000, to: Self.hour, float: true))
        try await store.write([Sample(labels: testLabels("other"), timestamp: 10_000, value: 1)])
        let report = try store.maintain(now: 3 * Self.hour)  // closes every head of hour 0
        _ = report
        // Hour 2: "both" continues in a head; "head" only has a head (fewer than 10 samples).
        try await store.write(series("both", from: 2 * Self.hour + 1, to: 2 * Self.hour + 200_000)
                              + series("head", from: 2 * Self.hour + 7, to: 2 * Self.hour + 300_000))
        // Rewrite an old sample of "closed" (merges into its stored chunk).
        try await store.write([Sample(labels: testLabels("sa", ["s": "closed"]), timestamp: 600_001, value: 123.25)])
    }

    func expectEqualsSelect(_ store: RocksMetricStore, _ matchers: [LabelMatcher], from: Int64, to: Int64) async throws {
        let got = try await store.aggregateSeries(matchers, from: from, to: to)
        let raw = try await store.select(matchers, from: from, to: to)
        #expect(got.refs == got.refs.sorted(), "refs ascend")
        let labels = try await store.seriesLabels(got.refs)
        var want: [Labels: WindowAggregate] = [:]
        for s in raw { want[s.labels] = WindowAggregate.of(s.points) }
        #expect(Set(labels.compactMap { $0 }) == Set(want.keys), "series of [\(from), \(to)]")
        for (ref, (l, a)) in zip(got.refs, zip(labels, got.aggregates)) {
            guard let l, let w = want[l] else { Issue.record("ref \(ref.id) labels \(String(describing: l)) not in select"); continue }
            #expect(try store.seriesRef(for: l) == ref)
            #expect(a.count == w.count && a.min == w.min && a.max == w.max && a.last == w.last, "\(l) [\(from), \(to)]: \(a) vs \(w)")
            #expect(abs(a.sum - w.sum) <= 1e-9 * max(1, abs(w.sum)), "\(l) sum \(a.sum) vs \(w.sum)")
        }
    }

    @Test func aggregatesEqualSelectOverChunksHeadsAndBoth() async throws {
        try await withTSDBTempDirectory { dir in
            var o = TSDBOptions.keepForever
            o.maxChunkSamples = 10
            o.outOfOrderWindow = 10 * Self.hour
            let store = try RocksMetricStore(path: dir, options: o)
            defer { store.close() }
            try await fill(store)
            let all = [LabelMatcher.equal(Labels.nameKey, "test::sa")]
            let ranges: [(Int64, Int64)] = [
                (0, 10 * Self.hour),                          // everything
                (1, 300_000),                                 // the first chunks, clipped
                (450_000, 1_900_000),                         // clips chunks at both ends, whole ones between
                (600_001, 600_001),                           // one rewritten sample
                (Self.hour - 600_000, 2 * Self.hour + 100_000),  // tail of the chunks + part of the heads
                (2 * Self.hour + 50_000, 2 * Self.hour + 120_000),  // heads only, clipped
                (2 * Self.hour, 3 * Self.hour),               // heads whole
                (Self.hour, 2 * Self.hour),                   // nothing
                (20 * Self.hour, 30 * Self.hour),             // past the data
            ]
            let notBoth = try LabelMatcher("s", .notEqual, "both")
            for (from, to) in ranges {
                try await expectEqualsSelect(store, all, from: from, to: to)
                try await expectEqualsSelect(store, all + [notBoth], from: from, to: to)
            }
            // The series the fill promised: points only in chunks, only in the head, in both.
            let everything = try await store.aggregateSeries(all, from: 0, to: 10 * Self.hour)
            #expect(everything.count == 4)
            func where_(_ name: String) throws -> (chunks: Int, head: Int) {
                let id = try store.seriesRef(for: testLabels("sa", ["s": name])).id
                var chunks = 0
                try store.forEachChunk(id, from: 0, to: .max) { _ in chunks += 1 }
                return (chunks, store.state.withLock { $0.heads[Int(id) - 1].builder?.count ?? 0 })
            }
            let closed = try where_("closed"), head = try where_("head"), both = try where_("both")
            #expect(closed.chunks > 2 && closed.head == 0, "closed: \(closed)")
            #expect(head.chunks == 0 && head.head > 0, "head: \(head)")
            #expect(both.chunks > 2 && both.head > 0, "both: \(both)")
            // After restart (heads recovered from the checkpoint) the answers and refs hold.
            let before = everything
            store.close()
            let reopened = try RocksMetricStore(path: dir, options: o)
            defer { reopened.close() }
            #expect(try await reopened.aggregateSeries(all, from: 0, to: 10 * Self.hour).refs == before.refs)
            for (from, to) in ranges { try await expectEqualsSelect(reopened, all, from: from, to: to) }
        }
    }

    /// A series never stored before starts a clean head (window reads skip the RocksDB seek), and
    /// every way a stored chunk can appear in the head's hour (an older sample merged in, a split
    /// at `maxChunkSamples`) makes it unclean again, with the aggregate still equal to `select`.
    @Test func aNewSeriesHeadIsCleanUntilAChunkLandsInItsHour() async throws {
        try await withTSDBTempDirectory { dir in
            var o = TSDBOptions.keepForever
            o.maxChunkSamples = 5
            o.outOfOrderWindow = Self.hour
            let store = try RocksMetricStore(path: dir, options: o)
            defer { store.close() }
            let base = 5 * Self.hour
            func sample(_ s: String, _ t: Int64, _ v: Double) -> Sample { Sample(labels: testLabels("sa", ["s": s]), timestamp: t, value: v) }
            func clean(_ s: String) throws -> Bool {
                let id = try store.seriesRef(for: testLabels("sa", ["s": s])).id
                return store.state.withLock { $0.heads[Int(id) - 1].partitionClean }
            }
            let m = [LabelMatcher.equal(Labels.nameKey, "test::sa")]
            try await store.write([sample("new", base + 60_000, 1), sample("new", base + 70_000, 2),
                                   sample("late", base + 60_000, 1)])
            #expect(try clean("new"), "a brand-new series has no stored chunk")
            #expect(try clean("late"))
            try await expectEqualsSelect(store, m, from: base + 1, to: base + 100_000)

            // An older sample than the head's first goes into a stored chunk of the same hour.
            try await store.write([sample("late", base + 30_000, 7)])
            #expect(try !clean("late"), "a chunk now lies in the head's hour")
            let late = try await store.aggregateSeries([.equal("s", "late")], from: base + 1, to: base + 100_000)
            #expect(late.aggregates.first?.count == 2 && late.aggregates.first?.max == 7)
            try await expectEqualsSelect(store, m, from: base + 1, to: base + 100_000)

            // A head split at maxChunkSamples leaves a chunk in the same hour.
            try await store.write((3...6).map { sample("new", base + 70_000 + Int64($0) * 10_000, Double($0)) })
            #expect(try !clean("new"))
            let new = try await store.aggregateSeries([.equal("s", "new")], from: base + 1, to: base + 200_000)
            #expect(new.aggregates.first?.count == 6)
            try await expectEqualsSelect(store, m, from: base + 1, to: base + 200_000)
        }
    }

    @Test func emptyRangesAndUnknownRefs() async throws {
        try await withTSDBTempDirectory { dir in
            let store = try RocksMetricStore(path: dir, options: .keepForever)
            defer { store.close() }
            try await store.write([Sample(labels: testLabels("sa", ["s": "x"]), timestamp: 5_000, value: 2)])
            let m = [LabelMatcher.equal(Labels.nameKey, "test::sa")]
            #expect(try await store.aggregateSeries(m, from: 6_000, to: 5_000).isEmpty)
            #expect(try await store.aggregateSeries(m, from: 5_001, to: 9_000).isEmpty)
            let one = try await store.aggregateSeries(m, from: 5_000, to: 5_000)
            #expect(one.aggregates == [WindowAggregate(2)])
            let labels = try await store.seriesLabels([one.refs[0], SeriesRef(id: 999)])
            #expect(labels == [testLabels("sa", ["s": "x"]), nil])
        }
    }
}
