import Foundation

// Checkpoints (heads to `H`, WAL truncation) and the background maintenance pass.
extension RocksMetricStore {
    /// Heads copied per hold of the state lock (and written per RocksDB batch) by a checkpoint.
    static let checkpointSlice = 32_768
    /// Rollup queue entries built per hold of the state lock by `maintain`.
    static let rollupSlice = 512
    /// A paced checkpoint rests this many times as long as each slice took: it then uses about a
    /// quarter of one core instead of a whole one.
    static let checkpointRestFactor = 3.0
    /// The rollup pass of `maintain` rests this many times as long as each slice took, so it uses
    /// about a fifth of a core: after an hour boundary the pass runs for minutes beside the pushes.
    static let rollupRestFactor = 4.0

    /// A paced loop's rest: sleeps `factor` times as long as has passed since `start`
    /// (`DispatchTime` uptime nanoseconds), so the loop uses about 1 / (1 + factor) of a core.
    static func rest(since start: UInt64, factor: Double) {
        let took = DispatchTime.now().uptimeNanoseconds - start
        Thread.sleep(forTimeInterval: Double(took) / 1e9 * factor)
    }

    /// A paced loop's rest (`rest(since:factor:)`), then a wait for a gap between ingest bursts
    /// (`IngestQuiet`); `stop` ends the wait (the store is closing, the pass was asked to stop).
    func pace(since start: UInt64, factor: Double, stop: () -> Bool) {
        Self.rest(since: start, factor: factor)
        quiet.wait(stop: stop)
    }

    /// Rolls the WAL, saves every head (and, unless `writeSealed`, every sealed head still in its
    /// hold) to a new snapshot file (`HeadSnapshot`), then `M checkpoint` in a synced write (which
    /// makes the earlier unsynced RocksDB writes durable too), then deletes the WAL segments and
    /// the snapshot before it.
    ///
    /// The heads are copied and saved in slices of `checkpointSlice`, taking the state lock once
    /// per slice: with millions of series one hold for all of them stopped every ingest for
    /// seconds. Only the copies (CoW) are taken under the lock; a head appended to meanwhile copies
    /// its buffers once. A head changed after the roll is in the WAL from the new segment on, so copying it
    /// a little later than the roll is safe (replay of a sample already in its head is idempotent).
    ///
    /// `writeSealed` (close, flush, open and tests) writes the pending sealed heads as chunks
    /// first instead, so RocksDB alone then holds every closed chunk. The background checkpoints
    /// leave them to the sealing thread: writing up to 4 M of them beside a checkpoint that fell on
    /// an hour boundary pushed the p99 ingest lag to 9.3 s (scale run H).
    ///
    /// `paced` (the background checkpoints) rests between slices (`checkpointRestFactor`): at 4 M
    /// series a checkpoint is seconds of CPU, and taken at once it pushed the agents' p99 ingest lag
    /// from ~5 s to 11 s for a minute. The WAL only grows a little longer meanwhile. Once the store
    /// is closing it stops resting.
    func checkpoint(paced: Bool = false, writeSealed: Bool = true) throws {
        try maintenanceLock.withLock { _ in
            // The roll waits for an fsync in flight and does its own: outside the state lock, so
            // appends go on meanwhile. A record written before the roll was applied to its head
            // before (both happen under the state lock), so the copies below still include it; a
            // series record's RocksDB keys are written in the same hold, before the synced
            // `M checkpoint` write that makes them durable.
            let segment = try wal.roll()
            state.withLock { s in
                s.walBytesAtCheckpoint = wal.bytesWritten
                s.lastCheckpointAt = Self.wallClock()
            }
            // Sealed heads hold samples of WAL segments about to go: written (or saved below)
            // before the mark. One sealed after this has its samples in a head saved below, or in
            // the new segments.
            if writeSealed { try writeAllSealed(paced: paced) }
            let snapshot = try HeadSnapshotWriter(storePath: path, segment: segment)
            var next = 0
            while true {
                let sliceStart = DispatchTime.now().uptimeNanoseconds
                // Copies only (a retain each) under the lock; the encoding, which cost ~1 µs a head
                // and held every push back for tens of ms per slice, happens after it. A series'
                // sealed head comes before its head, as recovery expects.
                let (heads, end) = state.withLock { s -> ([(HeadSnapshot.Kind, UInt64, ChunkBuilder)], Int) in
                    let end = min(s.heads.count, next + Self.checkpointSlice)
                    var heads: [(HeadSnapshot.Kind, UInt64, ChunkBuilder)] = []
                    guard next < end else { return (heads, end) }
                    heads.reserveCapacity(end - next)
                    for i in next..<end {
                        if case .pending(let p) = s.heads[i].sealed {
                            heads.append((p.queue ? .sealedQueued : .sealed, UInt64(i + 1), p.builder))
                        }
                        if let b = s.heads[i].builder, b.count > 0 { heads.append((.head, UInt64(i + 1), b)) }
                    }
                    return (heads, end)
                }
                guard end > next else { break }
                next = end
                for (kind, id, builder) in heads { try snapshot.append(kind, id: id, builder.bytes()) }
                if paced, !state.withLock({ $0.closed }) { pace(since: sliceStart, factor: Self.checkpointRestFactor) { state.withLock { $0.closed } } }
            }
            try snapshot.finish()
            try db.put(MetricKey.checkpoint, BigEndian.bytes(segment), sync: true)
            wal.deleteSegments(before: segment)
            HeadSnapshot.deleteAll(in: path, except: segment)
        }
    }

    /// Starts a checkpoint on its own thread unless one is pending: the append that crossed
    /// `checkpointWALBytes` returns at once (its samples are already durable in the WAL) instead
    /// of holding its caller for the seconds it takes to write millions of heads.
    func scheduleCheckpoint() {
        guard !checkpointWaitsForSealing() else { return }
        guard checkpointPending.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        let thread = Thread { [self] in
            defer { checkpointPending.store(false, ordering: .releasing) }
            // A failure leaves `checkpointAll` set and the WAL growing: the next append schedules
            // another, and `maintain` (serve, every minute) runs one and reports the error.
            try? checkpoint(paced: true, writeSealed: false)
        }
        thread.name = "stratus-checkpoint"
        thread.start()
    }

    /// Whether a background checkpoint should wait because the sealing thread has sealed heads due
    /// to write (the ~3 minutes after `sealedHold` past an hour boundary, 4 M heads at scale): a
    /// checkpoint holds `maintenanceLock` for minutes, so the sealing thread stopped until it was
    /// done, and the checkpoint saved every one of those heads into the snapshot besides (1.1 GB
    /// instead of ~0.6; scale run of 2026-12-08, 00:07-00:10, p99 ingest lag 7-8.7 s). Once they
    /// are written the next append or `maintain` checkpoints. The WAL keeps growing meanwhile, so
    /// past twice `checkpointWALBytes` the checkpoint runs anyway.
    func checkpointWaitsForSealing() -> Bool {
        state.withLock { s in
            s.sealedWritesDue && wal.bytesWritten - s.walBytesAtCheckpoint < 2 * options.checkpointWALBytes
        }
    }

    /// Background work, called by serve every minute: closes heads of partitions that ended (so
    /// silent series leave memory and rollups can cover them), builds pending rollups, applies the
    /// retention by whole hour partitions once per hour (then drops emptied series from the index
    /// and memory), and checkpoints when due.
    ///
    /// Retention is skipped when `M oldest_sample` shows nothing can be older than the cutoff. It
    /// asks `shouldStop` (and whether the store was closed) every few hundred series; a stopped pass
    /// keeps what it did and runs again at the next call.
    @discardableResult
    public func maintain(now: Int64, shouldStop: () -> Bool = { false }) throws -> MaintenanceReport {
        try checkOpen()
        func stop() -> Bool { shouldStop() || state.withLock { $0.closed } }
        var report = MaintenanceReport()
        try closeEndedHeads(now: now)
        // In slices; each reads chunks and old rollups and computes without the state lock, and
        // takes it only for its writes (which delete an entry only if no chunk rewrite queued it
        // again meanwhile, see `RollupBuilder.buildPending`). One cursor carries the pass through
        // the queue. After an hour boundary the queue holds one entry per series (4 M at 10,000
        // hosts, about a minute of CPU): the pass rests between slices (`rollupRestFactor`) so it
        // takes a fifth of a core, not a whole one beside the pushes. Run F (the reads under the
        // lock, at 1/5 of it) sat at 4.8-7.7 s p99 ingest lag for the 11 minutes after 14:00.
        // The pass also waits while the sealing thread has sealed heads due (after an hour boundary
        // both wrote millions of keys at once, beside the pushes): their `Q` entries are built
        // after, in the same hour.
        var cursor: [UInt8]?
        while !state.withLock({ $0.sealedWritesDue }) {
            let sliceStart = DispatchTime.now().uptimeNanoseconds
            let built = try rollups.buildPending(limit: Self.rollupSlice, after: &cursor) { write in
                try state.withLock { _ in try write() }
            }
            report.rollupsBuilt += built
            if built < Self.rollupSlice || stop() { break }
            pace(since: sliceStart, factor: Self.rollupRestFactor, stop: stop)
        }
        // Physical removal works on whole hour partitions: the cutoff rounds down to the end of the
        // last partition wholly past retention, so no chunk is rewritten and each hour is visited
        // once. Queries already clamp to the exact cutoff, so nothing older is ever returned.
        let exact = retentionCutoff(now: now)
        let hour: Int64 = 3_600_000
        let cutoff = exact > 0 ? (exact / hour) * hour + 1 : exact
        let due = state.withLock { s -> Bool in
            guard cutoff > 0, cutoff != s.lastRetentionCutoff else { return false }
            s.lastRetentionCutoff = cutoff
            if cutoff <= s.oldestSample {
                report.retentionSkipped = true
                return false
            }
            s.acceptedDuringRetention = .max
            return true
        }
        if due {
            let r: RetentionReport
            do {
                r = try Retention.run(db: db, cutoff: cutoff, shouldStop: stop)
            } catch {
                state.withLock { s in
                    s.acceptedDuringRetention = nil
                    s.lastRetentionCutoff = .min
                }
                throw error
            }
            try state.withLock { s in
                let during = s.acceptedDuringRetention ?? .min
                s.acceptedDuringRetention = nil
                guard !r.interrupted else {
                    s.lastRetentionCutoff = .min
                    return
                }
                // Everything older than the cutoff is gone, except what was written during the pass.
                let mark = min(cutoff, during)
                if mark > s.oldestSample {
                    // Not synced: a lost raise only costs one more full pass.
                    try db.put(MetricKey.oldestSample, BigEndian.bytes(UInt64(bitPattern: mark)))
                    s.oldestSample = mark
                }
            }
            try dropSeries(r.emptiedSeries)
            report.retention = r
        }
        let (growth, since) = state.withLock { (wal.bytesWritten - $0.walBytesAtCheckpoint, now - $0.lastCheckpointAt) }
        if growth > options.checkpointWALBytes || since >= options.checkpointInterval {
            if checkpointWaitsForSealing() {
                report.checkpointWaitedForSealing = true
            } else {
                try checkpoint(paced: true, writeSealed: false)
                report.checkpointed = true
            }
        }
        return report
    }

    /// Cuts every head whose partition ended more than the out-of-order window (at most 5 min) ago.
    func closeEndedHeads(now: Int64) throws {
        let grace = min(options.outOfOrderWindow, 300_000)
        try state.withLock { s in
            guard let oldest = s.headPartitions.keys.min(), oldest + grace < now else { return }
            var ctx = IngestContext()
            for i in s.heads.indices {
                guard let b = s.heads[i].builder, MetricKey.partition(b.maxT) + grace < now else { continue }
                dropSealed(UInt64(i + 1), &s, &ctx)
                cut(UInt64(i + 1), b, &s, &ctx)
            }
            try finish(&ctx, &s)
        }
    }

    /// Removes series retention emptied (no chunk, head or rollup left) from RocksDB's index and memory.
    func dropSeries(_ ids: [UInt64]) throws {
        guard !ids.isEmpty else { return }
        try state.withLock { s in
            let batch = RocksWriteBatch()
            for id in ids where s.index.contains(id) && s.heads[Int(id) - 1].builder == nil {
                let labels = try s.index.labels(of: id)
                batch.delete([MetricKey.seriesPrefix] + s.index.canonicalBytes(of: id))
                batch.delete(MetricKey.labels(id))
                for p in labels.pairs { batch.delete(MetricKey.posting(name: p.name, value: p.value, id: id)) }
                s.index.remove(id)
                s.heads[Int(id) - 1] = HeadSeries()
            }
            try db.write(batch, sync: false)
        }
    }

    /// The end of the oldest hour partition a head still holds (nil when there is no head).
    func oldestOpenPartitionEnd() -> Int64? {
        state.withLock { s in s.headPartitions.keys.min() }
    }
}
