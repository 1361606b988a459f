import Foundation
import Testing
@testable import StratusMetrics

/// Retention through `RocksMetricStore.maintain`: the `M oldest_sample` skip, backfills and stopping.
@Suite struct RetentionStoreTests {
    static let hour: Int64 = 3_600_000
    static let retention: Int64 = 100 * hour
    /// Two days before now (appends check the retention against the wall clock), hour-aligned.
    static let base: Int64 = (RocksMetricStore.wallClock() / hour) * hour - 48 * hour

    static var options: TSDBOptions {
        var o = TSDBOptions()
        o.retention = retention
        return o
    }

    /// `count` series with a sample every 10 min in (base, base + 4 h].
    static func fill(_ store: RocksMetricStore, series count: Int, prefix: String = "s") throws -> [SeriesRef] {
        let refs = try store.seriesRefs(for: (0..<count).map { testLabels("ret", ["s": "\(prefix)\($0)"]) }).map { try $0.get() }
        var batch = SampleBatch()
        for ref in refs {
            for k in 1...24 { batch.append(ref, base + Int64(k) * 600_000, Double(k)) }
        }
        let r = try store.append(batch)
        #expect(r.accepted == batch.count)
        return refs
    }

    static func timestamps(_ store: RocksMetricStore) async throws -> [Int64] {
        try await store.select([], from: 0, to: .max).flatMap { $0.points.map(\.timestamp) }.sorted()
    }

    @Test func aPassWithNothingOldVisitsNoSeries() async throws {
        try await withTSDBTempDirectory { dir in
            let store = try RocksMetricStore(path: dir, options: Self.options)
            defer { store.close() }
            // Empty store: nothing to do.
            let empty = try store.maintain(now: Self.base - Self.hour + Self.retention)
            #expect(empty.retentionSkipped && empty.retention == nil)
            _ = try Self.fill(store, series: 20)
            // Cutoff base + 1 ms: the oldest sample is base + 10 min.
            let report = try store.maintain(now: Self.base + Self.retention)
            #expect(report.retentionSkipped && report.retention == nil)
            #expect(try await Self.timestamps(store).count == 20 * 24)
        }
    }

    @Test func removesExactlyWhatIsPastTheCutoffThenSkipsUntilABackfill() async throws {
        try await withTSDBTempDirectory { dir in
            var all: [Int64] = []
            let cutoff = Self.base + 2 * Self.hour + 1
            let now = Self.base + 2 * Self.hour + Self.retention + 60_000
            do {
                let store = try RocksMetricStore(path: dir, options: Self.options)
                defer { store.close() }
                _ = try Self.fill(store, series: 5)
                all = try await Self.timestamps(store)
                let report = try store.maintain(now: now)
                let r = try #require(report.retention)
                #expect(!report.retentionSkipped && !r.interrupted && r.seriesScanned == 5)
                #expect(r.chunksDeleted > 0 && r.chunksRewritten == 0)
                #expect(try await Self.timestamps(store) == all.filter { $0 >= cutoff })
                // Same hour: not due.
                #expect(try store.maintain(now: now + 60_000).retention == nil)
            }
            do {
                // Reopened (the mark is persisted): the same cutoff is due again but skipped.
                let store = try RocksMetricStore(path: dir, options: Self.options)
                defer { store.close() }
                let again = try store.maintain(now: now)
                #expect(again.retentionSkipped && again.retention == nil)
                // A backfilled sample older than the cutoff (new series: no out-of-order limit).
                let old = try store.seriesRef(for: testLabels("ret", ["s": "backfill"]))
                var batch = SampleBatch()
                batch.append(old, Self.base + 30 * 60_000, 7)
                batch.append(old, Self.base + 3 * Self.hour, 8)
                #expect(try store.append(batch).accepted == 2)
                // The next pass (same cutoff) runs and removes it, and only it.
                let report = try store.maintain(now: now)
                let r = try #require(report.retention)
                #expect(!report.retentionSkipped && r.seriesScanned == 6 && r.chunksRewritten + r.chunksDeleted >= 1)
                #expect(try await Self.timestamps(store) == (all.filter { $0 >= cutoff } + [Self.base + 3 * Self.hour]).sorted())
                #expect(try store.maintain(now: now).retention == nil)
            }
        }
    }

    @Test func aStoppedPassKeepsTheStoreConsistentAndARerunFinishesIt() async throws {
        try await withTSDBTempDirectory { dir in
            let store = try RocksMetricStore(path: dir, options: Self.options)
            defer { store.close() }
            let n = Retention.seriesPerStopCheck + 44
            _ = try Self.fill(store, series: n)
            let all = try await Self.timestamps(store)
            let cutoff = Self.base + 2 * Self.hour + 1
            let now = Self.base + 2 * Self.hour + Self.retention
            // Close the heads and build the rollups first (that pass asks `shouldStop` between its
            // slices too; retention is not due at this time), so the calls counted below are retention's.
            let early = try store.maintain(now: Self.base + 10 * Self.hour)
            #expect(early.rollupsBuilt > RocksMetricStore.rollupSlice && early.retention == nil)
            // Stop at the second check: after `seriesPerStopCheck` series.
            var calls = 0
            let first = try store.maintain(now: now, shouldStop: {
                calls += 1
                return calls >= 2
            })
            let r1 = try #require(first.retention)
            #expect(r1.interrupted && r1.seriesScanned == Retention.seriesPerStopCheck)
            let partial = try await Self.timestamps(store)
            #expect(partial.count < all.count && partial.count > all.filter { $0 >= cutoff }.count)
            #expect(Set(partial).isSubset(of: Set(all)))
            // A stop asked before the pass starts visits nothing; the pass stays due.
            let stopped = try store.maintain(now: now, shouldStop: { true })
            #expect(stopped.retention?.interrupted == true && stopped.retention?.seriesScanned == 0)
            // The rerun (same cutoff: an interrupted pass stays due) finishes the work.
            let second = try store.maintain(now: now)
            let r2 = try #require(second.retention)
            #expect(!r2.interrupted && r2.seriesScanned == n)
            #expect(try await Self.timestamps(store) == all.filter { $0 >= cutoff })
            // Complete now: the mark moved to the cutoff, the same cutoff is skipped.
            #expect(try store.maintain(now: now).retention == nil)
        }
    }
}
