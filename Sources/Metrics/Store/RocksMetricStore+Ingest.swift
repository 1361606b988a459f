// The ingest path: series refs, the per-sample checks, heads, and the WAL record of each batch.
extension RocksMetricStore {
    /// Throws `MetricsError.invalidSample` naming the label and the limit it breaks.
    func validateLimits(_ labels: Labels) throws {
        if labels.pairs.count > options.maxLabelsPerSeries {
            throw MetricsError.invalidSample(labels.description, reason: "the series has \(labels.pairs.count) labels; the limit is maxLabelsPerSeries = \(options.maxLabelsPerSeries)")
        }
        for p in labels.pairs {
            if p.name.utf8.count > options.maxLabelNameLength {
                throw MetricsError.invalidSample(labels.description, reason: "label name '\(p.name.prefix(40))…' is \(p.name.utf8.count) bytes; the limit is maxLabelNameLength = \(options.maxLabelNameLength)")
            }
            if p.value.utf8.count > options.maxLabelValueLength {
                throw MetricsError.invalidSample(labels.description.prefix(200) + "…", reason: "the value of label '\(p.name)' is \(p.value.utf8.count) bytes; the limit is maxLabelValueLength = \(options.maxLabelValueLength)")
            }
        }
    }

    // MARK: Series

    public func seriesRef(for labels: Labels) throws -> SeriesRef {
        try SampleValidator.validate(Sample(labels: labels, timestamp: 0, value: 0))
        try validateLimits(labels)
        let canonical = LabelsCodec.encode(labels)
        let (id, reachedLimit) = try resolve(canonical, labels)
        guard let id else {
            throw MetricsError.invalidSample(labels.description, reason: "the store holds \(reachedLimit) series, the limit (maxSeries = \(options.maxSeries)); raise it or drop series")
        }
        return SeriesRef(id: id)
    }

    /// The id of `labels`, created (index, RocksDB, WAL series record) when new; nil at the series limit.
    func resolve(_ canonical: [UInt8], _ labels: Labels) throws -> (UInt64?, Int) {
        try state.withLock { s in
            try ensureOpen(s, "use")
            if let id = s.index.id(of: canonical) { return (id, 0) }
            guard s.index.count < options.maxSeries else { return (nil, s.index.count) }
            let id = s.nextID
            try wal.append(WALRecord.series(id: id, labels: canonical))
            try persistNewSeries(&s, id: id, canonical: canonical, labels: labels)
            return (id, 0)
        }
    }

    /// Adds series `id` to the index and heads, and its `S`/`I`/`P` keys and the id counter to
    /// RocksDB (not synced: the WAL series record or the next checkpoint makes them durable).
    func persistNewSeries(_ s: inout EngineState, id: UInt64, canonical: [UInt8], labels: Labels) throws {
        let batch = RocksWriteBatch()
        batch.put([MetricKey.seriesPrefix] + canonical, BigEndian.bytes(id))
        batch.put(MetricKey.labels(id), canonical)
        for p in labels.pairs { batch.put(MetricKey.posting(name: p.name, value: p.value, id: id), []) }
        s.nextID = max(s.nextID, id + 1)
        batch.put(MetricKey.nextSeriesID, BigEndian.bytes(s.nextID))
        try db.write(batch, sync: false)
        s.index.insert(id: id, canonical: canonical, labels: labels)
        while s.heads.count < Int(id) { s.heads.append(HeadSeries()) }
    }

    // MARK: Append

    public func append(_ batch: SampleBatch) throws -> WriteReport {
        guard !batch.isEmpty else { return WriteReport() }
        let cutoff = retentionCutoff()
        let (report, offset, walGrowth) = try state.withLock { s throws -> (WriteReport, Int, Int) in
            try ensureOpen(s, "append to")
            for ref in batch.refs where !s.index.contains(ref.id) {
                throw MetricsError.invalidSample("series ref \(ref.id)", reason: "this store did not hand out that series reference")
            }
            var report = WriteReport()
            var ctx = IngestContext()
            s.acceptedIDs.removeAll(keepingCapacity: true)
            s.acceptedTimestamps.removeAll(keepingCapacity: true)
            s.acceptedValues.removeAll(keepingCapacity: true)
            batch.refs.withUnsafeBufferPointer { refs in
                batch.timestamps.withUnsafeBufferPointer { ts in
                    batch.values.withUnsafeBufferPointer { vs in
                        for i in 0..<refs.count {
                            let id = refs[i].id, t = ts[i], v = vs[i]
                            if let reason = check(id, t, cutoff: cutoff, &s) {
                                report.rejected.append(rejection(id, t, v, reason, cutoff: cutoff, &s))
                                continue
                            }
                            s.acceptedIDs.append(id)
                            s.acceptedTimestamps.append(t)
                            s.acceptedValues.append(v)
                        }
                    }
                }
            }
            report.accepted = s.acceptedIDs.count
            guard report.accepted > 0 else { return (report, 0, 0) }
            for i in 0..<s.acceptedIDs.count {
                try accept(s.acceptedIDs[i], s.acceptedTimestamps[i], s.acceptedValues[i], &s, &ctx)
            }
            WALRecord.samples(ids: s.acceptedIDs, timestamps: s.acceptedTimestamps, values: s.acceptedValues, into: &s.walBuffer)
            let offset = try wal.append(s.walBuffer)
            if s.walBuffer.capacity > 1 << 20 { s.walBuffer = [] }
            try finish(&ctx, &s)
            return (report, offset, offset - s.walBytesAtCheckpoint)
        }
        if offset > 0 { try wal.sync(through: offset) }
        if walGrowth > options.checkpointWALBytes { try checkpoint() }
        return report
    }

    /// Resolves (creating) every sample's series, refusing new series past the limit, then appends.
    func writeBlocking(_ samples: [Sample]) throws -> WriteReport {
        var refs: [Labels: UInt64?] = [:]
        var report = WriteReport()
        var batch = SampleBatch(capacity: samples.count)
        for s in samples {
            let id: UInt64?
            if let known = refs[s.labels] {
                id = known
            } else {
                id = try resolve(LabelsCodec.encode(s.labels), s.labels).0
                refs[s.labels] = id
            }
            guard let id else {
                report.rejected.append(SampleRejection(
                    sample: s, reason: .seriesLimit,
                    message: "series \(s.labels) at \(s.timestamp) was not stored: the store already holds maxSeries = \(options.maxSeries) series"))
                state.withLock { $0.rejected[.seriesLimit, default: 0] += 1 }
                continue
            }
            batch.append(SeriesRef(id: id), s.timestamp, s.value)
        }
        report.merge(try append(batch))
        return report
    }

    // MARK: Per sample

    /// Why sample (id, t) cannot be stored, or nil. Looks the series' newest time up after a restart.
    @inline(__always)
    func check(_ id: UInt64, _ t: Int64, cutoff: Int64, _ s: inout EngineState) -> SampleRejection.Reason? {
        if t < cutoff { return .pastRetention }
        var newest = s.heads[Int(id) - 1].newest
        if newest == .min {
            newest = (try? lookUpNewest(id, near: t)) ?? -1
            s.heads[Int(id) - 1].newest = newest
        }
        return t <= newest &- options.outOfOrderWindow ? .tooOld : nil
    }

    func rejection(_ id: UInt64, _ t: Int64, _ v: Double, _ reason: SampleRejection.Reason, cutoff: Int64, _ s: inout EngineState) -> SampleRejection {
        s.rejected[reason, default: 0] += 1
        let labels = (try? s.index.labels(of: id)) ?? Labels([:])
        let message: String = switch reason {
        case .tooOld:
            "sample of \(labels) at \(t) is older than the out-of-order window: the series has samples up to \(s.heads[Int(id) - 1].newest) and outOfOrderWindow = \(options.outOfOrderWindow) ms"
        case .pastRetention:
            "sample of \(labels) at \(t) is older than the retention: the store keeps samples from \(cutoff) (retention = \(options.retention) ms)"
        case .seriesLimit:
            "series \(labels) was not stored: the store already holds maxSeries = \(options.maxSeries) series"
        }
        return SampleRejection(sample: Sample(labels: labels, timestamp: t, value: v), reason: reason, message: message)
    }

    /// The newest sample time of a series with no head in memory (after a restart), from its
    /// chunks with `maxT >= t - window`; -1 when there are none (every older sample is then older than t).
    func lookUpNewest(_ id: UInt64, near t: Int64) throws -> Int64 {
        let from = max(0, t &- options.outOfOrderWindow)
        var newest: Int64 = -1
        try db.scan(from: MetricKey.chunk(id, maxT: from), to: RocksDB.successor(ofPrefix: MetricKey.chunksPrefix(id))) { key, _ in
            newest = max(newest, MetricKey.maxTOfChunkKey(key))
            return true
        }
        return newest
    }

    /// Stores one accepted sample: in the head (append, cut, or rebuild for out-of-order inside it)
    /// or, when older than the head, queued in `ctx` for a merge into the stored chunks.
    @inline(__always)
    func accept(_ id: UInt64, _ t: Int64, _ v: Double, _ s: inout EngineState, _ ctx: inout IngestContext) throws {
        let slot = Int(id) - 1
        if s.heads[slot].newest == .min { s.heads[slot].newest = (try? lookUpNewest(id, near: t)) ?? -1 }
        s.heads[slot].dirty = true
        if let maxT = s.heads[slot].builder?.maxT {
            if t > maxT {
                // Never bind the builder to a local on the append path: a second reference makes the
                // in-place append copy its buffers (copy-on-write) for every sample.
                if MetricKey.partition(t) != MetricKey.partition(maxT) || s.heads[slot].builder!.count >= options.maxChunkSamples {
                    let b = s.heads[slot].builder.take()!
                    cut(id, b, &s, &ctx)
                    startHead(slot, t, v, &s)
                } else {
                    s.heads[slot].builder!.append(t, v)
                }
            } else if t >= s.heads[slot].builder!.minT {
                rebuildHead(id, with: t, v, &s, &ctx)
            } else {
                ctx.older[id, default: []].append(Point(timestamp: t, value: v))
            }
        } else if t > s.heads[slot].newest {
            startHead(slot, t, v, &s)
        } else {
            ctx.older[id, default: []].append(Point(timestamp: t, value: v))
        }
        if t > s.heads[slot].newest { s.heads[slot].newest = t }
    }

    private func startHead(_ slot: Int, _ t: Int64, _ v: Double, _ s: inout EngineState) {
        var b = ChunkBuilder()
        b.append(t, v)
        s.heads[slot].builder = b
        s.headOpened(partition: MetricKey.partition(t))
    }

    /// Queues head `b` of series `id` as a closed chunk (`C` + `Q`, and its `H` removed) and empties the head.
    func cut(_ id: UInt64, _ b: ChunkBuilder, _ s: inout EngineState, _ ctx: inout IngestContext) {
        let partition = MetricKey.partition(b.maxT)
        ctx.batch.put(MetricKey.chunk(id, maxT: b.maxT), b.bytes())
        ctx.batch.put(MetricKey.queue(hour: partition, id: id), [])
        ctx.batch.delete(MetricKey.head(id))
        s.heads[Int(id) - 1].builder = nil
        s.headClosed(partition: partition)
    }

    /// Re-encodes the head with (t, v) inserted or replacing the sample at t. A head that grows past
    /// `maxChunkSamples` this way is split: the first part becomes a closed chunk.
    private func rebuildHead(_ id: UInt64, with t: Int64, _ v: Double, _ s: inout EngineState, _ ctx: inout IngestContext) {
        let slot = Int(id) - 1
        let old = s.heads[slot].builder!
        // Chunk bytes this builder produced decode; a failure here is a codec bug.
        var points = (try? Chunk(old.bytes()).points()) ?? []
        var lo = 0, hi = points.count
        while lo < hi { let m = (lo + hi) / 2; if points[m].timestamp < t { lo = m + 1 } else { hi = m } }
        if lo < points.count && points[lo].timestamp == t {
            points[lo].value = v
        } else {
            points.insert(Point(timestamp: t, value: v), at: lo)
        }
        var first: [Point] = []
        if points.count > options.maxChunkSamples {
            first = Array(points[..<options.maxChunkSamples])
            points.removeFirst(options.maxChunkSamples)
        }
        var b = ChunkBuilder()
        for p in points { b.append(p.timestamp, p.value) }
        s.heads[slot].builder = b
        if !first.isEmpty {
            let maxT = first[first.count - 1].timestamp
            ctx.batch.put(MetricKey.chunk(id, maxT: maxT), ChunkCodec.encode(first))
            ctx.batch.put(MetricKey.queue(hour: MetricKey.partition(maxT), id: id), [])
        }
    }

    /// Writes the batch's cuts, then merges the samples older than their heads into the stored chunks.
    func finish(_ ctx: inout IngestContext, _ s: inout EngineState) throws {
        if ctx.batch.count > 0 { try db.write(ctx.batch, sync: false) }
        for (id, points) in ctx.older { try mergeIntoChunks(id, points) }
    }

    /// Merges `incoming` (arrival order; a later sample replaces an earlier one at the same time)
    /// into the stored chunks of their hour partitions: read, merge, rewrite, and queue the rollups.
    func mergeIntoChunks(_ id: UInt64, _ incoming: [Point]) throws {
        var byPartition: [Int64: [Point]] = [:]
        for p in incoming { byPartition[MetricKey.partition(p.timestamp), default: []].append(p) }
        let batch = RocksWriteBatch()
        for (end, points) in byPartition {
            var merged: [Int64: Double] = [:]
            let lower = MetricKey.chunk(id, maxT: end - MetricKey.partitionLength + 1)
            let upper = MetricKey.chunk(id, maxT: end + 1)
            try db.scan(from: lower, to: upper) { key, value in
                batch.delete(key)
                try Chunk(value).forEach { t, v in merged[t] = v }
                return true
            }
            for p in points { merged[p.timestamp] = p.value }
            let sorted = merged.sorted { $0.key < $1.key }.map { Point(timestamp: $0.key, value: $0.value) }
            var i = 0
            while i < sorted.count {
                let part = sorted[i..<min(i + options.maxChunkSamples, sorted.count)]
                batch.put(MetricKey.chunk(id, maxT: part.last!.timestamp), ChunkCodec.encode(part))
                i += part.count
            }
            batch.put(MetricKey.queue(hour: end, id: id), [])
        }
        try db.write(batch, sync: false)
    }
}

/// What one batch leaves to do after its samples went through the heads.
struct IngestContext {
    /// Closed chunks (cuts, splits) to write.
    let batch = RocksWriteBatch()
    /// Samples older than their series' head, per series, in arrival order.
    var older: [UInt64: [Point]] = [:]
}
