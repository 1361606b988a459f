import Foundation
import Testing
@testable import StratusMetrics

/// Heads sealed at an hour boundary (`SealedHead`) on a real RocksDB store: reads answer the
/// same while a sealed head is pending, once the writer stored it, and after its hold released it;
/// a late sample into the sealed hour, a size split and a second boundary write it first; a
/// checkpoint writes what is pending; and a reopened store has every sample.
///
/// The tests that look at the pending state hold `maintenanceLock`, so the sealing thread (which
/// takes it per slice) waits until they let go.
@Suite struct TSDBSealedHeadTests {
    static let hour: Int64 = 3_600_000
    /// The first sample of the hour after `boundary` is sealed by.
    static let boundary = 10 * hour

    /// `n` series with a sample every minute of the hour before `boundary` (values distinct per
    /// series and minute, some with decimals); the expected points by series name.
    static func hourOfSamples(_ n: Int) -> (batch: [Sample], want: [String: [Point]]) {
        var samples: [Sample] = []
        var want: [String: [Point]] = [:]
        for minute in 1...60 {
            let t = boundary - hour + Int64(minute) * 60_000
            for i in 0..<n {
                let v = Double(i * 1_000 + minute) / (i % 3 == 0 ? 100 : 1)
                samples.append(Sample(labels: testLabels("sh", ["s": "\(i)"]), timestamp: t, value: v))
                want["\(i)", default: []].append(Point(timestamp: t, value: v))
            }
        }
        return (samples, want)
    }

    /// One sample per series at `t`, with value `v`; recorded into `want`.
    static func round(_ n: Int, at t: Int64, value v: Double, into want: inout [String: [Point]]) -> [Sample] {
        (0..<n).map { i in
            want["\(i)", default: []].append(Point(timestamp: t, value: v))
            return Sample(labels: testLabels("sh", ["s": "\(i)"]), timestamp: t, value: v)
        }
    }

    static func append(_ store: RocksMetricStore, _ samples: [Sample]) throws {
        let report = try store.writeBlocking(samples)
        #expect(report.accepted == samples.count && report.rejected.isEmpty, "\(report.rejected.first.map { $0.message } ?? "")")
    }

    /// `select` and `aggregateSeries` over `[from, to]` equal what was written (sorted, last write wins).
    static func expectReads(_ store: RocksMetricStore, _ want: [String: [Point]], from: Int64, to: Int64,
                            _ comment: String) throws {
        let m = [LabelMatcher.equal(Labels.nameKey, "test::sh")]
        let got = try store.selectBlocking(m, from: from, to: to)
        var expected: [String: [Point]] = [:]
        for (name, points) in want {
            var byTime: [Int64: Double] = [:]
            for p in points where p.timestamp >= from && p.timestamp <= to { byTime[p.timestamp] = p.value }
            if !byTime.isEmpty { expected[name] = byTime.sorted { $0.key < $1.key }.map { Point(timestamp: $0.key, value: $0.value) } }
        }
        #expect(got.count == expected.count, "\(comment): series in [\(from), \(to)]")
        for s in got {
            #expect(s.points == expected[s.labels["s"] ?? ""], "\(comment): points of \(s.labels) in [\(from), \(to)]")
        }
        let aggregates = try store.aggregateSeriesBlocking(m, from: from, to: to)
        let labels = try store.seriesLabelsBlocking(aggregates.refs)
        #expect(aggregates.refs.count == expected.count, "\(comment): aggregated series in [\(from), \(to)]")
        for (l, a) in zip(labels, aggregates.aggregates) {
            guard let name = l?["s"], let w = expected[name].flatMap(WindowAggregate.of) else {
                Issue.record("\(comment): aggregate for \(String(describing: l)) not expected"); continue
            }
            #expect(a.count == w.count && a.min == w.min && a.max == w.max && a.last == w.last, "\(comment): \(name) \(a) vs \(w)")
            #expect(abs(a.sum - w.sum) <= 1e-9 * max(1, abs(w.sum)), "\(comment): \(name) sum \(a.sum) vs \(w.sum)")
        }
    }

    /// Series `i`'s sealed head, as the store holds it now.
    static func sealedHead(_ store: RocksMetricStore, _ i: Int) throws -> SealedHead? {
        let id = try store.seriesRef(for: testLabels("sh", ["s": "\(i)"])).id
        return store.state.withLock { $0.heads[Int(id) - 1].sealed }
    }

    /// How many series hold a pending / a stored sealed head, and how many `C` keys lie in the
    /// hour ending at `boundary`.
    static func census(_ store: RocksMetricStore, _ n: Int) throws -> (pending: Int, stored: Int, chunks: Int) {
        var pending = 0, stored = 0, chunks = 0
        for i in 0..<n {
            switch try sealedHead(store, i) {
            case .pending: pending += 1
            case .stored: stored += 1
            case nil: break
            }
            let id = try store.seriesRef(for: testLabels("sh", ["s": "\(i)"])).id
            try store.forEachChunk(id, from: boundary - hour + 1, to: boundary) { chunk in
                if chunk.header.maxT <= boundary { chunks += 1 }
            }
        }
        return (pending, stored, chunks)
    }

    @Test func readsAgreeWhilePendingWrittenAndReleased() async throws {
        try await withTSDBTempDirectory { dir in
            let n = 300
            let store = try RocksMetricStore(path: dir, options: .keepForever)
            defer { store.close() }
            var (batch, want) = Self.hourOfSamples(n)
            try Self.append(store, batch)
            let windows: [(Int64, Int64)] = [
                (Self.boundary - 300_000 + 1, Self.boundary + 120_000),  // an alarm window reaching back over the boundary
                (Self.boundary - Self.hour + 1, Self.boundary),  // the sealed hour alone
                (Self.boundary - 1_800_000, Self.boundary - 600_000),  // inside it, up to where a written one's tail begins
                (Self.boundary - 900_000, Self.boundary - 300_000),  // across that point
                (Self.boundary + 1, Self.boundary + 120_000),  // the new head alone
                (0, .max),
            ]
            try store.maintenanceLock.withLock { _ in
                try Self.append(store, Self.round(n, at: Self.boundary + 60_000, value: 7, into: &want))
                let sealed = try Self.census(store, n)
                #expect(sealed.pending == n && sealed.chunks == 0, "sealed at the boundary, nothing written yet: \(sealed)")
                #expect(try store.statsBlocking().sealedHeadsPending == n)
                for (from, to) in windows { try Self.expectReads(store, want, from: from, to: to, "pending") }

                // Part written: reads take each series from wherever it is.
                #expect(try store.writeSealedSlice(limit: 100) == 100)
                let half = try Self.census(store, n)
                #expect(half.pending == n - 100 && half.stored == 100 && half.chunks == 100, "\(half)")
                for (from, to) in windows { try Self.expectReads(store, want, from: from, to: to, "part written") }

                while try store.writeSealedSlice(limit: 64) > 0 {}
                let all = try Self.census(store, n)
                #expect(all.pending == 0 && all.stored == n && all.chunks == n, "\(all)")
                #expect(try store.statsBlocking().sealedHeadsPending == 0)
                for (from, to) in windows { try Self.expectReads(store, want, from: from, to: to, "written, held") }

                // Not released before the hold has passed in sample time.
                #expect(!store.releaseSealedSlice(limit: 1_000))
                #expect(try Self.census(store, n).stored == n)
                try Self.append(store, Self.round(n, at: Self.boundary + TSDBOptions().sealedHold, value: 8, into: &want))
                #expect(store.releaseSealedSlice(limit: 1_000))
                let released = try Self.census(store, n)
                #expect(released.pending == 0 && released.stored == 0 && released.chunks == n, "\(released)")
                #expect(store.state.withLock { $0.seals.ids.isEmpty }, "the queue is emptied once every entry is released")
                for (from, to) in windows { try Self.expectReads(store, want, from: from, to: to, "released") }
            }
        }
    }

    /// A sealed head written before its hold passed (a checkpoint's write) stays as the chunk it
    /// wrote, in an array of its exact size, until the release; the sealing thread's writes wait for
    /// the hold and leave memory at once.
    @Test func aHeadWrittenWithinItsHoldStaysAsItsExactChunkAndOneWrittenAfterLeaves() async throws {
        try await withTSDBTempDirectory { dir in
            let n = 60
            let store = try RocksMetricStore(path: dir, options: .keepForever)
            defer { store.close() }
            var (batch, want) = Self.hourOfSamples(n)
            try Self.append(store, batch)
            let hold = TSDBOptions().sealedHold
            let windows: [(Int64, Int64)] = [(Self.boundary - hold, Self.boundary + 60_000), (Self.boundary - Self.hour + 1, Self.boundary),
                                             (Self.boundary - 2_400_000, Self.boundary - 600_000), (0, Int64.max)]
            try store.maintenanceLock.withLock { _ in
                try Self.append(store, Self.round(n, at: Self.boundary + 60_000, value: 5, into: &want))
                func sealed(_ i: Int) throws -> SealedHead? { try Self.sealedHead(store, i) }
                #expect(try store.writeSealedSlice(limit: 1_000, dueOnly: true) == 0, "not due before the hold has passed")
                #expect(try Self.census(store, n).pending == n)
                // Written early (as a checkpoint does): kept whole.
                #expect(try store.writeSealedSlice(limit: n / 2) == n / 2)
                for i in 0..<(n / 2) {
                    guard case .stored(let c) = try sealed(i) else { Issue.record("series \(i) not kept"); continue }
                    #expect(c.chunk.header.minT == Self.boundary - Self.hour + 60_000 && c.chunk.header.maxT == Self.boundary && c.chunk.header.count == 60,
                            "series \(i): the whole sealed hour is kept")
                    #expect(c.chunk.encoded.capacity - c.chunk.encoded.count < 32, "no spare capacity held: \(c.chunk.encoded.count) bytes in \(c.chunk.encoded.capacity)")
                }
                for (from, to) in windows { try Self.expectReads(store, want, from: from, to: to, "half written early") }
                // The hold passes in sample time: the rest is due, and leaves memory as it is written.
                try Self.append(store, Self.round(n, at: Self.boundary + hold, value: 6, into: &want))
                while try store.writeSealedSlice(limit: 7, dueOnly: true) > 0 {}
                for i in (n / 2)..<n { #expect(try sealed(i) == nil, "series \(i): written after its hold, not kept") }
                let written = try Self.census(store, n)
                #expect(written.pending == 0 && written.stored == n / 2 && written.chunks == n, "\(written)")
                for (from, to) in windows { try Self.expectReads(store, want, from: from, to: to, "all written") }
                #expect(store.releaseSealedSlice(limit: 1_000))
                #expect(try Self.census(store, n).stored == 0, "the early ones released once the hold passed")
                for (from, to) in windows { try Self.expectReads(store, want, from: from, to: to, "released") }
            }
        }
    }

    @Test func theSealingThreadWritesOnceTheHoldHasPassed() async throws {
        try await withTSDBTempDirectory { dir in
            let n = 500
            let store = try RocksMetricStore(path: dir, options: .keepForever)
            defer { store.close() }
            var (batch, want) = Self.hourOfSamples(n)
            try Self.append(store, batch)
            try Self.append(store, Self.round(n, at: Self.boundary + 60_000, value: 1, into: &want))
            #expect(!store.state.withLock { $0.seals.hasWork(clock: $0.dataClock) }, "nothing due before the hold has passed")
            #expect(store.state.withLock { $0.seals.pending } == n)
            try Self.expectReads(store, want, from: Self.boundary - 300_000, to: Self.boundary + 60_000, "pending")
            // The hold passes in sample time: that append starts the thread, which writes and drops them.
            try Self.append(store, Self.round(n, at: Self.boundary + TSDBOptions().sealedHold, value: 2, into: &want))
            let deadline = Date().addingTimeInterval(20)
            while try Self.census(store, n).chunks < n && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let written = try Self.census(store, n)
            #expect(written.pending == 0 && written.stored == 0 && written.chunks == n, "\(written)")
            #expect(store.state.withLock { $0.seals.ids.isEmpty }, "the queue is emptied")
            try Self.expectReads(store, want, from: 0, to: .max, "written by the thread")
        }
    }

    /// A checkpoint holds the store's maintenance for minutes at scale. The sealing thread waiting
    /// for it must not count that wait as work and rest three times as long: with more sealed
    /// heads than one slice, the rest of them then waited that long too (scale run N: 4 M heads
    /// due at 23:04:50, none written by 23:08).
    @Test func aWaitForACheckpointIsNotRestedOff() async throws {
        try await withTSDBTempDirectory { dir in
            let n = RocksMetricStore.sealSlice + 1_000
            let store = try RocksMetricStore(path: dir, options: .keepForever)
            defer { store.close() }
            var (batch, want) = Self.hourOfSamples(n)
            try Self.append(store, batch)
            try Self.append(store, Self.round(n, at: Self.boundary + 60_000, value: 1, into: &want))
            // Something else (a checkpoint) holds the maintenance lock for 4 s.
            let held = 4.0
            let holder = Thread { store.maintenanceLock.withLock { _ in Thread.sleep(forTimeInterval: held) } }
            holder.start()
            try await Task.sleep(for: .milliseconds(200))
            let start = Date()
            try Self.append(store, Self.round(n, at: Self.boundary + TSDBOptions().sealedHold, value: 2, into: &want))
            let deadline = start.addingTimeInterval(60)
            while try Self.census(store, n).chunks < n && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let took = Date().timeIntervalSince(start)
            let written = try Self.census(store, n)
            #expect(written.chunks == n && written.pending == 0, "\(written)")
            // The first slice waits ~4 s for the lock; resting 3× that before the second took ≥ 16 s.
            #expect(took < held + 8, "every due sealed head written \(took) s after they fell due")
            try Self.expectReads(store, want, from: 0, to: .max, "written after the wait")
        }
    }

    @Test func aBackgroundCheckpointWaitsWhileSealedHeadsAreDueThenRuns() async throws {
        try await withTSDBTempDirectory { dir in
            let n = 40
            var o = TSDBOptions.keepForever
            // `maintain` compares its `now` (sample time here, 1970) with the wall clock of the last
            // checkpoint: an interval of Int64.min makes every pass find a checkpoint due.
            o.checkpointInterval = .min
            let store = try RocksMetricStore(path: dir, options: o)
            defer { store.close() }
            var (batch, want) = Self.hourOfSamples(n)
            try Self.append(store, batch)
            try Self.append(store, Self.round(n, at: Self.boundary + 60_000, value: 1, into: &want))
            #expect(!store.checkpointWaitsForSealing(), "sealed heads inside their hold are not due")
            // Something else holds the maintenance lock for 3 s, so the sealing thread cannot
            // write the heads that fall due now.
            let holder = Thread { store.maintenanceLock.withLock { _ in Thread.sleep(forTimeInterval: 3) } }
            holder.start()
            try await Task.sleep(for: .milliseconds(200))
            try Self.append(store, Self.round(n, at: Self.boundary + TSDBOptions().sealedHold + 10_000, value: 2, into: &want))
            #expect(try Self.census(store, n).pending == n)
            #expect(store.checkpointWaitsForSealing())
            // A due checkpoint waits: maintain returns without it, and without
            // queueing behind the lock.
            let started = Date()
            let waited = try store.maintain(now: Self.boundary + TSDBOptions().sealedHold + 20_000)
            #expect(waited.checkpointWaitedForSealing && !waited.checkpointed, "\(waited)")
            #expect(Date().timeIntervalSince(started) < 2.5, "maintain did not wait for the lock")
            // Once the sealing thread has written them, the next pass checkpoints.
            let deadline = Date().addingTimeInterval(30)
            while try Self.census(store, n).pending > 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try Self.census(store, n).pending == 0)
            #expect(!store.checkpointWaitsForSealing())
            let ran = try store.maintain(now: Self.boundary + TSDBOptions().sealedHold + 30_000)
            #expect(ran.checkpointed && !ran.checkpointWaitedForSealing, "\(ran)")
            try Self.expectReads(store, want, from: 0, to: .max, "after the checkpoint")
        }
    }

    @Test func aLateSampleASplitAndTheNextBoundaryWriteTheSealedHeadFirst() async throws {
        try await withTSDBTempDirectory { dir in
            let n = 4
            var o = TSDBOptions.keepForever
            o.maxChunkSamples = 70
            let store = try RocksMetricStore(path: dir, options: o)
            defer { store.close() }
            var (batch, want) = Self.hourOfSamples(n)
            try Self.append(store, batch)
            try store.maintenanceLock.withLock { _ in
                try Self.append(store, Self.round(n, at: Self.boundary + 60_000, value: 1, into: &want))
                #expect(try Self.census(store, n).pending == n)
                func sealed(_ i: Int) throws -> SealedHead? { try Self.sealedHead(store, i) }
                // Series 0: a late sample between two of the sealed hour's, and one replacing a value.
                let late = [Sample(labels: testLabels("sh", ["s": "0"]), timestamp: Self.boundary - 90_000, value: -5),
                            Sample(labels: testLabels("sh", ["s": "0"]), timestamp: Self.boundary - 60_000, value: -6)]
                try Self.append(store, late)
                want["0"]!.append(contentsOf: late.map { Point(timestamp: $0.timestamp, value: $0.value) })
                #expect(try sealed(0) == nil, "a merge into the sealed hour drops the sealed head after writing it")
                // Series 1: its new head grows past maxChunkSamples and splits inside the new hour.
                try Self.append(store, (3...72).map { k in
                    want["1"]!.append(Point(timestamp: Self.boundary + Int64(k) * 30_000, value: Double(k)))
                    return Sample(labels: testLabels("sh", ["s": "1"]), timestamp: Self.boundary + Int64(k) * 30_000, value: Double(k))
                })
                #expect(try sealed(1) == nil, "a split in the head's hour drops the sealed head after writing it")
                // Series 2: crosses the next hour while its sealed head is still pending.
                let next = Sample(labels: testLabels("sh", ["s": "2"]), timestamp: Self.boundary + Self.hour + 30_000, value: 11)
                try Self.append(store, [next])
                want["2"]!.append(Point(timestamp: next.timestamp, value: next.value))
                guard case .pending(let p) = try sealed(2) else { Issue.record("series 2 sealed again"); return }
                #expect(p.builder.minT == Self.boundary + 60_000, "the new sealed head is the second hour's")
                #expect(try Self.census(store, n).chunks == 3, "series 0, 1 and 2 have their first hour stored")
                try Self.expectReads(store, want, from: 0, to: .max, "after the late sample, the split and the next boundary")
                // The writer passes over what was dropped, and leaves the merged chunk as it is.
                while try store.writeSealedSlice(limit: 1) > 0 {}
                #expect(try Self.census(store, n).chunks == n)
                try Self.expectReads(store, want, from: 0, to: .max, "after the writer")
                // Crossing the next hour while the first hour's sealed heads are held replaces them.
                try Self.append(store, Self.round(n, at: Self.boundary + Self.hour + 60_000, value: 9, into: &want))
                try Self.expectReads(store, want, from: 0, to: .max, "after the second boundary")
                while try store.writeSealedSlice(limit: 16) > 0 {}
                try Self.expectReads(store, want, from: 0, to: .max, "after the second boundary's writes")
                try Self.expectReads(store, want, from: Self.boundary + Self.hour - 300_000, to: Self.boundary + Self.hour + 60_000,
                                     "the second boundary's alarm window")
            }
        }
    }

    @Test func aCheckpointWritesPendingSealedHeadsAndAReopenHasEverySample() async throws {
        try await withTSDBTempDirectory { dir in
            let n = 200
            var (batch, want) = Self.hourOfSamples(n)
            do {
                let store = try RocksMetricStore(path: dir, options: .keepForever)
                try Self.append(store, batch)
                try store.maintenanceLock.withLock { _ in
                    try Self.append(store, Self.round(n, at: Self.boundary + 60_000, value: 3, into: &want))
                }
                try store.checkpoint()
                let after = try Self.census(store, n)
                #expect(after.pending == 0 && after.chunks == n, "a checkpoint leaves nothing pending: \(after)")
                try Self.append(store, Self.round(n, at: Self.boundary + 120_000, value: 4, into: &want))
                store.close()
            }
            let reopened = try RocksMetricStore(path: dir, options: .keepForever)
            defer { reopened.close() }
            try Self.expectReads(reopened, want, from: 0, to: .max, "reopened")
            try Self.expectReads(reopened, want, from: Self.boundary - 300_000, to: Self.boundary + 120_000, "reopened, alarm window")
        }
    }
}
