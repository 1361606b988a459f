import GRDB

extension SQLiteInventoryStore {
    public func createAccount(name: String, passwordHash: String, type: String, at: Int64) async throws -> Account {
        try Self.requireName(name)
        let account = Account(uuid: ResourceUUID.make(), name: name, passwordHash: passwordHash, type: type,
                              createDate: at, lastOpDate: at)
        return try await write { db in
            if try Account.filter(Column("name") == name).fetchOne(db) != nil {
                throw ControlError.alreadyExists(resource: "account", id: name)
            }
            try account.insert(db)
            try Self.log(db, at, "Account", account.uuid, "Created", nil, account.name)
            return account
        }
    }

    public func account(named name: String) async throws -> Account? {
        try await read { try Account.filter(Column("name") == name).fetchOne($0) }
    }

    public func account(uuid: String) async throws -> Account? {
        try await read { try Account.fetchOne($0, key: uuid) }
    }

    public func createSession(accountUuid: String, at: Int64, ttl: Int64) async throws -> Session {
        let session = Session(uuid: ResourceUUID.make(), accountUuid: accountUuid, createDate: at, expiredDate: at + ttl)
        return try await write { db in
            // Expired sessions are cleaned up whenever a new one starts.
            try Session.filter(Column("expiredDate") <= at).deleteAll(db)
            try session.insert(db)
            return session
        }
    }

    public func validSession(uuid: String, at: Int64) async throws -> Session? {
        try await read { db in
            try Session.filter(Column("uuid") == uuid && Column("expiredDate") > at).fetchOne(db)
        }
    }

    public func deleteSession(uuid: String) async throws {
        _ = try await write { db in try Session.deleteOne(db, key: uuid) }
    }
}
