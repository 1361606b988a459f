/// A store's handle for one series, so hot paths (collectors, import, the benchmark) resolve
/// labels once and then append by reference (Prometheus' `SeriesRef`).
public struct SeriesRef: Hashable, Sendable, Comparable {
    /// The store's series id; stable for the life of the series in that store.
    public let id: UInt64
    public init(id: UInt64) { self.id = id }
    public static func < (a: SeriesRef, b: SeriesRef) -> Bool { a.id < b.id }
}

/// Samples by series reference, kept as three parallel arrays (no per-sample allocation).
public struct SampleBatch: Sendable {
    public private(set) var refs: [SeriesRef] = []
    public private(set) var timestamps: [Int64] = []
    public private(set) var values: [Double] = []
    /// The write-ahead-log record of exactly these samples, made by `prepareLog()`.
    var log = PreparedLog()

    public init(capacity: Int = 0) {
        refs.reserveCapacity(capacity)
        timestamps.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    /// A batch of the samples `refs[k]`, `timestamps[k]`, `values[k]` (equal counts), adopting the
    /// arrays as they are (no copy).
    public init(refs: [SeriesRef], timestamps: [Int64], values: [Double]) {
        precondition(refs.count == timestamps.count && refs.count == values.count,
                     "SampleBatch: \(refs.count) refs, \(timestamps.count) timestamps, \(values.count) values")
        self.refs = refs
        self.timestamps = timestamps
        self.values = values
    }

    public var count: Int { refs.count }
    public var isEmpty: Bool { refs.isEmpty }

    public mutating func append(_ ref: SeriesRef, _ timestamp: Int64, _ value: Double) {
        refs.append(ref)
        timestamps.append(timestamp)
        values.append(value)
    }

    /// Appends samples of one series: `timestamps[k]` with `values[k]` (equal counts).
    public mutating func append(_ ref: SeriesRef, _ timestamps: [Int64], _ values: [Double]) {
        precondition(timestamps.count == values.count, "SampleBatch.append: \(timestamps.count) timestamps but \(values.count) values")
        refs.append(contentsOf: repeatElement(ref, count: timestamps.count))
        self.timestamps.append(contentsOf: timestamps)
        self.values.append(contentsOf: values)
    }

    /// Empties the batch and keeps its capacity.
    public mutating func removeAll() {
        refs.removeAll(keepingCapacity: true)
        timestamps.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        log.samples = -1
    }

    /// Encodes the batch's write-ahead-log record (and its checksum) now, on the calling thread,
    /// so that `RocksMetricStore.append` — which holds the store's lock — only writes it. A
    /// pipeline whose producer threads call this before handing batches to one appender moves
    /// that work off the appender. The record stays valid until the batch changes; when the
    /// store refuses some samples it encodes the accepted ones itself.
    public mutating func prepareLog() {
        let used = refs.withUnsafeBufferPointer { r in
            r.withMemoryRebound(to: UInt64.self) { ids in
                timestamps.withUnsafeBufferPointer { t in
                    values.withUnsafeBufferPointer { v in
                        WALRecord.encodeSamples(ids: ids, timestamps: t, values: v, into: &log.bytes, scratch: &log.scratch)
                    }
                }
            }
        }
        log.length = used
        log.crc = log.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<used])) }
        log.samples = refs.count
    }

    /// The prepared record's bytes and checksum when it covers the batch as it is now.
    var preparedLog: (bytes: [UInt8], length: Int, crc: UInt32)? {
        log.samples == refs.count && log.samples > 0 ? (log.bytes, log.length, log.crc) : nil
    }
}

/// A WAL record encoded ahead of `append` (see `SampleBatch.prepareLog()`); its buffers are kept
/// for reuse when the batch is emptied.
struct PreparedLog: Sendable {
    var bytes: [UInt8] = []
    var scratch: [Int64] = []
    var length = 0
    var crc: UInt32 = 0
    /// The batch's sample count when encoded; -1 when none.
    var samples = -1
}

/// A store with a fast path for bulk ingest. Both calls block (run them off the cooperative pool).
public protocol BulkAppendingStore: MetricStore {
    /// The series for `labels`, created if new. Throws `MetricsError.invalidSample` for labels the
    /// store refuses (validation, limits); creating a series past the series limit throws too.
    func seriesRef(for labels: Labels) throws -> SeriesRef
    /// The series of each label set, created when new; a refused label set gets a failure in its
    /// slot. Stores that can create many series cheaper at once (one lock, one write) override it.
    func seriesRefs(for all: [Labels]) throws -> [Result<SeriesRef, MetricsError>]
    /// Stores the batch under the same rules as `write`; durable when it returns. A ref this
    /// store did not hand out throws `MetricsError.invalidSample` before anything is stored.
    func append(_ batch: SampleBatch) throws -> WriteReport
    /// Stores the batch like `append`, but returns before it is durable: the samples are
    /// queryable, and `waitDurable(ticket)` returns once they would survive a crash. Lets a server
    /// answer many writers from one fsync without a thread waiting for each.
    func appendDeferringSync(_ batch: SampleBatch) throws -> (WriteReport, DurabilityTicket)
    /// Returns once the samples of the append that gave `ticket` are durable; throws the storage
    /// error when they cannot be made so.
    func waitDurable(_ ticket: DurabilityTicket) async throws
    /// Calls `done` once the samples of the append that gave `ticket` are durable (or with the
    /// storage error), from a store thread or at once; for blocking pipelines that keep
    /// appending while an earlier batch is fsync'd.
    func whenDurable(_ ticket: DurabilityTicket, _ done: @escaping @Sendable (Result<Void, any Error>) -> Void)
}

/// Where an `appendDeferringSync` left its samples in the store's log; see `waitDurable`.
public struct DurabilityTicket: Sendable, Equatable {
    /// The store's write-ahead log offset to reach (0: durable already).
    public let logOffset: Int
    public init(logOffset: Int) { self.logOffset = logOffset }
    /// Nothing to wait for.
    public static let durable = DurabilityTicket(logOffset: 0)
}

extension BulkAppendingStore {
    /// `append`, which is durable when it returns.
    public func appendDeferringSync(_ batch: SampleBatch) throws -> (WriteReport, DurabilityTicket) {
        (try append(batch), .durable)
    }

    /// Nothing to wait for after `append`.
    public func waitDurable(_ ticket: DurabilityTicket) async throws {}

    /// Nothing to wait for after `append`: `done` runs at once.
    public func whenDurable(_ ticket: DurabilityTicket, _ done: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        done(.success(()))
    }

    /// One `seriesRef(for:)` per label set.
    public func seriesRefs(for all: [Labels]) throws -> [Result<SeriesRef, MetricsError>] {
        all.map { labels in
            do {
                return .success(try seriesRef(for: labels))
            } catch let e as MetricsError {
                return .failure(e)
            } catch {
                return .failure(.invalidSample(labels.description, reason: "\(error)"))
            }
        }
    }
}

/// Series count and label cardinality, as `/api/v1/status/tsdb` reports them.
public struct TSDBStats: Sendable, Equatable {
    /// Number of series stored.
    public var seriesCount: Int
    /// Series with samples in memory (heads).
    public var headSeries: Int
    /// Series per `__name__`.
    public var seriesCountByMetricName: [String: Int]
    /// Distinct values per label name (cardinality).
    public var labelValueCountByLabelName: [String: Int]
    /// Samples refused since the store opened, by reason.
    public var rejectedSamples: [SampleRejection.Reason: Int]
    /// Heads sealed at an hour boundary and not yet written to disk (their samples are in the
    /// write-ahead log); written from `TSDBOptions.sealedHold` (5 min) past each hour on.
    public var sealedHeadsPending: Int = 0
    /// Times background work (checkpoint, sealing, rollup slices) stopped waiting for a gap between
    /// ingest bursts because none came (`IngestQuiet`); each stops the waiting for a minute.
    public var quietWaitsGivenUp: Int = 0
    /// Times such a wait gave up while the ingest was behind (batches arriving late) and started no
    /// backoff: the background work yielded to the backlog (`IngestQuiet`).
    public var quietWaitsDeferredToBacklog: Int = 0
    /// True when a batch arrived late in the last second: the store is behind its agents.
    public var ingestBehind: Bool = false

    public init(
        seriesCount: Int, headSeries: Int, seriesCountByMetricName: [String: Int],
        labelValueCountByLabelName: [String: Int], rejectedSamples: [SampleRejection.Reason: Int] = [:]
    ) {
        self.seriesCount = seriesCount
        self.headSeries = headSeries
        self.seriesCountByMetricName = seriesCountByMetricName
        self.labelValueCountByLabelName = labelValueCountByLabelName
        self.rejectedSamples = rejectedSamples
    }

    /// Computes the counts from a list of series' labels.
    public init(series: some Sequence<Labels>, headSeries: Int, rejectedSamples: [SampleRejection.Reason: Int] = [:]) {
        var count = 0
        var byName: [String: Int] = [:]
        var values: [String: Set<String>] = [:]
        for labels in series {
            count += 1
            byName[labels.name, default: 0] += 1
            for p in labels.pairs { values[p.name, default: []].insert(p.value) }
        }
        self.init(
            seriesCount: count, headSeries: headSeries, seriesCountByMetricName: byName,
            labelValueCountByLabelName: values.mapValues(\.count), rejectedSamples: rejectedSamples)
    }
}
