/// Where samples live. The contract every implementation (embedded RocksDB, in-memory, later a
/// remote Prometheus-compatible engine) keeps, checked by one shared conformance suite:
///
/// - `write` validates every sample first (non-empty `__name__`, label names of
///   `[A-Za-z_][A-Za-z0-9_]*`, no empty label value, the store's limits) and throws
///   `MetricsError.invalidSample` without storing any when one fails. Samples that are valid but
///   cannot be stored (older than the out-of-order window or the retention) are refused one by one
///   and listed with their reason in the returned `WriteReport`; the rest are stored. When it
///   returns, the stored samples are durable.
/// - A sample with the same series and timestamp as a stored one replaces it (idempotent replay).
/// - `select` returns every series matching all matchers that has points in `[from, to]`
///   (both inclusive), sorted by labels, points in time order.
public protocol MetricStore: Sendable {
    /// Stores a batch durably; see the contract above for what is refused and how.
    @discardableResult
    func write(_ samples: [Sample]) async throws -> WriteReport
    /// Series matching all `matchers` with their points in `[from, to]`.
    func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) async throws -> [SeriesPoints]
    /// Distinct values of label `name` over series matching `matchers` (all series when empty), sorted.
    func labelValues(_ name: String, matchers: [LabelMatcher]) async throws -> [String]
    /// Series count and label cardinality.
    func stats() async throws -> TSDBStats
    /// Returns once no sample has been appended for a short gap (the collection round's burst is
    /// in), or after `limit` ms, or on cancellation. A store that does not track its appends
    /// returns at once.
    func ingestLull(limit: Int64) async

    /// True while the store is behind its agents (batches arriving with samples older than a
    /// collection round: an ingest backlog). A store that does not track it says false.
    var ingestIsBehind: Bool { get }
}

extension MetricStore {
    public func ingestLull(limit: Int64) async {}

    public var ingestIsBehind: Bool { false }

    /// A batch appender: `append` validates and collects, `commit` writes the batch.
    public func appender() -> MetricAppender { MetricAppender(store: self) }
}

/// Collects samples and writes them as one atomic, durable batch (Prometheus' `Appender` shape).
public struct MetricAppender: Sendable {
    private let store: any MetricStore
    public private(set) var pending: [Sample] = []

    init(store: any MetricStore) { self.store = store }

    /// Validates the sample at once and adds it to the batch.
    public mutating func append(_ labels: Labels, _ timestamp: Int64, _ value: Double) throws {
        let s = Sample(labels: labels, timestamp: timestamp, value: value)
        try SampleValidator.validate(s)
        pending.append(s)
    }

    /// Writes the batch; on return the stored samples are durable. The batch is emptied on success.
    @discardableResult
    public mutating func commit() async throws -> WriteReport {
        guard !pending.isEmpty else { return WriteReport() }
        let report = try await store.write(pending)
        pending.removeAll()
        return report
    }

    /// Drops the batch without writing anything.
    public mutating func rollback() { pending.removeAll() }
}

/// The sample checks every store applies before writing.
public enum SampleValidator {
    public static func validate(_ s: Sample) throws {
        guard !s.labels.name.isEmpty else {
            throw MetricsError.invalidSample(s.labels.description, reason: "the series has no __name__ label")
        }
        for p in s.labels.pairs {
            guard isValidLabelName(p.name) else {
                throw MetricsError.invalidSample(
                    s.labels.description, reason: "label name '\(p.name)' must match [A-Za-z_][A-Za-z0-9_]*")
            }
            guard !p.value.isEmpty else {
                throw MetricsError.invalidSample(s.labels.description, reason: "label '\(p.name)' has an empty value")
            }
        }
        guard s.timestamp >= 0 else {
            throw MetricsError.invalidSample(s.labels.description, reason: "timestamp \(s.timestamp) is before 1970")
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`, checked on the UTF-8 bytes (new series on the ingest path pass here).
    public static func isValidLabelName(_ name: String) -> Bool {
        var first = true
        for b in name.utf8 {
            let letter = (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")
            guard b == UInt8(ascii: "_") || letter || (!first && b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) else { return false }
            first = false
        }
        return !first
    }
}
