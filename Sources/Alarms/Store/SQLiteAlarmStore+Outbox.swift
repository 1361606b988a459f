import Foundation
import GRDB

extension SQLiteAlarmStore {
    /// Inserts entries as given (status, attempts, times), ignoring any whose idempotency key is
    /// already in the outbox; `id` is assigned by the store.
    public func enqueue(_ entries: [OutboxEntry]) async throws {
        if entries.isEmpty { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let rows = try entries.map { (entry: $0, json: String(decoding: try encoder.encode($0.notice), as: UTF8.self)) }
        try await write { db in
            let st = try Self.outboxInsert(db)
            for (e, json) in rows {
                try st.execute(arguments: [e.idempotencyKey, e.endpointUuid, e.topicUuid, json, e.status.rawValue, e.attempts,
                                           e.nextAttemptAt, e.createdAt, e.lastAttemptAt, e.deliveredAt, e.lastError])
            }
        }
    }

    /// Pending entries due at `now`, oldest (first inserted) first.
    public func dueDeliveries(now: Int64, limit: Int) async throws -> [OutboxEntry] {
        try await read { db in
            try OutboxRecord.filter(Column("status") == DeliveryStatus.pending.rawValue && Column("nextAttemptAt") <= now)
                .order(Column("id")).limit(max(0, limit)).fetchAll(db).map(\.value)
        }
    }

    public func nextDueTime() async throws -> Int64? {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(nextAttemptAt) FROM outbox WHERE status = ?",
                               arguments: [DeliveryStatus.pending.rawValue])
        }
    }

    /// Marks entries delivered (`attempts += 1`, `deliveredAt`, `lastAttemptAt`); `lastError`
    /// keeps the previous failure, if any. Unknown ids and already delivered entries are skipped.
    public func markDelivered(ids: [Int64], at: Int64) async throws {
        if ids.isEmpty { return }
        try await write { db in
            let st = try db.makeStatement(sql: """
                UPDATE outbox SET status = ?, attempts = attempts + 1, deliveredAt = ?, lastAttemptAt = ?
                WHERE id = ? AND status != ?
                """)
            for id in ids {
                try st.execute(arguments: [DeliveryStatus.delivered.rawValue, at, at, id, DeliveryStatus.delivered.rawValue])
            }
        }
    }

    /// Records a failed attempt. An entry no longer pending (delivered, or failed because its
    /// endpoint was deleted) keeps its status; an unknown id throws `AlarmNotFoundError("delivery")`.
    public func markAttemptFailed(id: Int64, error: String, at: Int64, nextAttemptAt: Int64, giveUp: Bool) async throws {
        try await write { db in
            guard let status = try String.fetchOne(db, sql: "SELECT status FROM outbox WHERE id = ?", arguments: [id]) else {
                throw AlarmNotFoundError(kind: "delivery", uuid: String(id))
            }
            guard status == DeliveryStatus.pending.rawValue else { return }
            try db.execute(sql: """
                UPDATE outbox SET attempts = attempts + 1, lastError = ?, lastAttemptAt = ?, nextAttemptAt = ?, status = ?
                WHERE id = ?
                """, arguments: [error, at, nextAttemptAt, (giveUp ? DeliveryStatus.failed : .pending).rawValue, id])
        }
    }

    public func postpone(ids: [Int64], until: Int64, reason: String) async throws {
        if ids.isEmpty { return }
        try await write { db in
            let st = try db.makeStatement(sql: "UPDATE outbox SET nextAttemptAt = ?, lastError = ? WHERE id = ? AND status = ?")
            for id in ids { try st.execute(arguments: [until, reason, id, DeliveryStatus.pending.rawValue]) }
        }
    }

    public func giveUp(ids: [Int64], reason: String, at: Int64) async throws {
        if ids.isEmpty { return }
        try await write { db in
            let st = try db.makeStatement(sql: "UPDATE outbox SET status = ?, lastError = ?, nextAttemptAt = ? WHERE id = ? AND status = ?")
            for id in ids {
                try st.execute(arguments: [DeliveryStatus.failed.rawValue, reason, at, id, DeliveryStatus.pending.rawValue])
            }
        }
    }

    /// Entries matching the query, newest first.
    public func outbox(_ query: OutboxQuery) async throws -> [OutboxEntry] {
        guard query.limit >= 0, query.offset >= 0 else {
            throw AlarmValidationError(field: query.limit < 0 ? "limit" : "offset", reason: "must not be negative")
        }
        return try await read { db in
            var r = OutboxRecord.all()
            if let s = query.status { r = r.filter(Column("status") == s.rawValue) }
            if let e = query.endpointUuid { r = r.filter(Column("endpointUuid") == e) }
            return try r.order(Column("id").desc).limit(query.limit, offset: query.offset).fetchAll(db).map(\.value)
        }
    }

    /// Every status with its count (0 when none).
    public func outboxCounts() async throws -> [DeliveryStatus: Int] {
        try await read { db in
            var counts = Dictionary(uniqueKeysWithValues: DeliveryStatus.allCases.map { ($0, 0) })
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM outbox GROUP BY status") {
                if let s = DeliveryStatus(rawValue: row[0]) { counts[s] = row[1] }
            }
            return counts
        }
    }

    // MARK: Beyond the protocol

    /// One outbox entry by id.
    public func outboxEntry(id: Int64) async throws -> OutboxEntry {
        guard let e = try await read({ try OutboxRecord.fetchOne($0, key: id) }) else {
            throw AlarmNotFoundError(kind: "delivery", uuid: String(id))
        }
        return e.value
    }

    /// Puts a failed entry back in the queue (the page's "retry" button): `Pending`, due at `at`,
    /// attempts and last error kept. A delivered or pending entry is left as it is; an entry whose
    /// endpoint was deleted cannot be retried (`AlarmValidationError`, field `endpointUuid`).
    public func retryDelivery(id: Int64, at: Int64) async throws {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT status, endpointUuid FROM outbox WHERE id = ?", arguments: [id]) else {
                throw AlarmNotFoundError(kind: "delivery", uuid: String(id))
            }
            guard row[0] as String == DeliveryStatus.failed.rawValue else { return }
            guard try EndpointRecord.exists(db, key: row[1] as String) else {
                throw AlarmValidationError(field: "endpointUuid", reason: "endpoint \(row[1] as String) was deleted; this delivery cannot be retried")
            }
            try db.execute(sql: "UPDATE outbox SET status = ?, nextAttemptAt = ? WHERE id = ?",
                           arguments: [DeliveryStatus.pending.rawValue, at, id])
        }
    }
}
