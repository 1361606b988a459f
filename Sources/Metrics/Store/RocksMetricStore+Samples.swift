// The sample layout, v1: one key per sample, `D` id timestamp → value. The TSDB issue replaces
// this file with compressed chunks; the index and the store's front door stay as they are.
extension RocksMetricStore {
    /// Adds one sample to `batch`; a stored sample at the same series and time is replaced.
    func addSample(_ id: UInt64, _ timestamp: Int64, _ value: Double, to batch: RocksWriteBatch) {
        batch.put(MetricKey.sample(id, timestamp), MetricKey.encodeValue(value))
    }

    /// Points of series `id` in `[from, to]`, in time order.
    func readPoints(_ id: UInt64, from: Int64, to: Int64) throws -> [Point] {
        guard to >= 0 else { return [] }
        let lower = MetricKey.sample(id, max(from, 0))
        // Upper bound is exclusive: the key just after `to`, or the end of the series' range.
        let upper = to == .max ? RocksDB.successor(ofPrefix: MetricKey.samplesPrefix(id)) : MetricKey.sample(id, to + 1)
        var points: [Point] = []
        try db.scan(from: lower, to: upper) { key, value in
            points.append(try MetricKey.decodeSample(key, value))
            return true
        }
        return points
    }
}
