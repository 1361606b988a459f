import CRocksDB

/// CPU priority of the store's background work that never holds the store's lock.
///
/// RocksDB compaction (ZSTD over everything a checkpoint or an hour boundary wrote) takes tens of
/// seconds of CPU; at normal priority it competed with agent pushes on a 2-core manager. Threads
/// that take the store's lock (checkpoints, maintenance) keep normal priority on purpose: a
/// lowered thread preempted while holding the lock stalls every push behind it.
///
/// ```swift
/// BackgroundPriority.lowerRocksDBCompaction()   // once, before opening stores
/// ```
public enum BackgroundPriority {
    /// Runs RocksDB's compaction threads (the process-wide default environment's low-priority
    /// pool) at the lowest CPU priority. Flushes keep normal priority, so memtables never fill
    /// while compaction waits for a free core. Affects every database of the process.
    public static func lowerRocksDBCompaction() {
        let env = rocksdb_create_default_env()
        rocksdb_env_lower_thread_pool_cpu_priority(env)
        // Destroys only the wrapper: the default environment lives for the whole process.
        rocksdb_env_destroy(env)
    }
}
