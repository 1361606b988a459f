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

    /// The series index from the `I` keys and the heads from the `H` keys. A head that a stored
    /// chunk already covers (a checkpoint raced a cut) is dropped: the chunk has its samples.
    static func recoverIndexAndHeads(db: RocksDB, options: TSDBOptions) throws -> EngineState {
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
        var stale: [UInt64] = []
        try db.scan(prefix: [MetricKey.headPrefix]) { key, value in
            guard key.count == 9 else { throw MetricsError.corrupt(key: MetricKey.hex(key), reason: "a head key is 'H' + 8-byte id") }
            let id = BigEndian.uint64(key[1...])
            guard s.index.contains(id) else { stale.append(id); return true }
            let builder = try ChunkBuilder(reopening: value)
            guard builder.count > 0 else { stale.append(id); return true }
            // Chunks from the start of the head's partition on: one ending at or after the head's
            // first sample makes the head stale; one before it makes the partition unclean.
            let partitionStart = MetricKey.partition(builder.maxT) - MetricKey.partitionLength
            let it = try db.makeIterator(
                lower: MetricKey.chunk(id, maxT: min(partitionStart + 1, builder.minT)), upper: RocksDB.successor(ofPrefix: MetricKey.chunksPrefix(id)))
            it.seekToFirst()
            var clean = true
            while it.isValid {
                if MetricKey.maxTOfChunkKey(it.key) >= builder.minT { stale.append(id); return true }
                clean = false
                it.next()
            }
            try it.checkStatus()
            s.heads[Int(id) - 1] = HeadSeries(builder: builder, newest: builder.maxT, dirty: false, partitionClean: clean)
            s.headOpened(partition: MetricKey.partition(builder.maxT))
            return true
        }
        if !stale.isEmpty {
            let batch = RocksWriteBatch()
            for id in stale { batch.delete(MetricKey.head(id)) }
            try db.write(batch, sync: false)
        }
        return s
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
