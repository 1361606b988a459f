import CPrefetch
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

    /// Adds series `id` to the index and heads, and its `I` key and the id counter to RocksDB (not
    /// synced: the WAL series record or the next checkpoint makes them durable). No `S`/`P` keys:
    /// nothing reads them (see `seriesRefs(for:)`).
    func persistNewSeries(_ s: inout EngineState, id: UInt64, canonical: [UInt8], labels: Labels) throws {
        let batch = RocksWriteBatch()
        batch.put(MetricKey.labels(id), canonical)
        s.nextID = max(s.nextID, id + 1)
        batch.put(MetricKey.nextSeriesID, BigEndian.bytes(s.nextID))
        try db.write(batch, sync: false)
        s.index.insert(id: id, canonical: canonical, labels: labels)
        while s.heads.count < Int(id) { s.heads.append(HeadSeries()) }
    }

    // MARK: Append

    public func append(_ batch: SampleBatch) throws -> WriteReport {
        let (report, ticket) = try appendDeferringSync(batch)
        if ticket.logOffset > 0 { try wal.sync(through: ticket.logOffset) }
        return report
    }

    /// Applies the batch (heads, WAL write) and returns before the fsync; `waitDurable` waits for it.
    public func appendDeferringSync(_ batch: SampleBatch) throws -> (WriteReport, DurabilityTicket) {
        guard !batch.isEmpty else { return (WriteReport(), .durable) }
        quiet.noteAppend()
        let cutoff = retentionCutoff()
        let (report, offset, walGrowth, sealing, newest) = try state.withLock { s throws -> (WriteReport, Int, Int, Bool, Int64) in
            try ensureOpen(s, "append to")
            var lastChecked: UInt64 = 0
            for ref in batch.refs where ref.id != lastChecked {
                guard s.index.contains(ref.id) else {
                    throw MetricsError.invalidSample("series ref \(ref.id)", reason: "this store did not hand out that series reference")
                }
                lastChecked = ref.id
            }
            var report = WriteReport()
            var ctx = IngestContext()
            // The accepted samples: the batch itself until a sample is refused, then copies.
            let filtered = filterAccepted(batch, cutoff: cutoff, &s, &report)
            let ids = filtered ? s.acceptedIDs : [], ts = filtered ? s.acceptedTimestamps : batch.timestamps
            let vs = filtered ? s.acceptedValues : batch.values
            report.accepted = filtered ? ids.count : batch.count
            guard report.accepted > 0 else { return (report, 0, 0, false, .max) }
            // Before anything of the batch is logged or stored, so the mark never misses a sample.
            try noteAccepted(oldest: ts.min()!, &s)
            let newest = ts.max()!
            s.dataClock = max(s.dataClock, newest)
            if filtered {
                try acceptAll(ids, ts, vs, &s, &ctx)
            } else {
                try batch.refs.withUnsafeBufferPointer { refs in
                    try refs.withMemoryRebound(to: UInt64.self) { try acceptAll($0, ts, vs, &s, &ctx) }
                }
            }
            let offset: Int
            if !filtered, let prepared = batch.preparedLog {
                // Encoded by the producer off this lock (`SampleBatch.prepareLog`).
                offset = try prepared.bytes.withUnsafeBytes { try wal.append(UnsafeRawBufferPointer(rebasing: $0[..<prepared.length]), crc: prepared.crc) }
            } else {
                let used = ts.withUnsafeBufferPointer { t in
                    vs.withUnsafeBufferPointer { v in
                        if filtered {
                            return ids.withUnsafeBufferPointer {
                                WALRecord.encodeSamples(ids: $0, timestamps: t, values: v, into: &s.walBuffer, scratch: &s.walScratch)
                            }
                        }
                        return batch.refs.withUnsafeBufferPointer { refs in
                            refs.withMemoryRebound(to: UInt64.self) {
                                WALRecord.encodeSamples(ids: $0, timestamps: t, values: v, into: &s.walBuffer, scratch: &s.walScratch)
                            }
                        }
                    }
                }
                offset = try s.walBuffer.withUnsafeBytes { try wal.append(UnsafeRawBufferPointer(rebasing: $0[..<used])) }
                if s.walBuffer.count > 8 << 20 { s.walBuffer = [] }
                if s.walScratch.count > 1 << 20 { s.walScratch = [] }
            }
            try finish(&ctx, &s)
            return (report, offset, offset - s.walBytesAtCheckpoint, s.seals.hasWork(clock: s.dataClock), newest)
        }
        // Late batches mean a backlog, which background work then yields to (`IngestQuiet`).
        quiet.noteNewest(newest, wallNow: Self.wallClock())
        if walGrowth > options.checkpointWALBytes { scheduleCheckpoint() }
        if sealing { scheduleSealing() }
        return (report, DurabilityTicket(logOffset: offset))
    }

    /// Suspends (holding no thread) until the WAL's group commit has fsync'd the ticket's offset.
    public func waitDurable(_ ticket: DurabilityTicket) async throws {
        guard ticket.logOffset > 0 else { return }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            wal.whenDurable(through: ticket.logOffset) { result in c.resume(with: result) }
        }
    }

    /// Calls `done` from the WAL's group-commit thread once the ticket's offset is fsync'd.
    public func whenDurable(_ ticket: DurabilityTicket, _ done: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        guard ticket.logOffset > 0 else { return done(.success(())) }
        wal.whenDurable(through: ticket.logOffset, done)
    }

    /// Checks every sample; returns false when all pass (nothing copied), else true with the
    /// accepted ones in `s.accepted*` and the refusals in `report`. A run of one series with
    /// rising times passes whole when its first sample does (the checks are thresholds on time).
    private func filterAccepted(_ batch: SampleBatch, cutoff: Int64, _ s: inout EngineState, _ report: inout WriteReport) -> Bool {
        var filtered = false
        // Where the heads lie, for prefetch hints only: this pass is the batch's first touch of
        // each head, and `acceptAll` then finds them in cache (a push is ~400 heads, ~100 KB).
        let heads = s.heads.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        batch.refs.withUnsafeBufferPointer { refs in
            batch.timestamps.withUnsafeBufferPointer { ts in
                batch.values.withUnsafeBufferPointer { vs in
                    let n = refs.count
                    var i = 0
                    while i < n {
                        if let heads, i + Self.prefetchDistance < n {
                            Self.prefetchHead(heads, id: refs[i + Self.prefetchDistance].id)
                        }
                        let id = refs[i].id
                        var j = i + 1
                        while j < n && refs[j].id == id && ts[j] > ts[j - 1] { j += 1 }
                        if check(id, ts[i], cutoff: cutoff, &s) == nil {
                            if filtered { for k in i..<j { keep(id, ts[k], vs[k], &s) } }
                        } else {
                            if !filtered {
                                filtered = true
                                s.acceptedIDs.removeAll(keepingCapacity: true)
                                s.acceptedTimestamps.removeAll(keepingCapacity: true)
                                s.acceptedValues.removeAll(keepingCapacity: true)
                                for k in 0..<i { keep(refs[k].id, ts[k], vs[k], &s) }
                            }
                            for k in i..<j {
                                if let reason = check(id, ts[k], cutoff: cutoff, &s) {
                                    report.rejected.append(rejection(id, ts[k], vs[k], reason, cutoff: cutoff, &s))
                                } else {
                                    keep(id, ts[k], vs[k], &s)
                                }
                            }
                        }
                        i = j
                    }
                }
            }
        }
        return filtered
    }

    @inline(__always)
    private func keep(_ id: UInt64, _ t: Int64, _ v: Double, _ s: inout EngineState) {
        s.acceptedIDs.append(id)
        s.acceptedTimestamps.append(t)
        s.acceptedValues.append(v)
    }

    /// Puts accepted samples into the heads. A run of one series that extends its head within the
    /// head's hour and size appends in a tight loop (one lookup, the builder hot in cache); every
    /// other sample goes through `accept`.
    private func acceptAll<IDs: RandomAccessCollection<UInt64>>(
        _ ids: IDs, _ ts: [Int64], _ vs: [Double], _ s: inout EngineState, _ ctx: inout IngestContext
    ) throws where IDs.Index == Int {
        let n = ts.count
        let maxSamples = options.maxChunkSamples
        try ts.withUnsafeBufferPointer { ts in
            try vs.withUnsafeBufferPointer { vs in
                var i = 0
                let offsets = Self.appendPrefetchOffsets
                while i < n {
                    if i + Self.bufferPrefetchDistance < n {
                        let ahead = ids[i + Self.bufferPrefetchDistance]
                        s.heads.withUnsafeBufferPointer { Self.prefetchAppend($0, id: ahead, offsets) }
                    }
                    let id = ids[i]
                    let slot = Int(id) - 1
                    var k = i
                    if s.heads[slot].newest != .min, let maxT = s.heads[slot].builder?.maxT {
                        let partitionEnd = MetricKey.partition(maxT)
                        var last = maxT
                        var room = maxSamples - s.heads[slot].builder!.count
                        // Past it (and with enough samples) `accept` cuts the head.
                        let cutAfter = intervalCutTime(id, minT: s.heads[slot].builder!.minT)
                        let cutRoom = maxSamples - Self.minIntervalCutSamples
                        // Never bind the builder to a local: a second reference makes each append copy it.
                        while k < n && room > 0 && ids[k] == id {
                            let t = ts[k]
                            guard t > last && t <= partitionEnd && (t <= cutAfter || room > cutRoom) else { break }
                            s.heads[slot].builder!.append(t, vs[k])
                            last = t
                            room -= 1
                            k += 1
                        }
                        if k > i, last > s.heads[slot].newest { s.heads[slot].newest = last }
                    }
                    if k == i {
                        try accept(id, ts[i], vs[i], &s, &ctx)
                        k = i + 1
                    }
                    i = k
                }
            }
        }
    }

    /// How many samples ahead `filterAccepted` prefetches a head. An agent's push holds one sample per
    /// series, so consecutive samples touch heads far apart in a ~1 GB array (at 4 M series) and
    /// each append used to wait for memory; ~10 appends is about as long as a fetch takes.
    static let prefetchDistance = 8

    /// Hints the CPU to fetch series `id`'s `HeadSeries` (a few cache lines) before its append.
    @inline(__always)
    static func prefetchHead(_ heads: UnsafeRawPointer, id: UInt64) {
        let start = heads + (Int(truncatingIfNeeded: id) &- 1) &* MemoryLayout<HeadSeries>.stride
        var offset = 0
        while offset < MemoryLayout<HeadSeries>.stride {
            stratus_prefetch_for_write(start + offset)
            offset += 64
        }
    }

    /// How many samples ahead `acceptAll` prefetches the values buffer an append writes. The heads
    /// are in cache by then (`filterAccepted` touched them); the buffers are not.
    static let bufferPrefetchDistance = 6

    /// Hints the CPU to fetch what the next append to series `id`'s head writes (see
    /// `ChunkBuilder.prefetchForAppend`); reads only the head, which must be in `heads`.
    @inline(__always)
    static func prefetchAppend(_ heads: UnsafeBufferPointer<HeadSeries>, id: UInt64, _ offsets: AppendPrefetchOffsets) {
        let slot = Int(truncatingIfNeeded: id) &- 1
        guard slot >= 0, slot < heads.count, let base = heads.baseAddress else { return }
        ChunkBuilder.prefetchForAppend(at: UnsafeRawPointer(base + slot) + offsets.builder, offsets: offsets.inBuilder)
    }

    /// Where a `HeadSeries` holds its builder (an optional's payload starts at its own offset 0),
    /// and where the builder holds what `ChunkBuilder.prefetchForAppend` reads.
    struct AppendPrefetchOffsets {
        var builder: Int
        var inBuilder: (values: Int, open: Int)
    }
    static let appendPrefetchOffsets = AppendPrefetchOffsets(builder: MemoryLayout<HeadSeries>.offset(of: \HeadSeries.builder)!,
                                                             inBuilder: ChunkBuilder.appendPrefetchOffsets)

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

    /// Keeps `M oldest_sample` at or below every stored sample: lowered, with a synced write, when
    /// `oldest` is older (rare: the first sample, a backfill); also tracked while a retention pass
    /// runs, which must not raise the mark above a sample written behind its back.
    func noteAccepted(oldest: Int64, _ s: inout EngineState) throws {
        if let during = s.acceptedDuringRetention, oldest < during { s.acceptedDuringRetention = oldest }
        guard oldest < s.oldestSample else { return }
        try db.put(MetricKey.oldestSample, BigEndian.bytes(UInt64(bitPattern: oldest)), sync: true)
        s.oldestSample = oldest
        // Older than the last pass's cutoff: the next `maintain` runs retention even at the same cutoff.
        if oldest < s.lastRetentionCutoff { s.lastRetentionCutoff = .min }
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
        if let maxT = s.heads[slot].builder?.maxT {
            if t > maxT {
                // Never bind the builder to a local on the append path: a second reference makes the
                // in-place append copy its buffers (copy-on-write) for every sample.
                if MetricKey.partition(t) != MetricKey.partition(maxT) {
                    // An hour boundary: sealed (a pointer move), written later by the sealing thread.
                    let b = s.heads[slot].builder.take()!
                    seal(id, b, clean: s.heads[slot].partitionClean, &s, &ctx)
                    startHead(slot, t, v, &s)
                    // A new partition holds no stored chunk (none is newer than a head).
                    s.heads[slot].partitionClean = true
                } else if s.heads[slot].builder!.count >= options.maxChunkSamples {
                    // A split inside the partition leaves a stored chunk in it.
                    dropSealed(id, &s, &ctx)
                    let b = s.heads[slot].builder.take()!
                    cut(id, b, &s, &ctx)
                    startHead(slot, t, v, &s)
                } else if s.heads[slot].builder!.count >= Self.minIntervalCutSamples,
                          t > intervalCutTime(id, minT: s.heads[slot].builder!.minT),
                          !s.heads[slot].sealedUnwritten {
                    // The series' own cut time (`headCutInterval`): written with this batch and kept
                    // in memory for the hold (`sealCut`). Its hour is still open: the write of its
                    // last head there queues the hour's rollups. A series whose previous hour's
                    // sealed head is still unwritten cuts once the sealing thread has written it
                    // (writing it here would land the old hour's writes in the ingest bursts).
                    let b = s.heads[slot].builder.take()!
                    sealCut(id, b, clean: s.heads[slot].partitionClean, &s, &ctx)
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
            // Every stored chunk ends at or before `newest` (-1 for a series never stored): when that
            // is before this partition, reads inside it need the head alone (no RocksDB seek).
            s.heads[slot].partitionClean = s.heads[slot].newest <= MetricKey.partition(t) - MetricKey.partitionLength
        } else {
            ctx.older[id, default: []].append(Point(timestamp: t, value: v))
        }
        if t > s.heads[slot].newest { s.heads[slot].newest = t }
    }

    /// A head needs at least this many samples before its interval cut (`headCutInterval`): a
    /// series sampled every minute or slower then keeps one chunk per hour.
    static let minIntervalCutSamples = 60

    /// The time after which series `id`'s head starting at `minT` is cut (`headCutInterval`): the
    /// first of the series' cut times (every interval, at a phase from its id) at least half an
    /// interval after `minT`; `.max` when interval cuts are off, or when that time falls in the
    /// last `sealedHold` of the head's hour (the head then runs to the hour's end: a cut sealed
    /// there would still be held when the hour's own seal comes, and be written in that round).
    @inline(__always)
    func intervalCutTime(_ id: UInt64, minT: Int64) -> Int64 {
        let interval = options.headCutInterval
        guard interval > 0 else { return .max }
        let phase = Int64((id &* 0x9E37_79B9_7F4A_7C15) >> 33) % interval
        let earliest = minT + interval / 2
        // The first t ≡ phase (mod interval) at or after `earliest` (floor division: times may be negative).
        let r = ((earliest - phase) % interval + interval) % interval
        let cut = r == 0 ? earliest : earliest + interval - r
        return cut >= MetricKey.partition(minT) - options.sealedHold ? .max : cut
    }

    private func startHead(_ slot: Int, _ t: Int64, _ v: Double, _ s: inout EngineState) {
        var b = ChunkBuilder()
        b.append(t, v)
        s.heads[slot].builder = b
        s.heads[slot].partitionClean = false
        s.headOpened(partition: MetricKey.partition(t))
    }

    /// Queues head `b` of series `id` as a closed chunk (`C` + `Q`) and empties the head.
    ///
    /// If the process dies before the next checkpoint, recovery drops the head the last snapshot
    /// saved (a stored chunk covers it) or, when the chunk was not written yet, loads it and the
    /// WAL replay cuts it again into the same `C` key.
    func cut(_ id: UInt64, _ b: ChunkBuilder, _ s: inout EngineState, _ ctx: inout IngestContext) {
        let partition = MetricKey.partition(b.maxT)
        ctx.chunkPuts.append((MetricKey.chunk(id, maxT: b.maxT), b.bytes()))
        ctx.queueKeys.append(MetricKey.queue(hour: partition, id: id))
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
            dropSealed(id, &s, &ctx)
            s.heads[slot].partitionClean = false
            let maxT = first[first.count - 1].timestamp
            ctx.chunkPuts.append((MetricKey.chunk(id, maxT: maxT), ChunkCodec.encode(first)))
            ctx.queueKeys.append(MetricKey.queue(hour: MetricKey.partition(maxT), id: id))
        }
    }

    /// Writes the batch's cuts, then merges the samples older than their heads into the stored
    /// chunks (a series' sealed head is written with the cuts first, so the merge sees it).
    func finish(_ ctx: inout IngestContext, _ s: inout EngineState) throws {
        for id in ctx.older.keys { dropSealed(id, &s, &ctx) }
        if let batch = ctx.writeBatch() { try db.write(batch, sync: false) }
        for (id, points) in ctx.older {
            s.heads[Int(id) - 1].partitionClean = false
            try mergeIntoChunks(id, points)
        }
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
            batch.put(MetricKey.queue(hour: end, id: id), RollupKeys.queueStamp())
        }
        try db.write(batch, sync: false)
    }
}

/// What one batch leaves to do after its samples went through the heads.
struct IngestContext {
    /// Closed chunks (cuts, splits) to write, in the order made.
    var chunkPuts: [(key: [UInt8], value: [UInt8])] = []
    /// Rollup queue entries of those chunks.
    var queueKeys: [[UInt8]] = []

    /// One write batch with the chunks, then the queue entries: grouped
    /// by key kind, so RocksDB's memtable inserts mostly ascend (far cheaper than interleaved).
    /// Keys of different kinds never collide, so the grouping keeps every key's last write. Nil when empty.
    func writeBatch() -> RocksWriteBatch? {
        guard !chunkPuts.isEmpty || !queueKeys.isEmpty else { return nil }
        let batch = RocksWriteBatch()
        for (k, v) in chunkPuts { batch.put(k, v) }
        for k in queueKeys { batch.put(k, RollupKeys.queueStamp()) }
        return batch
    }
    /// Samples older than their series' head, per series, in arrival order.
    var older: [UInt64: [Point]] = [:]
}
