import GRDB

extension SQLiteAlarmStore {
    /// One short write transaction: the oldest `limit` history rows before `cutoff` (by the `time`
    /// index) and the oldest `limit` Delivered/Failed outbox rows whose last change (delivery,
    /// last attempt, give-up time in `nextAttemptAt`, creation: whichever is latest) is before it.
    /// Pending rows are never touched.
    public func prune(before cutoff: Int64, limit: Int) async throws -> AlarmPruneCount {
        guard limit > 0 else { throw AlarmValidationError(field: "limit", reason: "must be positive, not \(limit)") }
        return try await write { db in
            try db.execute(sql: """
                DELETE FROM alarm_history WHERE id IN
                  (SELECT id FROM alarm_history WHERE time < ? ORDER BY time LIMIT ?)
                """, arguments: [cutoff, limit])
            let history = db.changesCount
            try db.execute(sql: """
                DELETE FROM outbox WHERE id IN
                  (SELECT id FROM outbox WHERE status IN (?, ?)
                     AND MAX(COALESCE(deliveredAt, 0), COALESCE(lastAttemptAt, 0), nextAttemptAt, createdAt) < ? ORDER BY id LIMIT ?)
                """, arguments: [DeliveryStatus.delivered.rawValue, DeliveryStatus.failed.rawValue, cutoff, limit])
            return AlarmPruneCount(history: history, outbox: db.changesCount)
        }
    }
}
