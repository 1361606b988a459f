import NIOConcurrencyHelpers

/// A lock around a value with `Synchronization.Mutex`'s `withLock`, for the locks that many
/// threads contend for (the store's state, the write-ahead log, the RocksDB handle, the agent
/// ingest's tables).
///
/// On Linux, Swift 6.3's `Mutex` is a priority-inheritance futex (`FUTEX_LOCK_PI`). Unlocking a
/// contended one hands the lock to the longest waiter, which owns it before it runs. Until the
/// scheduler gets that thread onto a core, no thread can take the lock (swiftlang/swift#88440).
/// Scale run Q showed the cost during a push burst at 10,000 hosts on a 2-core manager: the four
/// ingest threads each spent as long blocked in `rt_mutex_schedule` on the store's lock (~30 % of
/// the burst) as running. `PlainMutex` is a plain pthread mutex (`NIOLock`): an unlock wakes one
/// waiter, and whichever thread is running takes the lock next.
///
/// ```swift
/// let totals = PlainMutex(0)
/// totals.withLock { $0 += 1 }
/// ```
public final class PlainMutex<Value>: @unchecked Sendable {
    private let lock = NIOLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    /// Runs `body` with the value, holding the lock.
    @inline(__always)
    public func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
