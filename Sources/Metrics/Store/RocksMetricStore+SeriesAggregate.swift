import NIOPosix

// `SeriesAggregatingStore`: one aggregate per series over a range, by series ref, no labels decoded
// and no sort — the alarm evaluator's read path.
extension RocksMetricStore: SeriesAggregatingStore {
    public func aggregateSeries(_ matchers: [LabelMatcher], from: Int64, to: Int64) async throws -> SeriesAggregates {
        guard from <= to else { return SeriesAggregates() }
        return try await NIOThreadPool.singleton.runIfActive { try self.aggregateSeriesBlocking(matchers, from: from, to: to) }
    }

    public func seriesLabels(_ refs: [SeriesRef]) async throws -> [Labels?] {
        try await NIOThreadPool.singleton.runIfActive { try self.seriesLabelsBlocking(refs) }
    }

    func seriesLabelsBlocking(_ refs: [SeriesRef]) throws -> [Labels?] {
        // Bytes under the lock, decoding outside it (100,000 label sets must not stall ingest).
        let canonical: [[UInt8]?] = try state.withLock { s in
            try ensureOpen(s, "query")
            return refs.map { s.index.contains($0.id) ? s.index.canonicalBytes(of: $0.id) : nil }
        }
        return try zip(refs, canonical).map { ref, bytes in
            try bytes.map { try LabelsCodec.decode($0, key: MetricKey.labels(ref.id)) }
        }
    }

    func aggregateSeriesBlocking(_ matchers: [LabelMatcher], from: Int64, to: Int64) throws -> SeriesAggregates {
        let from = max(from, retentionCutoff())
        guard from <= to else { return SeriesAggregates() }
        // Ids and head copies (CoW: a retain each) under the lock; everything else outside it.
        let (ids, memory): ([UInt64], [SeriesMemory]) = try state.withLock { s in
            try ensureOpen(s, "query")
            let ids = s.index.matching(matchers)
            return (ids, ids.map { SeriesMemory(s.heads[Int($0) - 1]) })
        }
        var refs: [SeriesRef] = []
        var aggregates: [WindowAggregate] = []
        refs.reserveCapacity(ids.count)
        aggregates.reserveCapacity(ids.count)
        // One iterator over every `C` key, sought per series that needs stored chunks (creating an
        // iterator per series costs more than the seek).
        var chunks: RocksIterator?
        var stepping = Stepping()
        for (id, m) in zip(ids, memory) {
            var agg: WindowAggregate?
            // Stored chunks hold only samples before what memory holds, and none at all in a clean
            // partition of memory's (see `SeriesMemory`): a window inside it needs no seek.
            let limit = min(to, m.chunkLimit &- 1)
            if from <= limit && m.chunksMayReach(from) {
                if chunks == nil { chunks = try db.makeIterator(lower: [MetricKey.chunkPrefix], upper: [MetricKey.chunkPrefix + 1]) }
                try Self.aggregateChunks(chunks!, id: id, from: from, to: limit, into: &agg, stepping: &stepping)
            }
            if let sealed = m.sealed, sealed.maxT >= from, sealed.minT <= to {
                if sealed.minT >= from && sealed.maxT <= to, let whole = sealed.aggregate {
                    Self.merge(whole, into: &agg)
                } else {
                    try Self.aggregatePoints(of: try sealed.chunk(), from: from, to: to, into: &agg)
                }
            }
            if let head = m.head, head.count > 0, head.maxT >= from, head.minT <= to {
                if head.minT >= from && head.maxT <= to, let whole = head.aggregate {
                    Self.merge(whole, into: &agg)
                } else {
                    try Self.aggregatePoints(of: try Chunk(head.bytes()), from: from, to: to, into: &agg)
                }
            }
            if let agg {
                refs.append(SeriesRef(id: id))
                aggregates.append(agg)
            }
        }
        try chunks?.checkStatus()
        return SeriesAggregates(refs: refs, aggregates: aggregates)
    }

    /// Merges the stored chunks of `id` that hold samples in `[from, to]`, in time order: a chunk
    /// inside the range by its header, one straddling an end by its points inside.
    /// How stepping forward (instead of seeking) fared in one pass.
    struct Stepping {
        /// Targets in a row that stepping did not reach.
        var shortfalls = 0
    }

    private static func aggregateChunks(_ it: RocksIterator, id: UInt64, from: Int64, to: Int64, into agg: inout WindowAggregate?,
                                        stepping: inout Stepping) throws {
        let prefix = MetricKey.chunksPrefix(id)
        // Series come in ascending id order, so their chunk keys ascend: a target a few keys ahead
        // (neighbouring series with few chunks, as after an hour boundary in a young store) is
        // stepped to; once stepping keeps falling short (long histories between the series) the
        // pass only seeks.
        if it.seek(forwardTo: MetricKey.chunk(id, maxT: from), maxSteps: stepping.shortfalls < 64 ? 16 : 0) {
            stepping.shortfalls = 0
        } else {
            stepping.shortfalls += 1
        }
        while it.isValid {
            let key = it.key
            guard key.count >= prefix.count, key[..<prefix.count].elementsEqual(prefix) else { break }
            let chunk = try Chunk(it.value)
            let h = chunk.header
            guard h.minT <= to else { break }
            if h.count > 0 {
                if h.minT >= from && h.maxT <= to {
                    merge(h.aggregate, into: &agg)
                } else {
                    try aggregatePoints(of: chunk, from: from, to: to, into: &agg)
                }
            }
            it.next()
        }
    }

    private static func aggregatePoints(of chunk: Chunk, from: Int64, to: Int64, into agg: inout WindowAggregate?) throws {
        var a = agg
        try chunk.forEach { t, v in
            guard t >= from && t <= to else { return }
            if a == nil { a = WindowAggregate(v) } else { a!.add(v) }
        }
        agg = a
    }

    @inline(__always)
    private static func merge(_ later: WindowAggregate, into agg: inout WindowAggregate?) {
        if agg == nil { agg = later } else { agg!.merge(later) }
    }
}
