import Foundation
import Testing
@testable import StratusMetrics

/// Heads cut inside their hour at a per-series time (`TSDBOptions.headCutInterval`) on a real
/// RocksDB store: the cuts of a fleet spread over the rounds, a series sampled every minute keeps
/// hour chunks, reads agree throughout, the hour's rollups are built although an interval cut
/// queues none, and a reopened store has every sample.
@Suite struct TSDBIntervalCutTests {
    static let hour: Int64 = 3_600_000
    static let start = 10 * hour
    static let interval: Int64 = 1_200_000

    static var options: TSDBOptions {
        var o = TSDBOptions.keepForever
        o.headCutInterval = interval
        return o
    }

    static func labels(_ i: Int) -> Labels { testLabels("cut", ["s": "\(i)"]) }

    static func value(_ i: Int, _ t: Int64) -> Double { Double((i * 7_919 + Int(t / 10_000) * 104_729) % 10_000) / 100 }

    /// Every chunk of series `i` in RocksDB: (minT, maxT, count).
    static func chunks(_ store: RocksMetricStore, _ i: Int) throws -> [(minT: Int64, maxT: Int64, count: Int)] {
        let id = try store.seriesRef(for: labels(i)).id
        var out: [(Int64, Int64, Int)] = []
        try store.forEachChunk(id, from: 0, to: .max) { out.append(($0.header.minT, $0.header.maxT, $0.header.count)) }
        return out
    }

    /// What the sealing thread does after a round: write what is due, release what is past.
    static func drainDue(_ store: RocksMetricStore) throws {
        try store.maintenanceLock.withLock { _ in
            while try store.writeSealedSlice(limit: 16, dueOnly: true) > 0 {}
            _ = store.releaseSealedSlice(limit: 1_000)
        }
    }

    /// Pending sealed heads whose hold has passed (the writer should have written them).
    static func overdue(_ store: RocksMetricStore) -> Int {
        store.state.withLock { s in
            s.heads.filter { h in
                guard case .pending(let p) = h.sealed else { return false }
                return store.writeDue(p) <= s.dataClock
            }.count
        }
    }

    /// A series cut again while an older entry of it waits in the seal queue (the boundary's
    /// heads are written for minutes after their hold, and the cuts of the new hour begin
    /// meanwhile) must not stop the writer at that entry: everything due is written each round.
    @Test func theWriterKeepsUpWhenSeriesAreCutAgainWhileTheQueueDrains() async throws {
        try await withTSDBTempDirectory { dir in
            let n = 240
            let store = try RocksMetricStore(path: dir, options: Self.options)
            defer { store.close() }
            var t = Self.start + 10_000
            var worst = 0
            while t <= Self.start + Self.hour + 2_400_000 {
                let batch = (0..<n).map { Sample(labels: Self.labels($0), timestamp: t, value: Self.value($0, t)) }
                #expect(try store.writeBlocking(batch).accepted == n)
                // The writer lags after the boundary (paced, between bursts): it writes only a
                // few heads a round for the first 18 minutes of the new hour.
                if t > Self.start + Self.hour && t < Self.start + Self.hour + 1_080_000 {
                    try store.maintenanceLock.withLock { _ in _ = try store.writeSealedSlice(limit: 4, dueOnly: true) }
                } else {
                    let due = Self.overdue(store)
                    #expect(due == 0 || store.state.withLock { $0.seals.hasWork(clock: $0.dataClock) }, "\(due) overdue but no work seen at \(t)")
                    try Self.drainDue(store)
                    worst = max(worst, Self.overdue(store))
                }
                t += 10_000
            }
            #expect(worst == 0, "sealed heads left pending past their hold: \(worst)")
        }
    }

    /// An interval cut goes to RocksDB with the batch that cuts it and stays in memory for the
    /// hold; while the series' previous hour's sealed head is still unwritten the cut waits, and
    /// the first sample after the sealing thread wrote it cuts.
    @Test func aCutIsWrittenWithItsBatchAndWaitsForThePreviousHoursSealedHead() async throws {
        try await withTSDBTempDirectory { dir in
            let store = try RocksMetricStore(path: dir, options: Self.options)
            defer { store.close() }
            // No sealing thread starts: this test writes in its place, when it chooses.
            store.sealingPending.store(true, ordering: .sequentiallyConsistent)
            let labels = Self.labels(0)
            let id = try store.seriesRef(for: labels).id
            func write(_ t: Int64) throws {
                #expect(try store.writeBlocking([Sample(labels: labels, timestamp: t, value: Self.value(0, t))]).accepted == 1)
            }
            let hourTwo = Self.start + Self.hour
            func hourTwoChunks() throws -> [(minT: Int64, maxT: Int64, count: Int)] { try Self.chunks(store, 0).filter { $0.minT > hourTwo } }
            var t = Self.start + 10_000
            while t <= hourTwo { try write(t); t += 10_000 }
            let cutTime = store.intervalCutTime(id, minT: hourTwo + 10_000)
            #expect(cutTime > hourTwo && cutTime < hourTwo + Self.hour)
            // Past the cut time, the previous hour's head still unwritten: no cut.
            while t <= cutTime + 60_000 { try write(t); t += 10_000 }
            store.state.withLock { s in
                #expect(s.heads[Int(id) - 1].sealedUnwritten, "the hour's sealed head waits for the writer")
                #expect(s.heads[Int(id) - 1].builder?.minT == hourTwo + 10_000, "the head is not cut")
            }
            #expect(try hourTwoChunks().isEmpty)

            // The writer writes it; the next sample cuts, and the cut is in RocksDB when the write returns.
            try Self.drainDue(store)
            #expect(try Self.chunks(store, 0).last?.maxT == hourTwo, "the hour's sealed head is written")
            try write(t)
            let cut = try hourTwoChunks()
            #expect(cut.count == 1 && cut.first?.minT == hourTwo + 10_000 && cut.first?.maxT == t - 10_000, "\(cut)")
            store.state.withLock { s in
                guard case .stored(let kept) = s.heads[Int(id) - 1].sealed else {
                    Issue.record("the cut is not kept in memory: \(String(describing: s.heads[Int(id) - 1].sealed))")
                    return
                }
                #expect(kept.chunk.header.maxT == t - 10_000 && kept.chunk.header.count == cut.first?.count)
                #expect(s.heads[Int(id) - 1].builder?.minT == t, "the new head starts at the sample that cut")
            }
            // Its hold passes: released from memory; reads still have every sample.
            t += 10_000
            while t <= cutTime + 60_000 + store.options.sealedHold + 20_000 { try write(t); t += 10_000 }
            try Self.drainDue(store)
            store.state.withLock { s in #expect(s.heads[Int(id) - 1].sealed == nil, "released after the hold") }
            let got = try store.selectBlocking([.equal(Labels.nameKey, "test::cut")], from: 0, to: .max)
            #expect(got.first?.points.count == Int((t - 10_000 - Self.start) / 10_000))
        }
    }

    @Test func aFleetsCutsSpreadOverTheRoundsAndReadsAgree() async throws {
        try await withTSDBTempDirectory { dir in
            let n = 240
            let end = Self.start + 2 * Self.hour + 900_000
            var want: [Int: [Point]] = [:]
            var store = try RocksMetricStore(path: dir, options: Self.options)
            // The first hour one round at a time (each push one sample per series, as agents send);
            // the rest in series-major batches of 30 samples (the append fast path's loop).
            var t = Self.start + 10_000
            while t <= Self.start + Self.hour {
                let batch = (0..<n).map { Sample(labels: Self.labels($0), timestamp: t, value: Self.value($0, t)) }
                for s in batch { want[Int(s.labels["s"]!)!, default: []].append(Point(timestamp: s.timestamp, value: s.value)) }
                #expect(try store.writeBlocking(batch).accepted == n)
                // What the sealing thread does between rounds: write the sealed heads whose hold passed.
                try Self.drainDue(store)
                t += 10_000
            }
            while t <= end {
                let times = stride(from: t, through: min(end, t + 290_000), by: 10_000).map { $0 }
                var batch: [Sample] = []
                for i in 0..<n {
                    for u in times {
                        batch.append(Sample(labels: Self.labels(i), timestamp: u, value: Self.value(i, u)))
                        want[i, default: []].append(Point(timestamp: u, value: Self.value(i, u)))
                    }
                }
                #expect(try store.writeBlocking(batch).accepted == batch.count)
                try Self.drainDue(store)
                t = times.last! + 10_000
            }

            func expectReads(_ store: RocksMetricStore, _ comment: String) throws {
                let windows: [(Int64, Int64)] = [(0, .max), (end - 300_000, end), (Self.start + Self.hour - 300_000, Self.start + Self.hour + 300_000),
                                                 (Self.start + 1_500_000, Self.start + 2_700_000)]
                for (from, to) in windows {
                    let got = try store.selectBlocking([.equal(Labels.nameKey, "test::cut")], from: from, to: to)
                    #expect(got.count == n, "\(comment): series in [\(from), \(to)]")
                    for s in got {
                        let i = Int(s.labels["s"]!)!
                        #expect(s.points == want[i]!.filter { $0.timestamp >= from && $0.timestamp <= to }, "\(comment): series \(i) in [\(from), \(to)]")
                    }
                    let aggregates = try store.aggregateSeriesBlocking([.equal(Labels.nameKey, "test::cut")], from: from, to: to)
                    var expected = 0
                    for points in want.values { expected += points.filter { $0.timestamp >= from && $0.timestamp <= to }.count }
                    let counted: Int = aggregates.aggregates.map(\.count).reduce(0, +)
                    #expect(counted == expected, "\(comment): aggregated samples in [\(from), \(to)]")
                }
            }
            // A cut head is written at once (without a `Q` entry) and kept: windows reaching back
            // over the cut read it from memory until `sealedHold` past its last sample.
            let held = store.state.withLock { s in
                s.heads.filter { if case .stored(let c) = $0.sealed { return c.chunk.header.maxT % Self.hour != 0 } else { return false } }.count
            }
            #expect(held > 0 && held < n, "some series hold an interval cut in memory: \(held)")
            try expectReads(store, "live, cuts held")
            try store.maintenanceLock.withLock { _ in try store.writeAllSealed(paced: false) }
            var openHourQueued = 0
            try store.db.scan(prefix: [MetricKey.queuePrefix]) { k, _ in
                if RollupKeys.int64(k, at: 1) == Self.start + 3 * Self.hour { openHourQueued += 1 }
                return true
            }
            #expect(openHourQueued == 0, "no rollup entry for the hour still open")

            // Where the heads were cut: no round takes more than a few of the fleet's cuts, and every
            // chunk that ends inside its hour (an interval cut) holds 60 to 180 samples.
            var cutsPerRound: [Int64: Int] = [:]
            for i in 0..<n {
                for c in try Self.chunks(store, i) where c.maxT % Self.hour != 0 {
                    cutsPerRound[c.maxT, default: 0] += 1
                    #expect(c.count >= RocksMetricStore.minIntervalCutSamples && c.count <= 180, "series \(i): a cut chunk of \(c.count) samples")
                    #expect(c.maxT - c.minT <= 3 * Self.interval / 2, "series \(i): a chunk spans \(c.maxT - c.minT) ms")
                }
            }
            let cuts = cutsPerRound.values.reduce(0, +)
            #expect(cuts >= 4 * n, "each series cut at least twice an hour in the two full hours: \(cuts)")
            #expect(cutsPerRound.values.max() ?? 0 <= n / 12, "at most a twelfth of the fleet cut in one round: \(cutsPerRound.values.max() ?? 0)")
            #expect(cutsPerRound.count >= 60, "the cuts land in many rounds: \(cutsPerRound.count)")

            try expectReads(store, "written")

            // The two whole hours' rollups, although interval cuts queued none: the hour's sealed head queued it.
            _ = try store.maintain(now: end)
            for i in stride(from: 0, to: n, by: 37) {
                let id = try store.seriesRef(for: Self.labels(i)).id
                let hours = try store.rollups.buckets(seriesID: id, resolution: .hour, from: Self.start, to: Self.start + 2 * Self.hour)
                #expect(hours.map(\.aggregate.count) == [360, 360], "series \(i): hour rollups")
                let firstHourSum: Double = want[i]!.filter { $0.timestamp <= Self.start + Self.hour }.map(\.value).reduce(0, +)
                #expect(abs((hours.first?.aggregate.sum ?? 0) - firstHourSum) < 1e-6, "series \(i): the first hour's sum")
            }

            store.close()
            store = try RocksMetricStore(path: dir, options: Self.options)
            defer { store.close() }
            try expectReads(store, "reopened")
        }
    }

    @Test func aSeriesSampledEveryMinuteKeepsHourChunks() async throws {
        try await withTSDBTempDirectory { dir in
            let store = try RocksMetricStore(path: dir, options: Self.options)
            defer { store.close() }
            for minute in 1...150 {
                let t = Self.start + Int64(minute) * 60_000
                #expect(try store.writeBlocking([Sample(labels: Self.labels(0), timestamp: t, value: Double(minute))]).accepted == 1)
            }
            try store.maintenanceLock.withLock { _ in try store.writeAllSealed(paced: false) }
            let chunks = try Self.chunks(store, 0)
            #expect(chunks.map(\.count) == [60, 60], "one chunk per ended hour: \(chunks)")
        }
    }

    @Test func cutTimesFollowTheSeriesPhase() throws {
        try withTemporaryStore(Self.options) { store in
            for id: UInt64 in [1, 2, 3, 99, 1 << 40] {
                let a = store.intervalCutTime(id, minT: Self.start + 10_000)
                #expect(a >= Self.start + 10_000 + Self.interval / 2 && a < Self.start + 10_000 + 3 * Self.interval / 2)
                // Same phase for every head of the series; a later head's cut is a whole number of intervals later.
                let b = store.intervalCutTime(id, minT: a + 10_000)
                #expect((b - a) % Self.interval == 0 && b > a)
            }
            #expect(Set([1, 2, 3, 4, 5, 6, 7, 8].map { store.intervalCutTime(UInt64($0), minT: Self.start + 10_000) }).count > 4, "phases differ by series")
            // No cut in the last `sealedHold` of the hour: the head runs to its end.
            #expect(store.intervalCutTime(1, minT: Self.start + Self.hour - 900_000) == .max)
        }
        var off = TSDBOptions.keepForever
        off.headCutInterval = 0
        try withTemporaryStore(off) { #expect($0.intervalCutTime(1, minT: Self.start) == .max) }
    }

    /// With interval cuts the seal queue never empties; released entries are dropped from its front.
    @Test func theSealQueueDropsReleasedEntriesOnceTheyAreMost() {
        var q = SealQueue(ids: (0..<100_000).map(UInt32.init), seqs: (0..<100_000).map(UInt32.init), written: 90_000, released: 70_000, pending: 10_000)
        q.dropReleasedPrefix()
        #expect(q.ids.count == 30_000 && q.ids.first == 70_000 && q.seqs.count == 30_000 && q.seqs.first == 70_000 && q.written == 20_000 && q.released == 0)
        q.released = 10_000
        q.dropReleasedPrefix()
        #expect(q.ids.count == 30_000 && q.released == 10_000, "a few released entries stay until they are many")
    }

    /// Opens a store in a fresh temporary directory for `body`.
    func withTemporaryStore(_ options: TSDBOptions, _ body: (RocksMetricStore) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-cut-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try RocksMetricStore(path: dir, options: options)
        defer { store.close() }
        try body(store)
    }
}
