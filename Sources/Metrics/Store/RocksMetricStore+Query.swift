// Reads: select, label values, stats, and window aggregates from chunk headers and rollups.
extension RocksMetricStore {
    /// A matching series as a query sees it: its labels and a copy of what it holds in memory.
    struct SeriesSnapshot {
        var id: UInt64
        var labels: Labels
        var memory: SeriesMemory
    }

    /// A series' head and sealed head as a read copies them under the state lock (CoW-cheap).
    struct SeriesMemory {
        var head: ChunkBuilder?
        /// `HeadSeries.partitionClean` when the head was copied.
        var partitionClean = false
        var sealed: SealedHead?
        var sealedClean = false

        /// Takes `h` borrowed: an initializer's argument is otherwise passed owned, which copied
        /// the whole `HeadSeries` (a retain per buffer) before these fields were copied again,
        /// under the store's lock, for every series an alarm round reads.
        init(_ h: borrowing HeadSeries) {
            head = h.builder
            partitionClean = h.partitionClean
            sealed = h.sealed
            sealedClean = h.sealedClean
        }

        /// Stored chunks hold only samples before this (the sealed head's first time, else the
        /// head's): later ones in a chunk were written or cut after the copy was taken, and the
        /// copy has them.
        var chunkLimit: Int64 {
            if let sealed { return sealed.minT }
            return head.map { $0.count > 0 ? $0.minT : .max } ?? .max
        }

        /// Whether stored chunks may hold samples at or after `from`: not when `from` lies in the
        /// partition of the sealed head (or else the head) and no stored chunk does (memory
        /// answers alone, no RocksDB seek).
        func chunksMayReach(_ from: Int64) -> Bool {
            if let sealed {
                return !sealedClean || from <= MetricKey.partition(sealed.maxT) - MetricKey.partitionLength
            }
            guard partitionClean, let head, head.count > 0 else { return true }
            return from <= MetricKey.partition(head.maxT) - MetricKey.partitionLength
        }

        /// The sealed head, then the head, as chunks, when they have samples in `[from, to]`.
        func chunks(from: Int64, to: Int64) throws -> [Chunk] {
            var out: [Chunk] = []
            if let sealed, sealed.maxT >= from, sealed.minT <= to { out.append(try sealed.chunk()) }
            if let head, head.count > 0, head.maxT >= from, head.minT <= to { out.append(try Chunk(head.bytes())) }
            return out
        }
    }

    /// Matching series with their heads copied under the lock (a `ChunkBuilder` copy is CoW-cheap).
    /// Only ids, heads and the canonical label bytes (into one buffer) are taken under the lock;
    /// the labels are decoded after it: decoding 100 k label sets in the lock stalled every push
    /// for the whole alarm round's queries.
    func snapshot(_ matchers: [LabelMatcher]) throws -> [SeriesSnapshot] {
        let (ids, memory, bytes, ranges) = try state.withLock { s throws -> ([UInt64], [SeriesMemory], [UInt8], [Range<Int>]) in
            try ensureOpen(s, "query")
            let ids = s.index.matching(matchers)
            var memory: [SeriesMemory] = [], ranges: [Range<Int>] = [], bytes: [UInt8] = []
            memory.reserveCapacity(ids.count)
            ranges.reserveCapacity(ids.count)
            bytes.reserveCapacity(ids.count * 128)
            for id in ids {
                memory.append(SeriesMemory(s.heads[Int(id) - 1]))
                ranges.append(s.index.appendCanonical(of: id, to: &bytes))
            }
            return (ids, memory, bytes, ranges)
        }
        return try ids.indices.map { i in
            SeriesSnapshot(id: ids[i], labels: try LabelsCodec.decode(Array(bytes[ranges[i]]), key: MetricKey.labels(ids[i])), memory: memory[i])
        }
    }

    /// Calls `body` with every stored chunk of `id` that may hold samples in `[from, to]`, in time order.
    func forEachChunk(_ id: UInt64, from: Int64, to: Int64, _ body: (Chunk) throws -> Void) throws {
        try db.scan(from: MetricKey.chunk(id, maxT: from), to: RocksDB.successor(ofPrefix: MetricKey.chunksPrefix(id))) { _, value in
            let chunk = try Chunk(value)
            guard chunk.header.minT <= to else { return false }
            try body(chunk)
            return true
        }
    }

    func selectBlocking(_ matchers: [LabelMatcher], from: Int64, to: Int64) throws -> [SeriesPoints] {
        let from = max(from, retentionCutoff())
        guard from <= to else { return [] }
        var result: [SeriesPoints] = []
        for series in try snapshot(matchers) {
            var points: [Point] = []
            let limit = min(to, series.memory.chunkLimit &- 1)
            if from <= limit && series.memory.chunksMayReach(from) {
                try forEachChunk(series.id, from: from, to: limit) { chunk in
                    try chunk.forEach { t, v in if t >= from && t <= limit { points.append(Point(timestamp: t, value: v)) } }
                }
            }
            for chunk in try series.memory.chunks(from: from, to: to) {
                try chunk.forEach { t, v in if t >= from && t <= to { points.append(Point(timestamp: t, value: v)) } }
            }
            if !points.isEmpty { result.append(SeriesPoints(labels: series.labels, points: points)) }
        }
        return result.sorted { $0.labels < $1.labels }
    }

    func labelValuesBlocking(_ name: String, matchers: [LabelMatcher]) throws -> [String] {
        try state.withLock { s in
            try ensureOpen(s, "query")
            guard !matchers.isEmpty else { return (s.index.postings[name] ?? [:]).keys.sorted() }
            var values = Set<String>()
            for id in s.index.matching(matchers) {
                if let v = try s.index.labels(of: id)[name] { values.insert(v) }
            }
            return values.sorted()
        }
    }

    func statsBlocking() throws -> TSDBStats {
        try state.withLock { s in
            try ensureOpen(s, "query")
            let names = s.index.postings[Labels.nameKey] ?? [:]
            var stats = TSDBStats(
                seriesCount: s.index.count,
                headSeries: s.heads.reduce(0) { $0 + ($1.builder == nil ? 0 : 1) },
                seriesCountByMetricName: names.mapValues(\.count),
                labelValueCountByLabelName: s.index.postings.mapValues(\.count),
                rejectedSamples: s.rejected)
            stats.sealedHeadsPending = s.seals.pending
            stats.quietWaitsGivenUp = quiet.waitsGivenUp
            stats.quietWaitsDeferredToBacklog = quiet.waitsDeferredToBacklog
            stats.ingestBehind = quiet.isBehind()
            return stats
        }
    }

    // MARK: Window aggregates

    /// A run of one series' data: a whole chunk or rollup bucket (its aggregate suffices when a
    /// window holds all of it) or decoded points (a head, or a chunk clipped to a range).
    struct Piece {
        var lo: Int64
        var hi: Int64
        var aggregate: WindowAggregate
        var chunk: Chunk?
        var points: [Point]?
    }

    func aggregateBlocking(_ matchers: [LabelMatcher], start: Int64, end: Int64, step: Int64, window: Int64) throws -> [SeriesWindows] {
        guard step > 0 else { throw MetricsError.invalidQuery(field: "step", reason: "step must be positive, got \(step)") }
        guard window > 0 else { throw MetricsError.invalidQuery(field: "window", reason: "window must be positive, got \(window)") }
        guard start <= end else { return [] }
        let cutoff = retentionCutoff()
        let lo = max(start - window + 1, cutoff)
        let series = try snapshot(matchers)
        // Rollups answer (rFrom, rTo] when the windows are made of whole buckets.
        var resolution: RollupResolution?
        var rFrom: Int64 = 0, rTo: Int64 = 0
        if let r = RollupResolution.allCases.sorted(by: { $0.milliseconds > $1.milliseconds }).first(where: {
            window % $0.milliseconds == 0 && step % $0.milliseconds == 0 && start % $0.milliseconds == 0
        }), let through = try rollups.rolledUpThrough(openFrom: oldestOpenPartitionEnd() ?? MetricKey.partition(Self.wallClock()) + MetricKey.partitionLength) {
            let ms = r.milliseconds
            rFrom = start - window
            if cutoff > rFrom &+ 1 { rFrom = ((cutoff - 1 + ms - 1) / ms) * ms }
            rTo = min(end, through) / ms * ms
            if rTo > rFrom { resolution = r }
        }
        var result: [SeriesWindows] = []
        for s in series {
            var pieces: [Piece] = []
            if let r = resolution {
                try addRaw(s, from: lo, to: rFrom, into: &pieces)
                let ms = r.milliseconds
                for b in try rollups.buckets(seriesID: s.id, resolution: r, from: rFrom, to: rTo) {
                    pieces.append(Piece(lo: b.end - ms + 1, hi: b.end, aggregate: b.aggregate))
                }
                try addRaw(s, from: max(rTo + 1, lo), to: end, into: &pieces)
            } else {
                try addRaw(s, from: lo, to: end, into: &pieces)
            }
            if pieces.isEmpty { continue }
            let windows = try Self.evaluate(&pieces, start: start, end: end, step: step, window: window)
            if windows.contains(where: { $0 != nil }) { result.append(SeriesWindows(labels: s.labels, windows: windows)) }
        }
        return result.sorted { $0.labels < $1.labels }
    }

    /// Adds the series' raw data in `[from, to]`: chunks whole when inside, clipped otherwise; then
    /// the sealed head and the head.
    private func addRaw(_ s: SeriesSnapshot, from: Int64, to: Int64, into pieces: inout [Piece]) throws {
        guard from <= to else { return }
        let limit = min(to, s.memory.chunkLimit &- 1)
        if from <= limit && s.memory.chunksMayReach(from) {
            try forEachChunk(s.id, from: from, to: limit) { chunk in
                try Self.add(chunk, from: from, to: limit, into: &pieces)
            }
        }
        for chunk in try s.memory.chunks(from: from, to: to) {
            try Self.add(chunk, from: from, to: to, into: &pieces)
        }
    }

    /// Adds a chunk (stored or the head) lying in `[from, to]` whole, so windows that hold all of it
    /// use its header; else only its points inside the range.
    private static func add(_ chunk: Chunk, from: Int64, to: Int64, into pieces: inout [Piece]) throws {
        let h = chunk.header
        if h.minT >= from && h.maxT <= to {
            pieces.append(Piece(lo: h.minT, hi: h.maxT, aggregate: h.aggregate, chunk: chunk))
            return
        }
        let kept = try chunk.points().filter { $0.timestamp >= from && $0.timestamp <= to }
        guard let agg = WindowAggregate.of(kept) else { return }
        pieces.append(Piece(lo: kept[0].timestamp, hi: kept[kept.count - 1].timestamp, aggregate: agg, points: kept))
    }

    /// Combines time-ordered, disjoint pieces into the windows `(t - window, t]`.
    static func evaluate(_ pieces: inout [Piece], start: Int64, end: Int64, step: Int64, window: Int64) throws -> [WindowAggregate?] {
        var windows: [WindowAggregate?] = []
        var first = 0
        for t in evaluationTimes(start: start, end: end, step: step) {
            let a = t - window
            while first < pieces.count && pieces[first].hi <= a { first += 1 }
            var agg: WindowAggregate?
            var k = first
            while k < pieces.count && pieces[k].lo <= t {
                if pieces[k].lo > a && pieces[k].hi <= t {
                    if agg == nil { agg = pieces[k].aggregate } else { agg!.merge(pieces[k].aggregate) }
                } else {
                    if pieces[k].points == nil { pieces[k].points = try pieces[k].chunk?.points() ?? [] }
                    let pts = pieces[k].points!
                    var lo = 0, hi = pts.count
                    while lo < hi { let m = (lo + hi) / 2; if pts[m].timestamp <= a { lo = m + 1 } else { hi = m } }
                    var i = lo
                    while i < pts.count && pts[i].timestamp <= t {
                        if agg == nil { agg = WindowAggregate(pts[i].value) } else { agg!.add(pts[i].value) }
                        i += 1
                    }
                }
                k += 1
            }
            windows.append(agg)
        }
        return windows
    }
}
