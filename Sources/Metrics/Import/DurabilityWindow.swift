import Foundation

/// The importer's appends that are applied but not yet fsync'd, at most `limit` of them: the
/// appender goes on with the next batch while the WAL's group commit syncs the earlier ones, and
/// the import reports success only after `drain()` saw every one durable.
/// For blocking threads only (never the cooperative pool).
final class DurabilityWindow: @unchecked Sendable {
    // @unchecked: `pending` and `failure` are read and written only while `condition` is locked.
    private let condition = NSCondition()
    private var pending = 0
    private var failure: (any Error)?
    private let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Waits while `limit` appends are pending, then counts one more; throws the first sync failure.
    func enter() throws {
        condition.lock()
        defer { condition.unlock() }
        while pending >= limit && failure == nil { condition.wait() }
        if let failure { throw failure }
        pending += 1
    }

    /// One pending append is durable (or failed to become so).
    func leave(_ result: Result<Void, any Error>) {
        condition.lock()
        defer { condition.unlock() }
        pending -= 1
        if case let .failure(error) = result, failure == nil { failure = error }
        condition.broadcast()
    }

    /// Waits until nothing is pending; throws the first sync failure.
    func drain() throws {
        condition.lock()
        defer { condition.unlock() }
        while pending > 0 { condition.wait() }
        if let failure { throw failure }
    }
}
