import Foundation
import GRDB

extension SQLiteAlarmStore {
    static let eventCursorKey = "eventCursor"

    /// Every stored instance state, by alarm then key.
    public func instanceStates() async throws -> [AlarmInstanceState] {
        try await read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT alarmUuid, instanceKey, labels, status, since, lastValue, lastNotifiedAt, notificationCount
                FROM alarm_instance ORDER BY alarmUuid, instanceKey
                """)
            var out: [AlarmInstanceState] = []
            while let r = try rows.next() {
                let status: String = r[3]
                guard let s = AlarmStatus(rawValue: status) else {
                    throw AlarmStoreCorruption(table: "alarm_instance", detail: "unknown status '\(status)'")
                }
                out.append(AlarmInstanceState(
                    alarmUuid: r[0], instanceKey: r[1], labels: try FlatJSON.decode(r[2], table: "alarm_instance"), status: s,
                    since: r[4], lastValue: r[5], lastNotifiedAt: r[6], notificationCount: r[7]))
            }
            return out
        }
    }

    /// One transaction: upserts `states` (of alarms that still exist), deletes `removedInstances`,
    /// appends `history`, fans each notice out to every enabled endpoint subscribed to one of its
    /// enabled topics (one outbox row per endpoint, `INSERT OR IGNORE` by idempotency key, so a
    /// replayed round adds nothing), and sets the event cursor when given. Topics that no longer
    /// exist route nowhere; the rest of the round still commits.
    public func commit(_ round: AlarmRoundCommit) async throws {
        if round.isEmpty { return }
        // JSON is built before taking the writer, so the write lock is held for SQL only.
        let stateLabels = round.states.map { FastJSON.object($0.labels) }
        let historyLabels = round.history.map { FastJSON.object($0.labels) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let notices = try round.notices.map { (routed: $0, json: String(decoding: try encoder.encode($0.notice), as: UTF8.self)) }
        try await write { db in
            if !round.states.isEmpty {
                let st = try db.makeStatement(sql: """
                    INSERT OR REPLACE INTO alarm_instance
                      (alarmUuid, instanceKey, labels, status, since, lastValue, lastNotifiedAt, notificationCount)
                    SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM alarm WHERE uuid = ?1)
                    """)
                for (i, s) in round.states.enumerated() {
                    try st.execute(arguments: [s.alarmUuid, s.instanceKey, stateLabels[i], s.status.rawValue, s.since,
                                               s.lastValue, s.lastNotifiedAt, s.notificationCount])
                }
            }
            if !round.removedInstances.isEmpty {
                let st = try db.makeStatement(sql: "DELETE FROM alarm_instance WHERE alarmUuid = ? AND instanceKey = ?")
                for id in round.removedInstances { try st.execute(arguments: [id.alarmUuid, id.instanceKey]) }
            }
            if !round.history.isEmpty {
                let st = try db.makeStatement(sql: """
                    INSERT INTO alarm_history (alarmUuid, alarmName, instanceKey, labels, resourceId, previousStatus,
                      currentStatus, value, threshold, emergencyLevel, time, notified, suppressedBy)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for (i, h) in round.history.enumerated() {
                    try st.execute(arguments: [h.alarmUuid, h.alarmName, h.instanceKey, historyLabels[i], h.resourceId,
                                               h.previousStatus.rawValue, h.currentStatus.rawValue, h.value, h.threshold,
                                               h.emergencyLevel.rawValue, h.time, h.notified, h.suppressedBy])
                }
            }
            if !notices.isEmpty {
                let routes = try Self.enabledRoutes(db)
                let st = try Self.outboxInsert(db)
                for (routed, json) in notices {
                    var seen = Set<String>()
                    for topic in routed.topicUuids {
                        for endpoint in routes[topic] ?? [] where seen.insert(endpoint).inserted {
                            try st.execute(arguments: [OutboxEntry.key(routed.notice, endpointUuid: endpoint), endpoint, topic, json,
                                                       DeliveryStatus.pending.rawValue, 0, round.time, round.time,
                                                       nil as Int64?, nil as Int64?, nil as String?])
                        }
                    }
                }
            }
            if let cursor = round.eventCursor {
                try db.execute(sql: "INSERT OR REPLACE INTO alarm_meta (key, value) VALUES (?, ?)",
                               arguments: [Self.eventCursorKey, cursor])
            }
        }
    }

    /// Enabled topic uuid → enabled endpoint uuids subscribed to it.
    static func enabledRoutes(_ db: Database) throws -> [String: [String]] {
        var routes: [String: [String]] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT s.topicUuid, s.endpointUuid FROM topic_subscription s
            JOIN sns_topic t ON t.uuid = s.topicUuid JOIN sns_endpoint e ON e.uuid = s.endpointUuid
            WHERE t.enabled AND e.enabled ORDER BY s.topicUuid, s.endpointUuid
            """)
        while let r = try rows.next() { routes[r[0] as String, default: []].append(r[1]) }
        return routes
    }

    static func outboxInsert(_ db: Database) throws -> Statement {
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO outbox (idempotencyKey, endpointUuid, topicUuid, notice, status, attempts,
              nextAttemptAt, createdAt, lastAttemptAt, deliveredAt, lastError)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
    }

    public func eventCursor() async throws -> Int64 {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM alarm_meta WHERE key = ?", arguments: [Self.eventCursorKey]) ?? 0
        }
    }

    /// History entries matching every given filter, newest first (by time, then insertion).
    public func history(_ query: AlarmHistoryQuery) async throws -> [AlarmHistoryEntry] {
        guard query.limit >= 0, query.offset >= 0 else {
            throw AlarmValidationError(field: query.limit < 0 ? "limit" : "offset", reason: "must not be negative")
        }
        return try await read { db in
            var r = HistoryRecord.all()
            if let a = query.alarmUuid { r = r.filter(Column("alarmUuid") == a) }
            if let res = query.resourceId { r = r.filter(Column("resourceId") == res) }
            if let s = query.status { r = r.filter(Column("currentStatus") == s.rawValue) }
            if let from = query.from { r = r.filter(Column("time") >= from) }
            if let to = query.to { r = r.filter(Column("time") <= to) }
            return try r.order(Column("time").desc, Column("id").desc).limit(query.limit, offset: query.offset)
                .fetchAll(db).map(\.value)
        }
    }
}

/// A row the store cannot read back (a value no version of Stratus writes).
public struct AlarmStoreCorruption: Error, CustomStringConvertible {
    public var table: String
    public var detail: String
    public var description: String { "alarm store table \(table): \(detail)" }
}

/// Reads the flat `{"k":"v"}` label objects back (JSONSerialization: Foundation's compiled
/// parser, about 3x faster than `JSONDecoder` for 100,000 small objects).
enum FlatJSON {
    static func decode(_ text: String, table: String) throws -> [String: String] {
        if text == "{}" { return [:] }
        guard let d = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else {
            throw AlarmStoreCorruption(table: table, detail: "labels are not a JSON object of strings: \(text.prefix(200))")
        }
        return d
    }
}
