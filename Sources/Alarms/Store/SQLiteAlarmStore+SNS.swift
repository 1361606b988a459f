import GRDB

extension SQLiteAlarmStore {
    // MARK: Topics

    /// Topic names are unique (ZStack's UI picks topics by name).
    public func createTopic(_ topic: SNSTopic, at: Int64) async throws -> SNSTopic {
        try sns.validate(topic)
        var t = topic
        if t.uuid.isEmpty { t.uuid = Self.newUUID() }
        t.createDate = at
        let stored = t
        return try await write { db in
            guard try !TopicRecord.exists(db, key: stored.uuid) else {
                throw AlarmValidationError(field: "uuid", reason: "a topic with uuid \(stored.uuid) exists; leave uuid empty to get a new one")
            }
            try Self.requireUniqueTopicName(db, stored)
            try TopicRecord(stored).insert(db)
            return stored
        }
    }

    public func updateTopic(_ topic: SNSTopic) async throws -> SNSTopic {
        try sns.validate(topic)
        return try await write { db in
            guard let old = try TopicRecord.fetchOne(db, key: topic.uuid)?.value else {
                throw AlarmNotFoundError(kind: "topic", uuid: topic.uuid)
            }
            try Self.requireUniqueTopicName(db, topic)
            var t = topic
            t.createDate = old.createDate
            try TopicRecord(t).update(db)
            return t
        }
    }

    /// Deletes the topic and its subscriptions, and removes its uuid from every alarm's and event
    /// subscription's `actions`. Outbox entries already routed through it stay and are delivered.
    public func deleteTopic(uuid: String) async throws {
        try await write { db in
            guard try TopicRecord.deleteOne(db, key: uuid) else { throw AlarmNotFoundError(kind: "topic", uuid: uuid) }
            for var r in try AlarmRuleRecord.fetchAll(db) where r.value.actions.contains(uuid) {
                r.value.actions.removeAll { $0 == uuid }
                try r.update(db)
            }
            for var s in try EventSubscriptionRecord.fetchAll(db) where s.value.actions.contains(uuid) {
                s.value.actions.removeAll { $0 == uuid }
                try s.update(db)
            }
        }
    }

    public func topic(uuid: String) async throws -> SNSTopic {
        guard let t = try await read({ try TopicRecord.fetchOne($0, key: uuid) }) else {
            throw AlarmNotFoundError(kind: "topic", uuid: uuid)
        }
        return t.value
    }

    /// All topics by name.
    public func topics() async throws -> [SNSTopic] {
        try await read { db in try TopicRecord.order(Column("name")).fetchAll(db).map(\.value) }
    }

    static func requireUniqueTopicName(_ db: Database, _ t: SNSTopic) throws {
        let clash = try TopicRecord.filter(Column("name") == t.name && Column("uuid") != t.uuid).fetchOne(db)
        if clash != nil {
            throw AlarmValidationError(field: "name", reason: "a topic named '\(t.name)' exists; choose another name")
        }
    }

    // MARK: Endpoints

    public func createEndpoint(_ endpoint: SNSEndpoint, at: Int64) async throws -> SNSEndpoint {
        try sns.validate(endpoint)
        var e = endpoint
        if e.uuid.isEmpty { e.uuid = Self.newUUID() }
        e.createDate = at
        let stored = e
        return try await write { db in
            guard try !EndpointRecord.exists(db, key: stored.uuid) else {
                throw AlarmValidationError(field: "uuid", reason: "an endpoint with uuid \(stored.uuid) exists; leave uuid empty to get a new one")
            }
            try EndpointRecord(self.sealed(stored)).insert(db)
            return stored
        }
    }

    /// Replaces the endpoint's settings (its type may change too); pending deliveries use the new
    /// settings on their next attempt.
    public func updateEndpoint(_ endpoint: SNSEndpoint) async throws -> SNSEndpoint {
        try sns.validate(endpoint)
        return try await write { db in
            guard let old = try EndpointRecord.fetchOne(db, key: endpoint.uuid)?.value else {
                throw AlarmNotFoundError(kind: "endpoint", uuid: endpoint.uuid)
            }
            var e = endpoint
            e.createDate = old.createDate
            try EndpointRecord(self.sealed(e)).update(db)
            return e
        }
    }

    /// Deletes the endpoint and its subscriptions; its pending outbox entries become `Failed`
    /// with `lastError = "endpoint deleted"` (kept for the record, never retried).
    public func deleteEndpoint(uuid: String) async throws {
        try await write { db in
            guard try EndpointRecord.deleteOne(db, key: uuid) else { throw AlarmNotFoundError(kind: "endpoint", uuid: uuid) }
            try db.execute(
                sql: "UPDATE outbox SET status = ?, lastError = ? WHERE endpointUuid = ? AND status = ?",
                arguments: [DeliveryStatus.failed.rawValue, Self.endpointDeletedError, uuid, DeliveryStatus.pending.rawValue])
        }
    }

    /// `lastError` of pending entries whose endpoint was deleted.
    public static let endpointDeletedError = "endpoint deleted"

    public func endpoint(uuid: String) async throws -> SNSEndpoint {
        guard let e = try await read({ try EndpointRecord.fetchOne($0, key: uuid) }) else {
            throw AlarmNotFoundError(kind: "endpoint", uuid: uuid)
        }
        return try opened(e.value)
    }

    /// All endpoints by name.
    public func endpoints() async throws -> [SNSEndpoint] {
        let stored = try await read { db in try EndpointRecord.order(Column("name"), Column("uuid")).fetchAll(db).map(\.value) }
        return try stored.map { e throws(AlarmKeyError) in try opened(e) }
    }

    // MARK: Subscriptions

    public func subscribe(endpointUuid: String, topicUuid: String) async throws {
        try await write { db in
            guard try EndpointRecord.exists(db, key: endpointUuid) else {
                throw AlarmNotFoundError(kind: "endpoint", uuid: endpointUuid)
            }
            guard try TopicRecord.exists(db, key: topicUuid) else { throw AlarmNotFoundError(kind: "topic", uuid: topicUuid) }
            try SubscriptionRecord(endpointUuid: endpointUuid, topicUuid: topicUuid).insert(db, onConflict: .ignore)
        }
    }

    /// Removes the subscription; unknown endpoint or topic uuids throw `AlarmNotFoundError`, a
    /// missing subscription between existing ones is not an error.
    public func unsubscribe(endpointUuid: String, topicUuid: String) async throws {
        try await write { db in
            guard try EndpointRecord.exists(db, key: endpointUuid) else {
                throw AlarmNotFoundError(kind: "endpoint", uuid: endpointUuid)
            }
            guard try TopicRecord.exists(db, key: topicUuid) else { throw AlarmNotFoundError(kind: "topic", uuid: topicUuid) }
            try db.execute(sql: "DELETE FROM topic_subscription WHERE endpointUuid = ? AND topicUuid = ?",
                           arguments: [endpointUuid, topicUuid])
        }
    }

    public func topics(ofEndpoint endpointUuid: String) async throws -> [String] {
        try await read { db in
            guard try EndpointRecord.exists(db, key: endpointUuid) else {
                throw AlarmNotFoundError(kind: "endpoint", uuid: endpointUuid)
            }
            return try String.fetchAll(db, sql: "SELECT topicUuid FROM topic_subscription WHERE endpointUuid = ? ORDER BY topicUuid",
                                       arguments: [endpointUuid])
        }
    }

    public func endpoints(ofTopic topicUuid: String) async throws -> [String] {
        try await read { db in
            guard try TopicRecord.exists(db, key: topicUuid) else { throw AlarmNotFoundError(kind: "topic", uuid: topicUuid) }
            return try String.fetchAll(db, sql: "SELECT endpointUuid FROM topic_subscription WHERE topicUuid = ? ORDER BY endpointUuid",
                                       arguments: [topicUuid])
        }
    }
}
