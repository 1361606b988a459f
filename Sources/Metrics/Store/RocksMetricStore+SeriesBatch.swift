import Foundation

// Many new series at once: one lock, one WAL write and one RocksDB write batch for all of them.
extension RocksMetricStore {
    /// The series of each label set, created when new, in one pass: the checks and the canonical
    /// encoding run before the lock; under it, every new series gets its id, all their WAL series
    /// records go out in one write and all their `I` keys in one RocksDB batch (not synced: the
    /// next synced sample append, or checkpoint, makes them durable, as for `seriesRef`).
    /// `S` and `P` keys are not written: nothing reads them (the index is rebuilt from `I`), and
    /// at 3.4 M new series they were 8 of 9 keys written and most of the compaction.
    ///
    /// A label set the store refuses (validation, limits, the series limit) gets a failure in its
    /// slot; the others still resolve. Throws only for a closed store or a failed WAL/RocksDB write
    /// (then no series of this call was added).
    public func seriesRefs(for all: [Labels]) throws -> [Result<SeriesRef, MetricsError>] {
        var results = [Result<SeriesRef, MetricsError>?](repeating: nil, count: all.count)
        var canonicals = [[UInt8]](repeating: [], count: all.count)
        for (i, labels) in all.enumerated() {
            do {
                try SampleValidator.validate(Sample(labels: labels, timestamp: 0, value: 0))
                try validateLimits(labels)
                canonicals[i] = LabelsCodec.encode(labels)
            } catch let e as MetricsError {
                results[i] = .failure(e)
            } catch {
                results[i] = .failure(.invalidSample(labels.description, reason: "\(error)"))
            }
        }
        try state.withLock { s in
            try ensureOpen(s, "use")
            var created: [(index: Int, id: UInt64)] = []
            // Series made earlier in this call, by the hash of their canonical bytes.
            var createdByHash: [Int: [Int]] = [:]
            func madeHere(_ canonical: [UInt8], _ hash: Int) -> UInt64? {
                for c in createdByHash[hash] ?? [] where canonicals[created[c].index] == canonical { return created[c].id }
                return nil
            }
            var nextID = s.nextID
            var walBytes: [UInt8] = []
            var records: [Range<Int>] = []
            for i in all.indices where results[i] == nil {
                let canonical = canonicals[i]
                var hasher = Hasher()
                canonical.withUnsafeBytes { hasher.combine(bytes: $0) }
                let hash = hasher.finalize()
                if let id = s.index.id(of: canonical) ?? madeHere(canonical, hash) {
                    results[i] = .success(SeriesRef(id: id))
                    continue
                }
                guard s.index.count + created.count < options.maxSeries else {
                    results[i] = .failure(.invalidSample(all[i].description, reason: "the store holds \(s.index.count + created.count) series, the limit (maxSeries = \(options.maxSeries)); raise it or drop series"))
                    continue
                }
                let id = nextID
                nextID += 1
                createdByHash[hash, default: []].append(created.count)
                created.append((i, id))
                let start = walBytes.count
                walBytes.append(WALRecord.seriesType)
                WALRecord.putUVarint(id, &walBytes)
                walBytes.append(contentsOf: canonical)
                records.append(start..<walBytes.count)
                results[i] = .success(SeriesRef(id: id))
            }
            guard !created.isEmpty else { return }
            // Ids ascend, so the `I` keys do too (cheap memtable inserts).
            let batch = RocksWriteBatch()
            for (i, id) in created { batch.put(MetricKey.labels(id), canonicals[i]) }
            batch.put(MetricKey.nextSeriesID, BigEndian.bytes(nextID))
            // WAL first (the record of truth until a checkpoint), then RocksDB, then memory.
            try walBytes.withUnsafeBytes { try wal.append(records: $0, ranges: records) }
            try db.write(batch, sync: false)
            s.nextID = nextID
            for (i, id) in created { s.index.insert(id: id, canonical: canonicals[i], labels: all[i]) }
            let needed = Int(nextID - 1)
            if s.heads.count < needed { s.heads.append(contentsOf: repeatElement(HeadSeries(), count: needed - s.heads.count)) }
            // A series made here has no stored sample: its newest time is known (-1), so its first
            // sample needs no RocksDB lookup.
            for (_, id) in created { s.heads[Int(id) - 1].newest = -1 }
        }
        return results.map { $0! }
    }

    /// Bytewise order of RocksDB's default comparator.
    static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let n = min(a.count, b.count)
        if n == 0 { return a.count < b.count }
        let c = a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in memcmp(x.baseAddress!, y.baseAddress!, n) } }
        return c != 0 ? c < 0 : a.count < b.count
    }
}
