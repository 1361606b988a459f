import CRocksDB

/// How a database is opened. Defaults suit a metric store on one machine.
public struct RocksDBConfiguration: Sendable {
    /// Create the database directory when it does not exist.
    public var createIfMissing: Bool
    /// Size of the LRU block cache in bytes (0 = RocksDB's default 8 MiB cache per table factory).
    public var blockCacheBytes: Int
    /// Compress SST files with ZSTD at every level when the library has it (else RocksDB's default).
    public var compress: Bool
    /// Uncompressed size of an SST data block. Larger blocks give the compressor more context
    /// (fewer bytes per sample) at the cost of reading more per point lookup.
    public var blockSizeBytes: Int

    /// `createIfMissing: true`, a 32 MiB block cache, compression on, 32 KiB blocks.
    public static let `default` = RocksDBConfiguration(createIfMissing: true, blockCacheBytes: 32 << 20, compress: true)

    public init(createIfMissing: Bool, blockCacheBytes: Int, compress: Bool, blockSizeBytes: Int = 32 << 10) {
        self.createIfMissing = createIfMissing
        self.blockCacheBytes = blockCacheBytes
        self.compress = compress
        self.blockSizeBytes = blockSizeBytes
    }
}

/// Owns a `rocksdb_options_t`.
final class RocksOptions {
    let handle: OpaquePointer

    /// Builds options from `configuration`; `compression: false` forces RocksDB's default
    /// (used to retry when the library lacks LZ4/ZSTD).
    init(_ configuration: RocksDBConfiguration, compression: Bool) {
        handle = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(handle, configuration.createIfMissing ? 1 : 0)
        rocksdb_options_increase_parallelism(handle, 2)
        // Flushes and compactions hand their output to the disk every MiB as they write it (and
        // the RocksDB log every MiB too), instead of leaving hundreds of MB dirty for the kernel to
        // write in one flood that the store's WAL fsyncs (which agent pushes wait for) queue behind.
        rocksdb_options_set_bytes_per_sync(handle, 1 << 20)
        rocksdb_options_set_wal_bytes_per_sync(handle, 1 << 20)
        if compression {
            // ZSTD everywhere: flushed (L0) files are what "bytes on disk after flush" measures,
            // and metric chunks are small varints that ZSTD models far better than LZ4.
            rocksdb_options_set_compression(handle, Int32(rocksdb_zstd_compression))
            rocksdb_options_set_bottommost_compression(handle, Int32(rocksdb_zstd_compression))
        }
        let table = RocksBlockBasedTableOptions()
        rocksdb_block_based_options_set_block_size(table.handle, max(4096, configuration.blockSizeBytes))
        // Bloom filters make point lookups (series id by labels) skip SST files that lack the key.
        table.setBloomFilter(bitsPerKey: 10)
        if configuration.blockCacheBytes > 0 {
            table.setBlockCache(RocksLRUCache(capacity: configuration.blockCacheBytes))
        }
        // RocksDB copies the table options (and retains the cache) into the options here.
        rocksdb_options_set_block_based_table_factory(handle, table.handle)
    }

    deinit { rocksdb_options_destroy(handle) }
}

/// Owns a `rocksdb_block_based_table_options_t`.
final class RocksBlockBasedTableOptions {
    let handle: OpaquePointer

    init() { handle = rocksdb_block_based_options_create() }

    func setBloomFilter(bitsPerKey: Double) {
        // The table options take ownership of the filter policy.
        rocksdb_block_based_options_set_filter_policy(handle, rocksdb_filterpolicy_create_bloom(bitsPerKey))
    }

    func setBlockCache(_ cache: RocksLRUCache) {
        // Stores a shared reference to the cache; ours can be destroyed afterwards.
        rocksdb_block_based_options_set_block_cache(handle, cache.handle)
    }

    deinit { rocksdb_block_based_options_destroy(handle) }
}

/// Owns a `rocksdb_cache_t` (an LRU block cache).
final class RocksLRUCache {
    let handle: OpaquePointer

    init(capacity: Int) { handle = rocksdb_cache_create_lru(capacity) }

    deinit { rocksdb_cache_destroy(handle) }
}

/// Owns a `rocksdb_writeoptions_t`.
final class RocksWriteOptions {
    let handle: OpaquePointer

    /// `sync: true` fsyncs the write-ahead log before the write returns (survives a power cut/kill -9).
    init(sync: Bool) {
        handle = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(handle, sync ? 1 : 0)
    }

    deinit { rocksdb_writeoptions_destroy(handle) }
}

/// Owns a `rocksdb_flushoptions_t`.
final class RocksFlushOptions {
    let handle: OpaquePointer

    init(wait: Bool) {
        handle = rocksdb_flushoptions_create()
        rocksdb_flushoptions_set_wait(handle, wait ? 1 : 0)
    }

    deinit { rocksdb_flushoptions_destroy(handle) }
}
