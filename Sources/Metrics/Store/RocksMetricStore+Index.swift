// The series index: `S` labels → id, `I` id → labels, `P` name/value/id postings.
extension RocksMetricStore {
    /// The id counter as stored; 1 for an empty store.
    func readNextID() throws -> UInt64 {
        guard let bytes = try db.get(MetricKey.nextSeriesID) else { return 1 }
        guard bytes.count == 8 else {
            throw MetricsError.corrupt(key: "M next_series_id", reason: "expected 8 bytes, found \(bytes.count)")
        }
        return BigEndian.uint64(bytes[...])
    }

    /// The id stored for `labels`, or nil when the series is new.
    func storedSeriesID(_ labels: Labels) throws -> UInt64? {
        let key = MetricKey.series(labels)
        guard let bytes = try db.get(key) else { return nil }
        guard bytes.count == 8 else {
            throw MetricsError.corrupt(key: MetricKey.hex(key), reason: "a series id is 8 bytes, found \(bytes.count)")
        }
        return BigEndian.uint64(bytes[...])
    }

    /// Adds a new series' `S`, `I` and `P` entries to `batch`.
    func addSeries(_ labels: Labels, id: UInt64, to batch: RocksWriteBatch) {
        let encoded = LabelsCodec.encode(labels)
        batch.put([MetricKey.seriesPrefix] + encoded, BigEndian.bytes(id))
        batch.put(MetricKey.labels(id), encoded)
        for p in labels.pairs {
            batch.put(MetricKey.posting(name: p.name, value: p.value, id: id), [])
        }
    }

    /// The labels of series `id`, from the cache or `I` + id.
    func labels(of id: UInt64) throws -> Labels {
        if let cached = labelsByID.withLock({ $0[id] }) { return cached }
        let key = MetricKey.labels(id)
        guard let bytes = try db.get(key) else {
            throw MetricsError.corrupt(key: MetricKey.hex(key), reason: "series \(id) is in the postings but has no labels entry")
        }
        let labels = try LabelsCodec.decode(bytes, key: key)
        labelsByID.withLock { $0[id] = labels }
        return labels
    }

    /// Series ids with `name=value`, in id order.
    func postings(name: String, value: String) throws -> [UInt64] {
        let prefix = MetricKey.postingsPrefix(name: name, value: value)
        var ids: [UInt64] = []
        try db.scan(prefix: prefix) { key, _ in
            // A longer value that starts with `value` + 0x00 shares the prefix; only exact lengths match.
            if key.count == prefix.count + 8 { ids.append(BigEndian.uint64(key[prefix.count...])) }
            return true
        }
        return ids
    }

    /// Every series (id, labels) matching all `matchers`, in id order.
    ///
    /// Candidates come from intersecting the postings of every `=` matcher with a non-empty value
    /// (at most as many as the most selective one), or from all series when there is none; then
    /// every matcher is checked on the labels.
    func matchingSeries(_ matchers: [LabelMatcher]) throws -> [(id: UInt64, labels: Labels)] {
        let indexed = matchers.filter { $0.op == .equal && !$0.value.isEmpty }
        var candidates: [(id: UInt64, labels: Labels)] = []
        if indexed.isEmpty {
            try db.scan(prefix: [MetricKey.labelsPrefix]) { key, value in
                let id = try MetricKey.idOfLabelsKey(key)
                candidates.append((id, try LabelsCodec.decode(value, key: key)))
                return true
            }
        } else {
            var ids: Set<UInt64>?
            for m in indexed {
                let found = Set(try postings(name: m.name, value: m.value))
                ids = ids.map { $0.intersection(found) } ?? found
                if ids!.isEmpty { return [] }
            }
            for id in (ids ?? []).sorted() { candidates.append((id, try labels(of: id))) }
        }
        return candidates.filter { c in matchers.allSatisfy { $0.matches(c.labels) } }
    }

    /// Distinct values of label `name` over all series, sorted, from a scan of `P` + name + 0x00.
    func allLabelValues(_ name: String) throws -> [String] {
        let prefix = MetricKey.postingsPrefix(name: name)
        var values: Set<String> = []
        try db.scan(prefix: prefix) { key, _ in
            values.insert(try MetricKey.decodePosting(key, namePrefixCount: prefix.count).value)
            return true
        }
        return values.sorted()
    }
}
