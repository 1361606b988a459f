import Foundation
import NIOPosix
import Synchronization

/// The embedded TSDB (format v2, Docs/format/metric-store-v2.md): an in-memory series index and
/// one open head chunk per series, a write-ahead log with group commit for durability, and closed
/// chunks, rollups and the index in RocksDB.
///
/// A write returns once its WAL record is fsync'd (one fsync serves every writer waiting at that
/// moment). Heads reach RocksDB when cut (`maxChunkSamples`, or a series gone quiet) and at
/// checkpoints; at an hour boundary they are sealed instead (`SealedHead`) and written by a paced
/// thread. Recovery loads the heads from the last checkpoint's snapshot (`HeadSnapshot`) and
/// replays the WAL after `M checkpoint`.
///
/// ```swift
/// let store = try RocksMetricStore(path: dataDir + "/metrics")
/// let ref = try store.seriesRef(for: labels)
/// var batch = SampleBatch(); batch.append(ref, now, 12.5)
/// try store.append(batch)
/// store.close()
/// ```
public final class RocksMetricStore: AggregatingStore, BulkAppendingStore {
    let path: String
    let options: TSDBOptions
    let db: RocksDB
    let wal: WriteAheadLog
    let rollups: RollupBuilder
    /// Index, heads and counters; every ingest and every head copy goes through it.
    let state: PlainMutex<EngineState>
    /// One checkpoint or maintenance pass at a time (taken before `state`, never inside it).
    let maintenanceLock = Mutex<Int>(0)
    /// A checkpoint started by `append` (past `checkpointWALBytes`) is running or about to.
    let checkpointPending = Atomic<Bool>(false)
    /// The sealing thread (`scheduleSealing`) is running or about to.
    let sealingPending = Atomic<Bool>(false)
    /// When appends arrive, so paced background work runs between ingest bursts.
    let quiet = IngestQuiet()

    /// Opens or creates the store in directory `path` (RocksDB in `path/db`, the WAL in `path/wal`),
    /// recovering heads and replaying the WAL; a v1 store at `path` is migrated. Throws
    /// `MetricsError.storage` when RocksDB cannot open it (locked by another process, no permission)
    /// and `MetricsError.corrupt` for another format version.
    public init(path: String, options: TSDBOptions = TSDBOptions()) throws {
        self.path = path
        self.options = options
        try Self.prepareDirectory(path)
        let migrateFrom = try Self.moveV1Aside(path)
        db = try Self.openDB(path + "/db")
        do {
            try Self.checkFormat(db)
            let checkpointSegment = try Self.readCheckpoint(db)
            let (recovered, legacyHeads) = try Self.recoverIndexAndHeads(db: db, path: path, segment: checkpointSegment)
            let walDir = path + "/wal"
            let existing = WriteAheadLog.segments(in: walDir)
            let next = max(existing.last.map { $0 + 1 } ?? 1, checkpointSegment)
            wal = try WriteAheadLog(directory: walDir, segment: next)
            rollups = RollupBuilder(db: db)
            state = PlainMutex(recovered)
            let replayed = try replayWAL(segments: existing.filter { $0 >= checkpointSegment && $0 < next }, directory: walDir)
            wal.deleteSegments(before: checkpointSegment)
            if replayed || legacyHeads { try checkpoint() }
            if legacyHeads { try deleteLegacyHeads() }
            if let migrateFrom { try migrateV1(from: migrateFrom) }
        } catch {
            db.close()
            throw error
        }
    }

    /// Checkpoints and closes; idempotent. Later calls throw `MetricsError.storage`.
    public func close() {
        let wasOpen = state.withLock { s in
            defer { s.closed = true }
            return !s.closed
        }
        guard wasOpen else { return }
        try? checkpoint()
        wal.close()
        db.close()
    }

    /// Persists every head (checkpoint), flushes RocksDB memtables, truncates the WAL and compacts
    /// RocksDB to its bottom level: what's on disk is then complete and compact. Takes seconds on a
    /// large store; `maintain` never calls it.
    public func flush() throws {
        try checkOpen()
        try checkpoint()
        try db.flush()
        try db.compactAll()
    }

    /// Bytes of memory held by the in-memory index and heads (for the 1 KiB/series budget); the
    /// ingest path's reusable WAL scratch buffer (sized by the largest batch, not by series) is not counted.
    public var memoryFootprint: Int {
        state.withLock { s in
            var bytes = s.index.memoryFootprint + s.heads.capacity * MemoryLayout<HeadSeries>.stride
            for h in s.heads {
                if let b = h.builder { bytes += b.memoryFootprint }
                if let sealed = h.sealed { bytes += sealed.memoryFootprint }
            }
            bytes += s.seals.ids.capacity * 4 + s.seals.seqs.capacity * 4
            return bytes
        }
    }

    func checkOpen() throws {
        try state.withLock { try ensureOpen($0, "use") }
    }

    /// Throws when the store was closed; `verb` says what the caller was doing ("query", "append to").
    func ensureOpen(_ s: borrowing EngineState, _ verb: String) throws {
        if s.closed {
            throw MetricsError.storage(operation: "\(verb) metric store \(path)", message: "the store is closed")
        }
    }

    /// Milliseconds since the epoch.
    static func wallClock() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// The oldest timestamp still inside the retention at `now`.
    func retentionCutoff(now: Int64 = RocksMetricStore.wallClock()) -> Int64 {
        options.retention >= now ? Int64.min : now - options.retention
    }

    // MARK: MetricStore

    @discardableResult
    public func write(_ samples: [Sample]) async throws -> WriteReport {
        for s in samples { try SampleValidator.validate(s) }
        for s in samples { try validateLimits(s.labels) }
        guard !samples.isEmpty else { return WriteReport() }
        return try await NIOThreadPool.singleton.runIfActive { try self.writeBlocking(samples) }
    }

    public func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) async throws -> [SeriesPoints] {
        guard from <= to else { return [] }
        return try await NIOThreadPool.singleton.runIfActive { try self.selectBlocking(matchers, from: from, to: to) }
    }

    public func labelValues(_ name: String, matchers: [LabelMatcher]) async throws -> [String] {
        try await NIOThreadPool.singleton.runIfActive { try self.labelValuesBlocking(name, matchers: matchers) }
    }

    public func stats() async throws -> TSDBStats {
        try await NIOThreadPool.singleton.runIfActive { try self.statsBlocking() }
    }

    /// Returns once no append has arrived for `IngestQuiet.gap` (0.25 s), after `limit` ms, or on
    /// cancellation.
    public func ingestLull(limit: Int64) async {
        await quiet.lull(limit: UInt64(max(0, limit)) * 1_000_000)
    }

    /// True when a batch whose newest sample was more than 10 s old arrived in the last second (`IngestQuiet`).
    public var ingestIsBehind: Bool { quiet.isBehind() }

    public func aggregateWindows(
        _ matchers: [LabelMatcher], start: Int64, end: Int64, step: Int64, window: Int64
    ) async throws -> [SeriesWindows] {
        try await NIOThreadPool.singleton.runIfActive {
            try self.aggregateBlocking(matchers, start: start, end: end, step: step, window: window)
        }
    }
}

/// Everything the engine keeps in memory, behind `RocksMetricStore.state`.
struct EngineState {
    var index = SeriesIndex()
    /// The cutoff of the last retention run (hour-aligned); retention runs again only when it moves.
    var lastRetentionCutoff = Int64.min
    /// `M oldest_sample`: no stored sample is older (`Int64.min` = unknown, `Int64.max` = none yet).
    var oldestSample = Int64.min
    /// While a retention pass runs: the oldest sample accepted since it started (`Int64.max` = none).
    var acceptedDuringRetention: Int64?
    /// Per series id − 1.
    var heads: [HeadSeries] = []
    var nextID: UInt64 = 1
    var rejected: [SampleRejection.Reason: Int] = [:]
    var closed = false
    /// `wal.bytesWritten` at the last checkpoint.
    var walBytesAtCheckpoint = 0
    var lastCheckpointAt: Int64 = RocksMetricStore.wallClock()
    /// Head count per partition end, so the oldest open partition is known without a scan.
    var headPartitions: [Int64: Int] = [:]
    /// Heads sealed at hour boundaries, to write and later release.
    var seals = SealQueue()
    /// The newest sample time accepted (the clock of `sealedHold`).
    var dataClock: Int64 = .min
    /// Reused buffers of the ingest path.
    var walBuffer: [UInt8] = []
    var walScratch: [Int64] = []
    var acceptedIDs: [UInt64] = []
    var acceptedTimestamps: [Int64] = []
    var acceptedValues: [Double] = []

    mutating func headOpened(partition: Int64) { headPartitions[partition, default: 0] += 1 }

    /// Pending sealed heads are due to be written now (the sealing thread's work after a boundary).
    var sealedWritesDue: Bool { seals.writesDue(clock: dataClock) }

    /// The pending sealed head seal-queue entry `i` queued, while its series still holds it.
    func pendingSealed(entry i: Int) -> PendingChunk? {
        guard case .pending(let p) = heads[Int(seals.ids[i]) - 1].sealed, p.seq == seals.seqs[i] else { return nil }
        return p
    }

    mutating func headClosed(partition: Int64) {
        if let n = headPartitions[partition] { headPartitions[partition] = n > 1 ? n - 1 : nil }
    }
}

/// One series' open chunk and what the out-of-order check needs.
struct HeadSeries {
    /// The head chunk; nil when the series has no open chunk.
    var builder: ChunkBuilder?
    /// The newest timestamp the series ever had; `Int64.min` = not yet looked up (after a restart).
    var newest: Int64 = .min
    /// No stored chunk lies in the head's hour partition (every stored chunk ends before it), so a
    /// read that starts inside that partition needs the head alone, not a RocksDB seek. False =
    /// unknown. Set when a head starts because its series crossed into a new partition (and by
    /// recovery, which checks); cleared by a split or a merge into the stored chunks.
    var partitionClean = false
    /// The previous hour's head, sealed at the boundary (see `SealedHead`).
    var sealed: SealedHead?
    /// No stored chunk lies in the sealed head's partition, so it alone answers reads there.
    /// Still true once it is written and kept: its own `C` key holds exactly what memory does.
    var sealedClean = false

    /// A chunk of `partition` was stored (a sealed head written): when the head lies in that
    /// partition too (an interval cut's), it is no longer alone there.
    mutating func chunkStored(inPartition partition: Int64) {
        if let builder, MetricKey.partition(builder.maxT) == partition { partitionClean = false }
    }

    /// Whether the series holds a sealed head not yet written (its interval cut waits for it).
    var sealedUnwritten: Bool {
        if case .pending = sealed { return true }
        return false
    }

    /// Drops the sealed head from memory (written already, or about to be by the caller).
    mutating func forgetSealed() {
        sealed = nil
        sealedClean = false
    }
}
