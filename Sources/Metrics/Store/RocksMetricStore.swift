import Foundation
import NIOPosix
import Synchronization

/// The embedded metric store: series, postings and samples in one RocksDB database
/// (layout: Docs/format/metric-store-v1.md).
///
/// Every `write` is one RocksDB write batch with `sync: true`, so a batch that returned survives a
/// crash or `kill -9`, and a batch that threw left nothing behind. RocksDB work runs on
/// `NIOThreadPool.singleton`, never on the cooperative pool.
///
/// ```swift
/// let store = try RocksMetricStore(path: dataDir + "/metrics")
/// try await store.write([Sample(labels: labels, timestamp: now, value: 12.5)])
/// let series = try await store.select([.equal("__name__", name)], from: now - 60_000, to: now)
/// store.close()
/// ```
///
/// The series index (`+Index`) and the sample layout (`+Samples`) are separate, so replacing the
/// one-key-per-sample layout with compressed chunks touches only the sample half.
public final class RocksMetricStore: MetricStore {
    let db: RocksDB
    /// Serialises writers: series-id allocation and the batch that persists it happen under it.
    let writer = Mutex(SeriesWriterState())
    /// Labels by series id, filled as reads and writes meet series.
    let labelsByID = Mutex([UInt64: Labels]())

    /// Opens or creates the store in directory `path` (parents included). Throws `MetricsError.storage` when RocksDB
    /// cannot open it (already open in another process, no permission) and
    /// `MetricsError.corrupt` when it holds another format version.
    public init(path: String) throws {
        // RocksDB creates only the last directory; make the parents so a fresh data dir works.
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw MetricsError.storage(operation: "create directory \(parent)", message: "\(error)")
            }
        }
        db = try RocksDB(path: path, createIfMissing: true)
        do {
            try Self.checkFormat(db)
        } catch {
            db.close()
            throw error
        }
    }

    /// Closes the database; later calls throw `MetricsError.storage`. Calls in flight finish first.
    public func close() { db.close() }

    private static func checkFormat(_ db: RocksDB) throws {
        guard let stored = try db.get(MetricKey.format) else {
            try db.put(MetricKey.format, [MetricKey.formatVersion], sync: true)
            return
        }
        guard stored == [MetricKey.formatVersion] else {
            throw MetricsError.corrupt(
                key: "M format in \(db.path)",
                reason: "the store has format \(stored); this build reads format \(MetricKey.formatVersion) — use a matching Stratus version or a new data directory")
        }
    }

    // MARK: MetricStore

    @discardableResult
    public func write(_ samples: [Sample]) async throws -> WriteReport {
        for s in samples { try SampleValidator.validate(s) }
        guard !samples.isEmpty else { return WriteReport() }
        try await NIOThreadPool.singleton.runIfActive { try self.writeBlocking(samples) }
        return WriteReport(accepted: samples.count)
    }

    public func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) async throws -> [SeriesPoints] {
        guard from <= to else { return [] }
        return try await NIOThreadPool.singleton.runIfActive {
            var result: [SeriesPoints] = []
            for (id, labels) in try self.matchingSeries(matchers) {
                let points = try self.readPoints(id, from: from, to: to)
                if !points.isEmpty { result.append(SeriesPoints(labels: labels, points: points)) }
            }
            return result.sorted { $0.labels < $1.labels }
        }
    }

    public func labelValues(_ name: String, matchers: [LabelMatcher]) async throws -> [String] {
        try await NIOThreadPool.singleton.runIfActive {
            if matchers.isEmpty { return try self.allLabelValues(name) }
            let values = Set(try self.matchingSeries(matchers).compactMap { $0.labels[name] })
            return values.sorted()
        }
    }

    public func stats() async throws -> TSDBStats {
        try await NIOThreadPool.singleton.runIfActive {
            TSDBStats(series: try self.matchingSeries([]).map(\.1), headSeries: 0)
        }
    }

    // MARK: Writing

    /// Resolves or allocates every sample's series id and writes samples, new series and their
    /// postings, and the id counter as one synced batch. Caches change only after the batch is on disk.
    private func writeBlocking(_ samples: [Sample]) throws {
        try writer.withLock { state in
            let batch = RocksWriteBatch()
            var nextID = try state.nextID ?? readNextID()
            var created: [Labels: UInt64] = [:]
            for s in samples {
                let id: UInt64
                if let known = state.ids[s.labels] ?? created[s.labels] {
                    id = known
                } else if let stored = try storedSeriesID(s.labels) {
                    id = stored
                    state.ids[s.labels] = stored
                } else {
                    id = nextID
                    nextID += 1
                    created[s.labels] = id
                    addSeries(s.labels, id: id, to: batch)
                }
                addSample(id, s.timestamp, s.value, to: batch)
            }
            if !created.isEmpty { batch.put(MetricKey.nextSeriesID, BigEndian.bytes(nextID)) }
            try db.write(batch, sync: true)
            state.nextID = nextID
            state.ids.merge(created) { old, _ in old }
            labelsByID.withLock { cache in
                for (labels, id) in created { cache[id] = labels }
            }
        }
    }
}

/// What writers share: the id counter and labels→id, loaded lazily from the database.
struct SeriesWriterState {
    /// Next id to allocate; nil until first read from `M next_series_id`.
    var nextID: UInt64?
    var ids: [Labels: UInt64] = [:]
}
