import Synchronization

/// A metric store in memory, for fast tests and tools; same contract as `RocksMetricStore`
/// ("durable" here means visible to every later call of this instance).
///
/// ```swift
/// let store = MemoryMetricStore()
/// try await store.write([Sample(labels: labels, timestamp: 0, value: 1)])
/// ```
public final class MemoryMetricStore: BulkAppendingStore {
    /// Points of each series by timestamp.
    private let series = Mutex([Labels: [Int64: Double]]())
    /// Labels by series reference id (index + 1), for the bulk path.
    private let refs = Mutex((byLabels: [Labels: SeriesRef](), labels: [Labels]()))

    public init() {}

    @discardableResult
    public func write(_ samples: [Sample]) async throws -> WriteReport {
        for s in samples { try SampleValidator.validate(s) }
        series.withLock { all in
            for s in samples { all[s.labels, default: [:]][s.timestamp] = s.value }
        }
        return WriteReport(accepted: samples.count)
    }

    public func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) async throws -> [SeriesPoints] {
        let snapshot = series.withLock { $0 }
        var result: [SeriesPoints] = []
        for (labels, points) in snapshot where matchers.allSatisfy({ $0.matches(labels) }) {
            let inRange = points.filter { from <= $0.key && $0.key <= to }
                .map { Point(timestamp: $0.key, value: $0.value) }
                .sorted { $0.timestamp < $1.timestamp }
            if !inRange.isEmpty { result.append(SeriesPoints(labels: labels, points: inRange)) }
        }
        return result.sorted { $0.labels < $1.labels }
    }

    public func labelValues(_ name: String, matchers: [LabelMatcher]) async throws -> [String] {
        let snapshot = series.withLock { Array($0.keys) }
        let values = snapshot.filter { labels in matchers.allSatisfy { $0.matches(labels) } }.compactMap { $0[name] }
        return Set(values).sorted()
    }

    public func stats() async throws -> TSDBStats {
        let all = series.withLock { Array($0.keys) }
        return TSDBStats(series: all, headSeries: all.count)
    }

    // MARK: BulkAppendingStore

    public func seriesRef(for labels: Labels) throws -> SeriesRef {
        try SampleValidator.validate(Sample(labels: labels, timestamp: 0, value: 0))
        return refs.withLock { r in
            if let ref = r.byLabels[labels] { return ref }
            r.labels.append(labels)
            let ref = SeriesRef(id: UInt64(r.labels.count))
            r.byLabels[labels] = ref
            return ref
        }
    }

    public func append(_ batch: SampleBatch) throws -> WriteReport {
        let known = refs.withLock { $0.labels }
        for ref in batch.refs where ref.id == 0 || ref.id > UInt64(known.count) {
            throw MetricsError.invalidSample("series ref \(ref.id)", reason: "this store did not hand out that series reference")
        }
        series.withLock { all in
            for i in 0..<batch.count {
                all[known[Int(batch.refs[i].id - 1)], default: [:]][batch.timestamps[i]] = batch.values[i]
            }
        }
        return WriteReport(accepted: batch.count)
    }
}
