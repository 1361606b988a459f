import GRDB

extension SQLiteAlarmStore {
    // MARK: Event subscriptions

    public func createEventSubscription(_ subscription: EventSubscription, at: Int64) async throws -> EventSubscription {
        try events.validate(subscription)
        var s = subscription
        if s.uuid.isEmpty { s.uuid = Self.newUUID() }
        s.createDate = at
        let stored = s
        return try await write { db in
            try Self.requireTopics(db, stored.actions)
            guard try !EventSubscriptionRecord.exists(db, key: stored.uuid) else {
                throw AlarmValidationError(field: "uuid", reason: "an event subscription with uuid \(stored.uuid) exists; leave uuid empty to get a new one")
            }
            try EventSubscriptionRecord(stored).insert(db)
            return stored
        }
    }

    public func updateEventSubscription(_ subscription: EventSubscription) async throws -> EventSubscription {
        try events.validate(subscription)
        return try await write { db in
            guard let old = try EventSubscriptionRecord.fetchOne(db, key: subscription.uuid)?.value else {
                throw AlarmNotFoundError(kind: "event subscription", uuid: subscription.uuid)
            }
            try Self.requireTopics(db, subscription.actions)
            var s = subscription
            s.createDate = old.createDate
            try EventSubscriptionRecord(s).update(db)
            return s
        }
    }

    public func deleteEventSubscription(uuid: String) async throws {
        try await write { db in
            guard try EventSubscriptionRecord.deleteOne(db, key: uuid) else {
                throw AlarmNotFoundError(kind: "event subscription", uuid: uuid)
            }
        }
    }

    /// All event subscriptions, oldest first.
    public func eventSubscriptions() async throws -> [EventSubscription] {
        try await read { db in
            try EventSubscriptionRecord.order(Column("createDate"), Column("name"), Column("uuid")).fetchAll(db).map(\.value)
        }
    }

    /// One event subscription (not in the protocol; the API's GET by uuid).
    public func eventSubscription(uuid: String) async throws -> EventSubscription {
        guard let s = try await read({ try EventSubscriptionRecord.fetchOne($0, key: uuid) }) else {
            throw AlarmNotFoundError(kind: "event subscription", uuid: uuid)
        }
        return s.value
    }

    // MARK: Silences

    public func createSilence(_ silence: Silence, at: Int64) async throws -> Silence {
        try events.validate(silence)
        var s = silence
        if s.uuid.isEmpty { s.uuid = Self.newUUID() }
        s.createDate = at
        let stored = s
        return try await write { db in
            guard try !SilenceRecord.exists(db, key: stored.uuid) else {
                throw AlarmValidationError(field: "uuid", reason: "a silence with uuid \(stored.uuid) exists; leave uuid empty to get a new one")
            }
            try SilenceRecord(stored).insert(db)
            return stored
        }
    }

    /// Ends the silence at `at` (a silence that has not started yet ends before it starts; one
    /// already over is left as it is).
    public func expireSilence(uuid: String, at: Int64) async throws {
        try await write { db in
            guard var s = try SilenceRecord.fetchOne(db, key: uuid) else { throw AlarmNotFoundError(kind: "silence", uuid: uuid) }
            guard s.value.endsAt > at else { return }
            s.value.endsAt = at
            s.value.startsAt = min(s.value.startsAt, at)
            try s.update(db)
        }
    }

    /// Silences with `endsAt > since`, newest (latest `startsAt`) first.
    public func silences(endingAfter since: Int64) async throws -> [Silence] {
        try await read { db in
            try SilenceRecord.filter(Column("endsAt") > since)
                .order(Column("startsAt").desc, Column("createDate").desc, Column("uuid")).fetchAll(db).map(\.value)
        }
    }

    /// One silence (not in the protocol; the API's GET by uuid).
    public func silence(uuid: String) async throws -> Silence {
        guard let s = try await read({ try SilenceRecord.fetchOne($0, key: uuid) }) else {
            throw AlarmNotFoundError(kind: "silence", uuid: uuid)
        }
        return s.value
    }
}
