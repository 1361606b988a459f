import CRocksDB

/// A set of puts and deletes applied atomically by `RocksDB.write(_:sync:)`. Owns a
/// `rocksdb_writebatch_t`. RocksDB copies keys and values into the batch at once.
///
/// ```swift
/// let batch = RocksWriteBatch()
/// batch.put([1], [42])
/// batch.delete([2])
/// try db.write(batch, sync: true)
/// ```
public final class RocksWriteBatch {
    let handle: OpaquePointer

    public init() { handle = rocksdb_writebatch_create() }

    deinit { rocksdb_writebatch_destroy(handle) }

    /// Adds a put of `value` at `key`; a later put of the same key in the batch wins.
    public func put(_ key: [UInt8], _ value: [UInt8]) {
        withCBytes(key) { k, kn in
            withCBytes(value) { v, vn in rocksdb_writebatch_put(handle, k, kn, v, vn) }
        }
    }

    /// Adds a delete of `key`.
    public func delete(_ key: [UInt8]) {
        withCBytes(key) { k, kn in rocksdb_writebatch_delete(handle, k, kn) }
    }

    /// Number of operations in the batch.
    public var count: Int { Int(rocksdb_writebatch_count(handle)) }

    /// Empties the batch.
    public func clear() { rocksdb_writebatch_clear(handle) }
}
