import CRocksDB
#if canImport(Glibc)
import Glibc
#endif

/// Walks keys in order within optional bounds. Owns a `rocksdb_iterator_t`; holds the database
/// open (a lease) while it lives, so drop it before expecting `RocksDB.close()` to finish.
/// Use from one thread at a time.
///
/// ```swift
/// let it = try db.makeIterator(lower: [0x44], upper: [0x45])
/// it.seekToFirst()
/// while it.isValid { use(it.key, it.value); it.next() }
/// try it.checkStatus()
/// ```
public final class RocksIterator {
    private let db: RocksDB
    private let options: RocksReadOptions
    private let handle: OpaquePointer

    init(db: RocksDB, lower: [UInt8]?, upper: [UInt8]?) throws {
        let dbHandle = try db.acquire("iterate")
        let options = RocksReadOptions(lower: lower, upper: upper)
        guard let handle = rocksdb_create_iterator(dbHandle, options.handle) else {
            db.release()
            throw MetricsError.storage(operation: "iterate", message: "rocksdb_create_iterator returned no handle")
        }
        self.db = db
        self.options = options
        self.handle = handle
    }

    deinit {
        rocksdb_iter_destroy(handle)
        db.release()
    }

    /// Moves to the first key ≥ `key` (and ≥ the lower bound).
    public func seek(_ key: [UInt8]) {
        withCBytes(key) { k, kn in rocksdb_iter_seek(handle, k, kn) }
    }

    /// `seek(key)` for callers whose targets never decrease: when the iterator already stands on
    /// a key ≥ `key`, it stays; when the target lies at most `maxSteps` keys ahead, it steps there
    /// (a heap move over the levels, where a seek searches every level and file again); else seeks.
    /// Returns false when it had to seek.
    @discardableResult
    public func seek(forwardTo key: [UInt8], maxSteps: Int) -> Bool {
        var steps = 0
        while isValid {
            if currentKeyCompared(to: key) >= 0 { return true }
            if steps == maxSteps { break }
            next()
            steps += 1
        }
        seek(key)
        return false
    }

    /// The current key compared with `key` (negative, 0, positive), without copying it; only when `isValid`.
    public func currentKeyCompared(to key: [UInt8]) -> Int {
        var length = 0
        guard let p = rocksdb_iter_key(handle, &length) else { return key.isEmpty ? 0 : -1 }
        let c = key.withUnsafeBytes { k in memcmp(p, k.baseAddress!, min(length, k.count)) }
        return c != 0 ? Int(c) : length - key.count
    }

    /// Moves to the first key (the lower bound when there is one).
    public func seekToFirst() { rocksdb_iter_seek_to_first(handle) }

    /// Moves to the next key; only when `isValid`.
    public func next() { rocksdb_iter_next(handle) }

    /// Whether the iterator is on a key. False at the end, past the upper bound, or after an error
    /// (tell them apart with `checkStatus()`).
    public var isValid: Bool { rocksdb_iter_valid(handle) != 0 }

    /// The current key; only when `isValid`.
    public var key: [UInt8] {
        var length = 0
        let p = rocksdb_iter_key(handle, &length)
        return copyCBytes(p, length)
    }

    /// The current value; only when `isValid`.
    public var value: [UInt8] {
        var length = 0
        let p = rocksdb_iter_value(handle, &length)
        return copyCBytes(p, length)
    }

    /// Throws `MetricsError.storage` when iteration stopped because of an error (I/O, corruption)
    /// rather than at the end.
    public func checkStatus() throws {
        try rocksCall("iterate") { err in rocksdb_iter_get_error(handle, err) }
    }
}

extension RocksDB {
    /// Visits every key/value in `[lower, upper)` in key order until `body` returns false, then
    /// checks the iterator's status.
    public func scan(from lower: [UInt8], to upper: [UInt8]?, _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        let it = try makeIterator(lower: lower, upper: upper)
        it.seek(lower)
        while it.isValid {
            guard try body(it.key, it.value) else { break }
            it.next()
        }
        try it.checkStatus()
    }

    /// Visits every key that starts with `prefix`, in key order, until `body` returns false.
    public func scan(prefix: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        try scan(from: prefix, to: RocksDB.successor(ofPrefix: prefix), body)
    }

    /// The smallest key greater than every key starting with `prefix`, or nil when there is none
    /// (the prefix is all 0xFF).
    public static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        var p = prefix
        while let last = p.last {
            if last < 0xFF {
                p[p.count - 1] = last + 1
                return p
            }
            p.removeLast()
        }
        return nil
    }
}
