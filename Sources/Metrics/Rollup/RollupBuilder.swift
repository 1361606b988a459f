/// Builds 1 m / 5 m / 1 h rollups for the (hour, series) pairs queued under `Q`, and reads them back.
///
/// Rollup values (`R` + res + id + windowEnd) each hold the buckets of one window:
/// 1 m → one hour (60), 5 m → one day (288), 1 h → 30 days (720); see
/// `RollupResolution.windowMilliseconds`. A build pass groups its entries so that each `R` key is
/// read-modified-written once, and deletes each `Q` entry in the same batch as its rollups.
///
/// Calls block on RocksDB: run them on a thread pool.
public final class RollupBuilder: Sendable {
    private let db: RocksDB
    /// Queue entries handled per RocksDB write batch.
    static let entriesPerBatch = 256

    public init(db: RocksDB) { self.db = db }

    /// Rebuilds the rollups of up to `limit` queued (hour, series) entries, oldest hour first, from the raw
    /// `C` chunks; deletes each entry in the same batch as its rollups. Idempotent. Returns how many it did.
    public func buildPending(limit: Int) throws -> Int {
        var cursor: [UInt8]?
        return try buildPending(limit: limit, after: &cursor)
    }

    /// `buildPending(limit:)` over the entries that sort after `cursor` (all when nil), leaving in
    /// `cursor` the last entry it took. A pass that works through a long queue in slices passes the
    /// same cursor to every call: starting each slice at the head of the queue would step over the
    /// deletion markers of every entry built before it, which made the pass quadratic (an hour
    /// boundary queues one entry per series, millions at scale). An entry queued behind the cursor
    /// meanwhile waits for the next pass.
    ///
    /// The chunks and old rollups are read and the buckets computed without `exclusive`; each
    /// batch's write runs inside it (the engine passes its store lock, which every `Q` writer holds).
    /// There an entry is deleted only when its `Q` value is still the one read (`queueStamp`): one
    /// queued again meanwhile (a chunk rewritten under the pass) stays for the next pass, and its
    /// rollups written now are replaced then. Only one pass may run at a time (the `R` values are
    /// read, changed and written back).
    public func buildPending(limit: Int, after cursor: inout [UInt8]?,
                             exclusive: (() throws -> Void) throws -> Void = { try $0() }) throws -> Int {
        guard limit > 0 else { return 0 }
        var entries: [QueueEntry] = []
        // The smallest key after the cursor is the cursor with a zero byte appended.
        let lower = cursor.map { $0 + [0] } ?? [RollupKeys.queuePrefix]
        var last: [UInt8]?
        try db.scan(from: lower, to: RocksDB.successor(ofPrefix: [RollupKeys.queuePrefix])) { key, value in
            guard key.count == 17 else {
                throw MetricsError.corrupt(key: RollupKeys.hex(key), reason: "a rollup queue key is 'Q' hour(8) id(8)")
            }
            entries.append(QueueEntry(hour: RollupKeys.int64(key, at: 1), id: BigEndian.uint64(key[9...]), key: key, stamp: value))
            last = key
            return entries.count < limit
        }
        if let last { cursor = last }
        var done = 0
        while done < entries.count {
            let slice = entries[done..<Swift.min(done + Self.entriesPerBatch, entries.count)]
            try build(slice, exclusive: exclusive)
            done += slice.count
        }
        return done
    }

    /// One `Q` entry as read: (hour, series), its key and its value.
    struct QueueEntry {
        var hour: Int64
        var id: UInt64
        var key: [UInt8]
        var stamp: [UInt8]
    }

    /// Rebuilds one batch of entries and writes it (the write inside `exclusive`).
    private func build(_ entries: ArraySlice<QueueEntry>, exclusive: (() throws -> Void) throws -> Void) throws {
        // Per R key: the hours being replaced and their new buckets.
        struct Update { var hours: [Int64] = []; var buckets: [RollupBucket] = [] }
        var updates: [RollupKey: Update] = [:]
        let batch = RocksWriteBatch()
        // One iterator over the `C` keys for the whole batch: its entries come in (hour, id) order,
        // so each series' chunks lie after the previous one's, and creating an iterator per entry
        // (a merge over every memtable and level) cost more than stepping or seeking it.
        let chunks = try db.makeIterator(lower: [RollupKeys.chunkPrefix], upper: [RollupKeys.chunkPrefix + 1])
        var previousHour: Int64?
        for e in entries {
            // Within one hour the ids ascend, so the targets do; a new hour starts over at a low id.
            let points = try rawPoints(e.id, hour: e.hour, chunks, forward: previousHour == e.hour)
            previousHour = e.hour
            for res in RollupResolution.allCases {
                let key = RollupKey(resolution: res, id: e.id, windowEnd: RollupKeys.bucketEnd(e.hour, res.windowMilliseconds))
                updates[key, default: Update()].hours.append(e.hour)
                updates[key, default: Update()].buckets += RollupBuckets.compute(points, res)
            }
        }
        for (key, update) in updates {
            let rkey = RollupKeys.rollup(key.resolution, key.id, windowEnd: key.windowEnd)
            var buckets: [RollupBucket] = []
            if key.resolution.windowMilliseconds != RollupKeys.hour, let old = try db.get(rkey) {
                // Keep the buckets of hours not rebuilt now; a bucket never spans two hours.
                let rebuilt = Set(update.hours)
                buckets = try decode(old, key: rkey).filter { !rebuilt.contains(RollupKeys.bucketEnd($0.end, RollupKeys.hour)) }
            }
            buckets += update.buckets
            buckets.sort { $0.end < $1.end }
            if buckets.isEmpty { batch.delete(rkey) } else { batch.put(rkey, RollupCodec.encode(buckets)) }
        }
        try exclusive {
            for e in entries where try db.get(e.key) == e.stamp { batch.delete(e.key) }
            try db.write(batch, sync: false)
        }
    }

    /// The raw points of series `id` in the hour partition `(hour - 1h, hour]`, in time order, read
    /// with `chunks` (an iterator over the `C` keys). `forward`: this target is after the previous
    /// call's, so the iterator may step to it instead of seeking.
    private func rawPoints(_ id: UInt64, hour: Int64, _ chunks: RocksIterator, forward: Bool) throws -> [Point] {
        var points: [Point] = []
        let start = hour - RollupKeys.hour
        let end = RollupKeys.chunk(id, maxT: hour + 1)
        let target = RollupKeys.chunk(id, maxT: start + 1)
        if forward { chunks.seek(forwardTo: target, maxSteps: Self.maxSteps) } else { chunks.seek(target) }
        while chunks.isValid && chunks.currentKeyCompared(to: end) < 0 {
            let chunk: Chunk
            do { chunk = try Chunk(chunks.value) } catch { throw MetricsError.corrupt(key: RollupKeys.hex(chunks.key), reason: "\(error)") }
            try chunk.forEach { t, v in
                if t > start && t <= hour { points.append(Point(timestamp: t, value: v)) }
            }
            chunks.next()
        }
        try chunks.checkStatus()
        return ChunkCodec.latestPerTimestamp(points)
    }

    /// How many keys `rawPoints` steps over to reach the next series' hour before it seeks instead.
    static let maxSteps = 16

    private func decode(_ value: [UInt8], key: [UInt8]) throws -> [RollupBucket] {
        do { return try RollupCodec.decode(value) } catch { throw MetricsError.corrupt(key: RollupKeys.hex(key), reason: "\(error)") }
    }

    /// Every sample at or before the returned time (ms, on an hour boundary) is covered by rollups,
    /// given `openFrom`: the engine's oldest partition still in memory (heads). nil = nothing rolled up.
    ///
    /// `openFrom` may be that partition's end or any time in it: the hour before the partition
    /// holding `openFrom` is the last one whose samples are all in `C` chunks. The answer is
    /// also before the oldest hour still queued under `Q`.
    public func rolledUpThrough(openFrom: Int64) throws -> Int64? {
        var anyRollup = false
        try db.scan(prefix: [RollupKeys.rollupPrefix]) { _, _ in anyRollup = true; return false }
        guard anyRollup else { return nil }
        var through = RollupKeys.bucketEnd(openFrom, RollupKeys.hour) - RollupKeys.hour
        try db.scan(prefix: [RollupKeys.queuePrefix]) { key, _ in
            if key.count == 17 { through = Swift.min(through, RollupKeys.int64(key, at: 1) - RollupKeys.hour) }
            return false
        }
        return through
    }

    /// Buckets of one series at `resolution` with end in (from, to], in time order.
    public func buckets(seriesID: UInt64, resolution: RollupResolution, from: Int64, to: Int64) throws -> [RollupBucket] {
        guard to > from, to >= 0 else { return [] }
        let span = resolution.windowMilliseconds
        // Windows (W - span, W] that can hold an end in (from, to].
        let lower = RollupKeys.rollup(resolution, seriesID, windowEnd: Swift.max(from, -1) + 1)
        let upper = RollupKeys.rollup(resolution, seriesID, windowEnd: RollupKeys.bucketEnd(to, span) + 1)
        var out: [RollupBucket] = []
        try db.scan(from: lower, to: upper) { key, value in
            for b in try decode(value, key: key) where b.end > from && b.end <= to { out.append(b) }
            return true
        }
        return out
    }
}

/// Identifies one `R` value.
struct RollupKey: Hashable {
    var resolution: RollupResolution
    var id: UInt64
    var windowEnd: Int64
}
