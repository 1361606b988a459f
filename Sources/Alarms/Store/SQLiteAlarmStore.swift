import Control
import Foundation
import GRDB

/// The alarms' durable home: one SQLite file (WAL, `synchronous = FULL`, so a committed
/// transaction survives kill -9 and power loss) through GRDB, migrated on open.
///
/// Every call is one transaction on GRDB's own serial writer queue (or a reader of the pool),
/// never blocking the cooperative thread pool. Validation errors are `AlarmValidationError`,
/// unknown uuids `AlarmNotFoundError`, SQLite failures `ControlError.storage`.
public final class SQLiteAlarmStore: AlarmStore {
    let db: any DatabaseWriter
    let rules = AlarmRuleValidator()
    let sns = SNSValidator()
    let events = EventSubscriptionValidator()

    /// Seals endpoint secrets at rest (`alarms.key`).
    let box: AlarmSecretBox

    /// Opens (creating and migrating) the database at `path`; `nil` opens a private in-memory one.
    ///
    /// Endpoint secrets are sealed with the key in `alarms.key` beside the database (created, 0600,
    /// on first open; an in-memory store uses a random key of its own). Opening checks that every
    /// stored secret opens with the key. Throws `AlarmKeyError` when the key file is unreadable,
    /// not 32 bytes, missing while the database holds sealed secrets, or not the key they were
    /// sealed with; `ControlError.storage` when SQLite fails.
    public init(path: String?) throws {
        do {
            var config = Configuration()
            config.foreignKeysEnabled = true
            if let path {
                let pool = try DatabasePool(path: path, configuration: config)
                // GRDB opens pools with `synchronous = NORMAL`, which may lose the last committed
                // transactions on power loss; the outbox promises more. Writes use this one
                // connection, so setting it here covers all of them.
                try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
                db = pool
                let keyPath = AlarmKeyFile.path(besideDatabase: path)
                if let key = try AlarmKeyFile.load(path: keyPath) {
                    box = try AlarmSecretBox(key: key)
                } else {
                    // A new key cannot open secrets sealed under a lost one: say so instead.
                    if try pool.read(Self.hasSealedSecrets) { throw AlarmKeyError.missing(path: keyPath, database: path) }
                    box = try AlarmSecretBox(key: try AlarmKeyFile.loadOrCreate(path: keyPath))
                }
            } else {
                db = try DatabaseQueue(configuration: config)
                box = .ephemeral()
            }
            try AlarmMigrations.migrator(box: box).migrate(db)
            try verifySecrets()
        } catch let error as DatabaseError {
            throw ControlError.storage("cannot open alarm store \(path ?? ":memory:"): \(error.message ?? "\(error)")")
        }
    }

    /// Opens every stored secret once, so a wrong key fails at start-up rather than at the first delivery.
    private func verifySecrets() throws {
        let endpoints = try db.read { try EndpointRecord.fetchAll($0).map(\.value) }
        for e in endpoints { _ = try opened(e) }
    }

    /// Runs a write transaction, turning SQLite errors into `ControlError.storage`.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await db.write(body) } catch let e as DatabaseError {
            throw ControlError.storage("alarm store: \(e.message ?? "\(e)")")
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await db.read(body) } catch let e as DatabaseError {
            throw ControlError.storage("alarm store: \(e.message ?? "\(e)")")
        }
    }

    /// A new ZStack-style uuid: 32 lowercase hex digits.
    static func newUUID() -> String { ResourceUUID.make() }

    // MARK: Alarm rules

    public func createAlarm(_ rule: AlarmRule, at: Int64) async throws -> AlarmRule {
        try rules.validate(rule)
        var r = rule
        if r.uuid.isEmpty { r.uuid = Self.newUUID() }
        r.createDate = at
        r.lastOpDate = at
        let stored = r
        return try await write { db in
            try Self.requireTopics(db, stored.actions)
            guard try AlarmRuleRecord.fetchOne(db, key: stored.uuid) == nil else {
                throw AlarmValidationError(field: "uuid", reason: "an alarm with uuid \(stored.uuid) exists; leave uuid empty to get a new one")
            }
            try AlarmRuleRecord(stored).insert(db)
            return stored
        }
    }

    public func updateAlarm(_ rule: AlarmRule, at: Int64) async throws -> AlarmRule {
        try rules.validate(rule)
        return try await write { db in
            guard let old = try AlarmRuleRecord.fetchOne(db, key: rule.uuid)?.value else {
                throw AlarmNotFoundError(kind: "alarm", uuid: rule.uuid)
            }
            try Self.requireTopics(db, rule.actions)
            var r = rule
            r.createDate = old.createDate
            r.builtIn = old.builtIn
            r.lastOpDate = at
            try AlarmRuleRecord(r).update(db)
            if old.namespace != r.namespace || old.metricName != r.metricName || old.labels != r.labels || old.type != r.type {
                try db.execute(sql: "DELETE FROM alarm_instance WHERE alarmUuid = ?", arguments: [r.uuid])
            }
            return r
        }
    }

    public func deleteAlarm(uuid: String) async throws {
        try await write { db in
            guard try AlarmRuleRecord.deleteOne(db, key: uuid) else { throw AlarmNotFoundError(kind: "alarm", uuid: uuid) }
            try db.execute(sql: "DELETE FROM alarm_instance WHERE alarmUuid = ?", arguments: [uuid])
        }
    }

    public func alarm(uuid: String) async throws -> AlarmRule {
        guard let r = try await read({ try AlarmRuleRecord.fetchOne($0, key: uuid) }) else {
            throw AlarmNotFoundError(kind: "alarm", uuid: uuid)
        }
        return r.value
    }

    /// All rules, oldest first (then by name).
    public func alarms() async throws -> [AlarmRule] {
        try await read { db in
            try AlarmRuleRecord.order(Column("createDate"), Column("name"), Column("uuid")).fetchAll(db).map(\.value)
        }
    }

    /// Throws `AlarmValidationError(field: "actions")` naming the first unknown topic uuid.
    static func requireTopics(_ db: Database, _ uuids: [String]) throws {
        for u in uuids where try !TopicRecord.exists(db, key: u) {
            throw AlarmValidationError(field: "actions", reason: "no SNS topic with uuid \(u); create it first or remove it from actions")
        }
    }
}

extension SQLiteAlarmStore {
    /// The writer connection's journal mode and `synchronous` level (2 = FULL), for tests.
    func pragmas() async throws -> (journalMode: String, synchronous: Int) {
        try await write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "", try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1)
        }
    }
}
