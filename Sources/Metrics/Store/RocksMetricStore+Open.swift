import Foundation

// Opening: directories, format, the index and heads from RocksDB, then the WAL replay.
extension RocksMetricStore {
    static func prepareDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw MetricsError.storage(operation: "create directory \(path)", message: "\(error)")
        }
    }

    /// RocksDB with the TSDB's configuration (compression on; see the wrapper for codecs).
    static func openDB(_ path: String) throws -> RocksDB {
        try RocksDB(path: path, configuration: RocksDBConfiguration(createIfMissing: true, blockCacheBytes: 32 << 20, compress: true))
    }

    static func checkFormat(_ db: RocksDB) throws {
        guard let stored = try db.get(MetricKey.format) else {
            // A new store holds nothing: retention has nothing to do until a sample lowers the mark.
            let batch = RocksWriteBatch()
            batch.put(MetricKey.oldestSample, BigEndian.bytes(UInt64(bitPattern: Int64.max)))
            batch.put(MetricKey.format, [MetricKey.formatVersion])
            try db.write(batch, sync: true)
            return
        }
        guard stored == [MetricKey.formatVersion] else {
            throw MetricsError.corrupt(
                key: "M format in \(db.path)",
                reason: "the store has format \(stored); this build reads format \(MetricKey.formatVersion) — use a matching Stratus version or a new data directory")
        }
    }

    static func readCheckpoint(_ db: RocksDB) throws -> UInt64 {
        guard let bytes = try db.get(MetricKey.checkpoint) else { return 0 }
        guard bytes.count == 8 else {
            throw MetricsError.corrupt(key: "M checkpoint", reason: "expected an 8-byte WAL segment number, found \(bytes.count) bytes")
        }
        return BigEndian.uint64(bytes[...])
    }

    /// `M oldest_sample`; `Int64.min` (unknown: the next retention pass scans every series) when absent.
    static func readOldestSample(_ db: RocksDB) throws -> Int64 {
        guard let bytes = try db.get(MetricKey.oldestSample) else { return .min }
        guard bytes.count == 8 else {
            throw MetricsError.corrupt(key: "M oldest_sample", reason: "expected an 8-byte timestamp, found \(bytes.count) bytes")
        }
        return Int64(bitPattern: BigEndian.uint64(bytes[...]))
    }

    /// The series index from the `I` keys and the heads from the snapshot of checkpoint `segment`
    /// (`HeadSnapshot`), or from the `H` keys of a store written before snapshots (`legacyHeads`:
    /// the caller checkpoints and then deletes them). A head that a stored chunk already covers (a
    /// checkpoint raced a cut) is dropped: the chunk has its samples. A sealed head the snapshot
    /// saved is written as its chunk (and `Q` entry) unless a stored chunk covers it already (the
    /// sealing thread wrote it after the checkpoint, or an out-of-order merge replaced it).
    static func recoverIndexAndHeads(db: RocksDB, path: String, segment: UInt64) throws -> (state: EngineState, legacyHeads: Bool) {
        var s = EngineState()
        s.oldestSample = try readOldestSample(db)
        try db.scan(prefix: [MetricKey.labelsPrefix]) { key, value in
            let id = try MetricKey.idOfLabelsKey(key)
            s.index.insert(id: id, canonical: value, labels: try LabelsCodec.decode(value, key: key))
            return true
        }
        s.heads = Array(repeating: HeadSeries(), count: Int(s.index.maxID))
        var nextID = s.index.maxID + 1
        if let bytes = try db.get(MetricKey.nextSeriesID), bytes.count == 8 { nextID = max(nextID, BigEndian.uint64(bytes[...])) }
        s.nextID = nextID
        /// Series `id`'s stored chunks from `from` on: whether one ends at or after `t` (it
        /// covers a head starting at `t`), and whether one ends before it.
        func storedChunk(_ id: UInt64, from: Int64, endingAtOrAfter t: Int64) throws -> (covering: Bool, earlier: Bool) {
            let it = try db.makeIterator(lower: MetricKey.chunk(id, maxT: from), upper: RocksDB.successor(ofPrefix: MetricKey.chunksPrefix(id)))
            it.seekToFirst()
            var earlier = false
            while it.isValid {
                if MetricKey.maxTOfChunkKey(it.key) >= t { return (true, earlier) }
                earlier = true
                it.next()
            }
            try it.checkStatus()
            return (false, earlier)
        }
        /// Installs head `bytes` of series `id` unless stale; `sealedIn`: the partition of the
        /// sealed chunk just restored for it (not in RocksDB yet).
        func restoreHead(_ id: UInt64, _ bytes: [UInt8], sealedIn: Int64?) throws {
            guard s.index.contains(id) else { return }
            let builder = try ChunkBuilder(reopening: bytes)
            guard builder.count > 0 else { return }
            // Chunks from the start of the head's partition on: one ending at or after the head's
            // first sample makes the head stale; one before it makes the partition unclean.
            let partition = MetricKey.partition(builder.maxT)
            let partitionStart = partition - MetricKey.partitionLength
            let found = try storedChunk(id, from: min(partitionStart + 1, builder.minT), endingAtOrAfter: builder.minT)
            guard !found.covering else { return }
            let clean = !found.earlier && sealedIn != partition
            s.heads[Int(id) - 1] = HeadSeries(builder: builder, newest: builder.maxT, partitionClean: clean)
            s.headOpened(partition: partition)
        }
        var legacy = false
        try db.scan(prefix: [MetricKey.headPrefix]) { key, value in
            guard key.count == 9 else { throw MetricsError.corrupt(key: MetricKey.hex(key), reason: "a head key is 'H' + 8-byte id") }
            legacy = true
            try restoreHead(BigEndian.uint64(key[1...]), value, sealedIn: nil)
            return true
        }
        let batch = RocksWriteBatch()
        var batched = 0
        var lastSealed: (id: UInt64, partition: Int64)?
        _ = try HeadSnapshot.read(path, segment: segment) { kind, id, bytes in
            switch kind {
            case .head:
                try restoreHead(id, bytes, sealedIn: lastSealed?.id == id ? lastSealed?.partition : nil)
            case .sealed, .sealedQueued:
                guard s.index.contains(id) else { return }
                let chunk = try Chunk(bytes)
                guard chunk.header.count > 0, try !storedChunk(id, from: chunk.header.minT, endingAtOrAfter: chunk.header.minT).covering else { return }
                let partition = MetricKey.partition(chunk.header.maxT)
                batch.put(MetricKey.chunk(id, maxT: chunk.header.maxT), chunk.encoded)
                if kind == .sealedQueued { batch.put(MetricKey.queue(hour: partition, id: id), RollupKeys.queueStamp()) }
                lastSealed = (id, partition)
                batched += 1
                if batched >= 4_096 {
                    try db.write(batch, sync: false)
                    batch.clear()
                    batched = 0
                }
            case .end:
                break
            }
        }
        if batched > 0 { try db.write(batch, sync: false) }
        return (s, legacy)
    }

    /// Deletes every `H` key (heads of a store from before snapshots, once a snapshot holds them).
    func deleteLegacyHeads() throws {
        var keys: [[UInt8]] = []
        try db.scan(prefix: [MetricKey.headPrefix]) { key, _ in
            keys.append(key)
            return true
        }
        for slice in stride(from: 0, to: keys.count, by: 4_096) {
            let batch = RocksWriteBatch()
            for key in keys[slice..<min(keys.count, slice + 4_096)] { batch.delete(key) }
            try db.write(batch, sync: false)
        }
    }

    /// Replays WAL `segments` in order (series records first re-create lost index entries).
    /// A torn or corrupt record ends its segment, which is cut there. Returns whether anything was replayed.
    func replayWAL(segments: [UInt64], directory: String) throws -> Bool {
        var any = false
        for segment in segments {
            let file = WriteAheadLog.segmentPath(directory, segment)
            try WALReader.read(file, truncate: true) { payload in
                any = true
                var ids: [UInt64] = [], ts: [Int64] = [], vs: [Double] = []
                let decoded = try WALRecord.decode(payload, location: file) { id, t, v in
                    ids.append(id); ts.append(t); vs.append(v)
                }
                switch decoded {
                case let .series(id, canonical):
                    let labels = try LabelsCodec.decode(canonical, key: MetricKey.labels(id))
                    try state.withLock { s in
                        guard !s.index.contains(id) else { return }
                        try persistNewSeries(&s, id: id, canonical: canonical, labels: labels)
                    }
                case .samples:
                    try state.withLock { s in
                        // Normally noted before the record was logged; a sample that retention
                        // removed meanwhile comes back here and must be seen by the next pass.
                        if let oldest = ts.min() { try noteAccepted(oldest: oldest, &s) }
                        if let newest = ts.max() { s.dataClock = max(s.dataClock, newest) }
                        var ctx = IngestContext()
                        for i in ids.indices where s.index.contains(ids[i]) {
                            try accept(ids[i], ts[i], vs[i], &s, &ctx)
                        }
                        try finish(&ctx, &s)
                    }
                }
            }
        }
        return any
    }
}
