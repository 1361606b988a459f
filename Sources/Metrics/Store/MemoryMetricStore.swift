import Synchronization

/// A metric store in memory, for fast tests and tools; same contract as `RocksMetricStore`
/// ("durable" here means visible to every later call of this instance).
///
/// ```swift
/// let store = MemoryMetricStore()
/// try await store.write([Sample(labels: labels, timestamp: 0, value: 1)])
/// ```
public final class MemoryMetricStore: MetricStore {
    /// Points of each series by timestamp.
    private let series = Mutex([Labels: [Int64: Double]]())

    public init() {}

    public func write(_ samples: [Sample]) async throws {
        for s in samples { try SampleValidator.validate(s) }
        series.withLock { all in
            for s in samples { all[s.labels, default: [:]][s.timestamp] = s.value }
        }
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
}
