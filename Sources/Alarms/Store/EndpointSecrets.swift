import GRDB

extension EndpointConfig {
    /// The config with every secret (`HTTP` password and HMAC secret, `DingTalk` secret, `Email`
    /// password) replaced by `transform(fieldName, value)`; other fields untouched.
    func mapSecrets<E: Error>(_ transform: (String, String) throws(E) -> String) throws(E) -> EndpointConfig {
        switch self {
        case var .http(c):
            if let v = c.password { c.password = try transform("password", v) }
            if let v = c.secret { c.secret = try transform("secret", v) }
            return .http(c)
        case var .dingTalk(c):
            if let v = c.secret { c.secret = try transform("secret", v) }
            return .dingTalk(c)
        case var .email(c):
            if let v = c.password { c.password = try transform("password", v) }
            return .email(c)
        }
    }
}

extension SQLiteAlarmStore {
    /// The endpoint as stored: its secrets sealed under the store's key.
    func sealed(_ e: SNSEndpoint) -> SNSEndpoint {
        var out = e
        out.config = e.config.mapSecrets { (_, v) in box.seal(v) }
        return out
    }

    /// The endpoint as callers see it: secrets opened. Throws `AlarmKeyError.cannotDecrypt` naming
    /// the endpoint and field when the key does not match.
    func opened(_ e: SNSEndpoint) throws(AlarmKeyError) -> SNSEndpoint {
        var out = e
        out.config = try e.config.mapSecrets { (field, v) throws(AlarmKeyError) in
            try box.open(v, what: "the \(field) of endpoint '\(e.name)' (\(e.uuid))")
        }
        return out
    }

    /// Seals every plaintext secret in `sns_endpoint` (the v2 migration: stores written before
    /// secrets were encrypted). Values already sealed are left as they are.
    static func sealPlaintextSecrets(_ db: Database, box: AlarmSecretBox) throws {
        for var record in try EndpointRecord.fetchAll(db) {
            let before = record.value.config
            record.value.config = before.mapSecrets { (_, v) in AlarmSecretBox.isSealed(v) ? v : box.seal(v) }
            if record.value.config != before { try record.update(db) }
        }
    }

    /// Whether any stored endpoint config holds a sealed value.
    static func hasSealedSecrets(_ db: Database) throws -> Bool {
        guard try db.tableExists("sns_endpoint") else { return false }
        return try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM sns_endpoint WHERE instr(config, ?) > 0)",
                                 arguments: [AlarmSecretBox.prefix]) ?? false
    }
}
