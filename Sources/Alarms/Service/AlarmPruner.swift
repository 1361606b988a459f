/// Deletes alarm history and finished (Delivered / Failed) outbox rows older than the retention,
/// in small batches (one short transaction each) so evaluation commits and deliveries are never
/// held up for long. Pending outbox rows are never pruned.
public struct AlarmPruner: Sendable {
    public let store: any AlarmStore
    /// Rows older than this (ms) are deleted.
    public let retention: Int64
    /// Rows of each kind deleted per transaction.
    public let batchSize: Int

    public init(store: any AlarmStore, retention: Int64, batchSize: Int) {
        self.store = store
        self.retention = retention
        self.batchSize = max(1, batchSize)
    }

    /// Prunes everything older than `now - retention`, batch after batch until a batch comes back
    /// short; returns the totals. Stops early (with what it did) when the task is cancelled.
    @discardableResult
    public func prune(now: Int64) async throws -> AlarmPruneCount {
        let cutoff = now - retention
        var total = AlarmPruneCount()
        while !Task.isCancelled {
            let batch = try await store.prune(before: cutoff, limit: batchSize)
            total.history += batch.history
            total.outbox += batch.outbox
            if batch.history < batchSize && batch.outbox < batchSize { break }
            // Let evaluation rounds and deliveries take the writer between batches.
            await Task.yield()
        }
        return total
    }
}
