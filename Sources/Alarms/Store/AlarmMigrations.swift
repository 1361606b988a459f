import GRDB

/// The alarms schema, as versioned migrations. Never edit a registered migration: add a new one.
///
/// Arrays and dictionaries (labels, actions, matchers, endpoint configs, notices) are JSON text
/// columns; enums are their raw values; times are Int64 ms since the epoch.
enum AlarmMigrations {
    /// The migrator; `box` seals plaintext secrets in v2.
    static func migrator(box: AlarmSecretBox) -> DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: alarms, SNS, event subscriptions, silences, instances, history, outbox, meta") { db in
            try db.create(table: "alarm") { t in
                t.primaryKey("uuid", .text)
                t.column("name", .text).notNull()
                t.column("description", .text).notNull().defaults(to: "")
                t.column("namespace", .text).notNull()
                t.column("metricName", .text).notNull()
                t.column("labels", .text).notNull()
                t.column("comparisonOperator", .text).notNull()
                t.column("threshold", .double).notNull()
                t.column("period", .integer).notNull()
                t.column("type", .text).notNull()
                t.column("repeatInterval", .integer).notNull()
                t.column("repeatCount", .integer).notNull()
                t.column("enableRecovery", .boolean).notNull()
                t.column("emergencyLevel", .text).notNull()
                t.column("actions", .text).notNull()
                t.column("enabled", .boolean).notNull()
                t.column("builtIn", .boolean).notNull()
                t.column("createDate", .integer).notNull()
                t.column("lastOpDate", .integer).notNull()
            }
            try db.create(table: "sns_topic") { t in
                t.primaryKey("uuid", .text)
                t.column("name", .text).notNull().unique()
                t.column("description", .text).notNull().defaults(to: "")
                t.column("enabled", .boolean).notNull()
                t.column("createDate", .integer).notNull()
            }
            try db.create(table: "sns_endpoint") { t in
                t.primaryKey("uuid", .text)
                t.column("name", .text).notNull()
                t.column("description", .text).notNull().defaults(to: "")
                t.column("enabled", .boolean).notNull()
                // `HTTP`, `DingTalk`, `Email` (redundant with `config`, for queries).
                t.column("type", .text).notNull()
                t.column("config", .text).notNull()
                t.column("template", .text)
                t.column("recoveryTemplate", .text)
                t.column("createDate", .integer).notNull()
            }
            try db.create(table: "topic_subscription") { t in
                t.column("endpointUuid", .text).notNull().references("sns_endpoint", onDelete: .cascade)
                t.column("topicUuid", .text).notNull().indexed().references("sns_topic", onDelete: .cascade)
                t.primaryKey(["endpointUuid", "topicUuid"])
            }
            try db.create(table: "event_subscription") { t in
                t.primaryKey("uuid", .text)
                t.column("name", .text).notNull()
                t.column("namespace", .text).notNull()
                t.column("eventName", .text).notNull()
                t.column("labels", .text).notNull()
                t.column("actions", .text).notNull()
                t.column("emergencyLevel", .text).notNull()
                t.column("enabled", .boolean).notNull()
                t.column("createDate", .integer).notNull()
            }
            try db.create(table: "silence") { t in
                t.primaryKey("uuid", .text)
                t.column("matchers", .text).notNull()
                t.column("startsAt", .integer).notNull()
                t.column("endsAt", .integer).notNull().indexed()
                t.column("comment", .text).notNull().defaults(to: "")
                t.column("createdBy", .text).notNull().defaults(to: "")
                t.column("createDate", .integer).notNull()
            }
            try db.create(table: "alarm_instance") { t in
                t.column("alarmUuid", .text).notNull()
                t.column("instanceKey", .text).notNull()
                t.column("labels", .text).notNull()
                t.column("status", .text).notNull()
                t.column("since", .integer).notNull()
                t.column("lastValue", .double)
                t.column("lastNotifiedAt", .integer)
                t.column("notificationCount", .integer).notNull()
                t.primaryKey(["alarmUuid", "instanceKey"])
            }
            try db.create(table: "alarm_history") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("alarmUuid", .text).notNull().indexed()
                t.column("alarmName", .text).notNull()
                t.column("instanceKey", .text).notNull()
                t.column("labels", .text).notNull()
                t.column("resourceId", .text).notNull().indexed()
                t.column("previousStatus", .text).notNull()
                t.column("currentStatus", .text).notNull()
                t.column("value", .double)
                t.column("threshold", .double).notNull()
                t.column("emergencyLevel", .text).notNull()
                t.column("time", .integer).notNull().indexed()
                t.column("notified", .boolean).notNull()
                t.column("suppressedBy", .text)
            }
            try db.create(table: "outbox") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("idempotencyKey", .text).notNull().unique()
                t.column("endpointUuid", .text).notNull().indexed()
                t.column("topicUuid", .text)
                t.column("notice", .text).notNull()
                t.column("status", .text).notNull()
                t.column("attempts", .integer).notNull()
                t.column("nextAttemptAt", .integer).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("lastAttemptAt", .integer)
                t.column("deliveredAt", .integer)
                t.column("lastError", .text)
            }
            try db.create(index: "outbox_due", on: "outbox", columns: ["status", "nextAttemptAt"])
            try db.create(table: "alarm_meta") { t in
                t.primaryKey("key", .text)
                t.column("value", .integer).notNull()
            }
        }
        m.registerMigration("v2: endpoint secrets sealed with AES-256-GCM (alarms.key)") { db in
            try SQLiteAlarmStore.sealPlaintextSecrets(db, box: box)
        }
        return m
    }
}
