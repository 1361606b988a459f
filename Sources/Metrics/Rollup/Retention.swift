/// What one `Retention.run` removed.
public struct RetentionReport: Sendable, Equatable {
    /// Raw chunks (`C`) deleted whole.
    public var chunksDeleted: Int
    /// Chunks straddling the cutoff, rewritten without their older samples.
    public var chunksRewritten: Int
    /// Rollup buckets removed (from rewritten or deleted `R` values).
    public var bucketsDeleted: Int
    /// Series with no `C`, `H` or `R` data left, ascending.
    public var emptiedSeries: [UInt64]
    /// Series whose chunks and rollups were visited (the per-series seeks).
    public var seriesScanned: Int
    /// The pass stopped early (`shouldStop`): what it did is kept, the rest is left for a rerun.
    public var interrupted: Bool

    public init(chunksDeleted: Int = 0, chunksRewritten: Int = 0, bucketsDeleted: Int = 0, emptiedSeries: [UInt64] = [],
                seriesScanned: Int = 0, interrupted: Bool = false) {
        self.chunksDeleted = chunksDeleted
        self.chunksRewritten = chunksRewritten
        self.bucketsDeleted = bucketsDeleted
        self.emptiedSeries = emptiedSeries
        self.seriesScanned = seriesScanned
        self.interrupted = interrupted
    }
}

/// Deletes data older than the retention cutoff from the format-v2 layout.
public enum Retention {
    /// Operations per RocksDB write batch.
    static let operationsPerBatch = 1024
    /// Series (or `Q` keys) between two `shouldStop` checks.
    static let seriesPerStopCheck = 256

    /// Removes every raw sample with t < cutoff (whole chunks deleted, a chunk straddling the cutoff rewritten
    /// without its old samples), rollup buckets whose end < cutoff, and `Q` entries for hours ending before it.
    /// Series ids come from iterating `I` keys. Does not touch the index (S/I/P) or `H`: the engine does.
    ///
    /// A rewritten chunk also queues its hour (`Q`) so that its rollups are rebuilt without the
    /// removed samples. Cost: a few seeks per series, so call it when the cutoff has moved by a
    /// useful amount (e.g. hourly, with an hour-aligned cutoff), not per write.
    ///
    /// `shouldStop` is asked every `seriesPerStopCheck` series (and `Q` keys); when it answers true
    /// the pass writes what it has batched and returns with `interrupted` set. Stopping anywhere is
    /// safe: a rewritten chunk and its `Q` entry go out in the same batch, every other step is a
    /// plain delete, so a rerun with the same cutoff finishes the work (and redoes nothing twice).
    public static func run(db: RocksDB, cutoff: Int64, shouldStop: () -> Bool = { false }) throws -> RetentionReport {
        var report = RetentionReport()
        let batch = RocksWriteBatch()
        func flushIfFull() throws {
            if batch.count >= operationsPerBatch { try db.write(batch, sync: false); batch.clear() }
        }

        // Queue entries of hours ending before the cutoff: their samples are all gone.
        var visited = 0
        try db.scan(prefix: [RollupKeys.queuePrefix]) { key, _ in
            guard key.count == 17, RollupKeys.int64(key, at: 1) < cutoff else { return false }
            visited += 1
            if visited % seriesPerStopCheck == 0, shouldStop() { report.interrupted = true; return false }
            batch.delete(key)
            try flushIfFull()
            return true
        }
        if report.interrupted {
            if batch.count > 0 { try db.write(batch, sync: false) }
            return report
        }

        var ids: [UInt64] = []
        try db.scan(prefix: [RollupKeys.labelsPrefix]) { key, _ in
            guard key.count == 9 else {
                throw MetricsError.corrupt(key: RollupKeys.hex(key), reason: "a labels key is 'I' + 8-byte id")
            }
            ids.append(BigEndian.uint64(key[1...]))
            return true
        }
        let chunks = try db.makeIterator(lower: [RollupKeys.chunkPrefix], upper: [RollupKeys.chunkPrefix + 1])
        let rollups = try db.makeIterator(lower: [RollupKeys.rollupPrefix], upper: [RollupKeys.rollupPrefix + 1])
        for (n, id) in ids.enumerated() {
            if n % seriesPerStopCheck == 0, shouldStop() { report.interrupted = true; break }
            report.seriesScanned += 1
            var hasData = try expireChunks(id, cutoff: cutoff, iterator: chunks, batch: batch, report: &report)
            try flushIfFull()
            for res in RollupResolution.allCases {
                if try expireRollups(id, res, cutoff: cutoff, iterator: rollups, batch: batch, report: &report) { hasData = true }
                try flushIfFull()
            }
            // One with a head in memory is kept by `RocksMetricStore.dropSeries`.
            if !hasData { report.emptiedSeries.append(id) }
        }
        try chunks.checkStatus()
        try rollups.checkStatus()
        if batch.count > 0 { try db.write(batch, sync: false) }
        return report
    }

    /// Deletes or rewrites the chunks of `id` holding samples before `cutoff`; true when the series
    /// keeps at least one chunk.
    private static func expireChunks(_ id: UInt64, cutoff: Int64, iterator it: RocksIterator, batch: RocksWriteBatch,
                                     report: inout RetentionReport) throws -> Bool {
        let prefix = RollupKeys.chunks(id)
        it.seek(prefix)
        while it.isValid {
            let key = it.key
            guard key.starts(with: prefix) else { return false }
            guard key.count == 17 else {
                throw MetricsError.corrupt(key: RollupKeys.hex(key), reason: "a chunk key is 'C' id(8) maxT(8)")
            }
            let maxT = RollupKeys.int64(key, at: 9)
            if maxT < cutoff {
                batch.delete(key)
                report.chunksDeleted += 1
                it.next()
                continue
            }
            // The first chunk reaching the cutoff; chunks do not overlap, so later ones start after it.
            let chunk: Chunk
            do { chunk = try Chunk(it.value) } catch { throw MetricsError.corrupt(key: RollupKeys.hex(key), reason: "\(error)") }
            if chunk.header.minT < cutoff {
                let kept = try chunk.points().filter { $0.timestamp >= cutoff }
                batch.put(key, ChunkCodec.encode(kept))
                batch.put(RollupKeys.queue(hour: RollupKeys.bucketEnd(maxT, RollupKeys.hour), series: id), RollupKeys.queueStamp())
                report.chunksRewritten += 1
            }
            return true
        }
        return false
    }

    /// Drops the buckets of `id` at `res` ending before `cutoff`; true when some `R` value of that
    /// resolution remains.
    private static func expireRollups(_ id: UInt64, _ res: RollupResolution, cutoff: Int64, iterator it: RocksIterator,
                                      batch: RocksWriteBatch, report: inout RetentionReport) throws -> Bool {
        let prefix = RollupKeys.rollups(res, id)
        var remains = false
        it.seek(prefix)
        while it.isValid {
            let key = it.key
            guard key.starts(with: prefix) else { break }
            guard key.count == 18 else {
                throw MetricsError.corrupt(key: RollupKeys.hex(key), reason: "a rollup key is 'R' res(1) id(8) windowEnd(8)")
            }
            let windowEnd = RollupKeys.int64(key, at: 10)
            // Every bucket of a window ends in (windowEnd - span, windowEnd].
            guard windowEnd - res.windowMilliseconds < cutoff else { return true }
            let buckets: [RollupBucket]
            do { buckets = try RollupCodec.decode(it.value) } catch { throw MetricsError.corrupt(key: RollupKeys.hex(key), reason: "\(error)") }
            let kept = buckets.filter { $0.end >= cutoff }
            report.bucketsDeleted += buckets.count - kept.count
            if kept.isEmpty {
                batch.delete(key)
            } else {
                remains = true
                if kept.count != buckets.count { batch.put(key, RollupCodec.encode(kept)) }
            }
            it.next()
        }
        return remains
    }
}
