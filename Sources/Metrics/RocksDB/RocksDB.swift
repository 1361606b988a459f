import CRocksDB
import Synchronization

/// An open RocksDB database: byte keys to byte values, sorted by key.
///
/// All calls block (disk I/O, fsync); call them from a thread pool such as
/// `NIOThreadPool.singleton.runIfActive { … }`, never on the cooperative pool or an event loop.
/// The handle is safe to use from several threads at once.
///
/// ```swift
/// let db = try RocksDB(path: dir + "/db")
/// try db.put([0x61], [0x01])
/// let v = try db.get([0x61])   // [0x01]
/// db.close()
/// ```
public final class RocksDB: Sendable {
    /// The directory the database lives in.
    public let path: String
    private let state: PlainMutex<State>

    private struct State {
        var handle: DBHandle?
        /// Calls and iterators currently using `handle`.
        var leases = 0
        var closeRequested = false
    }

    /// Opens (and with `createIfMissing`, creates) the database at `path` with `RocksDBConfiguration.default`
    /// otherwise. Throws `MetricsError.storage` naming the path when RocksDB refuses (locked by
    /// another process, corrupt, no permission).
    public convenience init(path: String, createIfMissing: Bool = true) throws {
        var configuration = RocksDBConfiguration.default
        configuration.createIfMissing = createIfMissing
        try self.init(path: path, configuration: configuration)
    }

    /// Opens the database at `path` with `configuration`.
    public init(path: String, configuration: RocksDBConfiguration) throws {
        self.path = path
        let handle: OpaquePointer
        do {
            handle = try Self.open(path, configuration, compression: configuration.compress)
        } catch let MetricsError.storage(_, message) where configuration.compress && message.contains("not linked") {
            // This librocksdb was built without LZ4/ZSTD: fall back to its default compression.
            handle = try Self.open(path, configuration, compression: false)
        }
        state = PlainMutex(State(handle: DBHandle(pointer: handle)))
    }

    private static func open(_ path: String, _ configuration: RocksDBConfiguration, compression: Bool) throws -> OpaquePointer {
        let options = RocksOptions(configuration, compression: compression)
        let db = try rocksCall("open \(path)") { err in rocksdb_open(options.handle, path, err) }
        guard let db else { throw MetricsError.storage(operation: "open \(path)", message: "rocksdb_open returned no handle") }
        return db
    }

    deinit {
        // Iterators hold a strong reference, so nothing can be using the handle here.
        if let handle = state.withLock({ $0.handle }) { rocksdb_close(handle.pointer) }
    }

    // MARK: Lifetime

    /// Closes the database. If a call or an iterator is still using it, the last of them closes it
    /// when it finishes. Every later call throws `MetricsError.storage(… "database is closed")`.
    public func close() {
        let toClose = state.withLock { s -> DBHandle? in
            s.closeRequested = true
            guard s.leases == 0, let h = s.handle else { return nil }
            s.handle = nil
            return h
        }
        if let toClose { rocksdb_close(toClose.pointer) }
    }

    /// Whether `close()` has been called.
    public var isClosed: Bool { state.withLock { $0.closeRequested } }

    /// Takes a lease on the open handle; pair with `release()`.
    func acquire(_ operation: @autoclosure () -> String) throws -> OpaquePointer {
        try state.withLock { s throws(MetricsError) -> DBHandle in
            guard !s.closeRequested, let h = s.handle else {
                throw MetricsError.storage(operation: operation(), message: "database \(path) is closed")
            }
            s.leases += 1
            return h
        }.pointer
    }

    func release() {
        let toClose = state.withLock { s -> DBHandle? in
            s.leases -= 1
            guard s.leases == 0, s.closeRequested, let h = s.handle else { return nil }
            s.handle = nil
            return h
        }
        if let toClose { rocksdb_close(toClose.pointer) }
    }

    private func withHandle<T>(_ operation: @autoclosure () -> String, _ body: (OpaquePointer) throws -> T) throws -> T {
        let handle = try acquire(operation())
        defer { release() }
        return try body(handle)
    }

    // MARK: Reads and writes

    /// The value at `key`, or nil when there is none.
    public func get(_ key: [UInt8]) throws -> [UInt8]? {
        try withHandle("get") { db in
            let options = RocksReadOptions()
            var length = 0
            let value = try withCBytes(key) { k, kn in
                try rocksCall("get") { err in rocksdb_get(db, options.handle, k, kn, &length, err) }
            }
            guard let value else { return nil }
            defer { rocksdb_free(value) }
            return copyCBytes(value, length)
        }
    }

    /// Stores `value` at `key`, replacing any value there. `sync: true` returns only once the
    /// write-ahead log is on disk.
    public func put(_ key: [UInt8], _ value: [UInt8], sync: Bool = false) throws {
        try withHandle("put") { db in
            let options = RocksWriteOptions(sync: sync)
            try withCBytes(key) { k, kn in
                try withCBytes(value) { v, vn in
                    try rocksCall("put") { err in rocksdb_put(db, options.handle, k, kn, v, vn, err) }
                }
            }
        }
    }

    /// Removes `key` (no error when it is absent).
    public func delete(_ key: [UInt8], sync: Bool = false) throws {
        try withHandle("delete") { db in
            let options = RocksWriteOptions(sync: sync)
            try withCBytes(key) { k, kn in
                try rocksCall("delete") { err in rocksdb_delete(db, options.handle, k, kn, err) }
            }
        }
    }

    /// Applies every operation of `batch` atomically: after a crash either all or none are there.
    /// With `sync: true` the batch is on disk when this returns.
    public func write(_ batch: RocksWriteBatch, sync: Bool) throws {
        try withHandle("write batch of \(batch.count)") { db in
            let options = RocksWriteOptions(sync: sync)
            try rocksCall("write batch of \(batch.count)") { err in rocksdb_write(db, options.handle, batch.handle, err) }
        }
    }

    /// Writes the memtable to an SST file and waits for it.
    public func flush() throws {
        try withHandle("flush") { db in
            let options = RocksFlushOptions(wait: true)
            try rocksCall("flush") { err in rocksdb_flush(db, options.handle, err) }
        }
    }

    /// Compacts every key range down to the bottom level and waits: deleted and overwritten entries
    /// are dropped and files reach their final, smallest form.
    public func compactAll() throws {
        try withHandle("compact") { db in
            rocksdb_compact_range(db, nil, 0, nil, 0)
        }
    }

    /// An iterator over keys in `[lower, upper)` (either bound optional), positioned nowhere:
    /// call `seek` or `seekToFirst` first.
    public func makeIterator(lower: [UInt8]? = nil, upper: [UInt8]? = nil) throws -> RocksIterator {
        try RocksIterator(db: self, lower: lower, upper: upper)
    }
}

/// A `rocksdb_t*` that may cross threads: RocksDB documents a DB handle as safe for concurrent
/// use from many threads, and `RocksDB` closes it only when no lease holds it.
struct DBHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
