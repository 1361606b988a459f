@testable import Alarms
import Foundation
import GRDB
import Testing

/// Endpoint secrets at rest: AES-256-GCM under `alarms.key`, on a real SQLite file.
@Suite struct AlarmStoreSecretTests {
    static let secrets = ["hmac-Secret-1234", "basic-Pa55word", "SECdingtalk-abcdef", "smtp-pw-9876"]

    static func endpoints() -> [SNSEndpoint] {
        [
            SNSEndpoint(uuid: "", name: "hook", config: .http(HTTPEndpointConfig(
                url: "http://127.0.0.1:9/hook", username: "ops", password: secrets[1], secret: secrets[0]))),
            SNSEndpoint(uuid: "", name: "robot", config: .dingTalk(DingTalkEndpointConfig(
                url: "https://oapi.dingtalk.com/robot/send?access_token=abc", secret: secrets[2]))),
            SNSEndpoint(uuid: "", name: "mail", config: .email(EmailEndpointConfig(
                smtpServer: "127.0.0.1", smtpPort: 2525, username: "bot", password: secrets[3], from: "a@example.com",
                recipients: ["b@example.com"]))),
        ]
    }

    /// Every text column of `sns_endpoint`, read with plain SQLite (no Stratus code).
    static func rawConfigs(_ dbPath: String) throws -> [String] {
        let q = try DatabaseQueue(path: dbPath)
        return try q.read { try String.fetchAll($0, sql: "SELECT config FROM sns_endpoint ORDER BY name") }
    }

    static func rawFile(_ dir: AlarmStoreTempDir) throws -> Data {
        var all = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.url.path) where name.hasPrefix("alarms.sqlite") {
            all.append(try Data(contentsOf: dir.url.appendingPathComponent(name)))
        }
        return all
    }

    @Test func secretsAreSealedOnDiskAndOpenAfterReopen() async throws {
        let dir = try AlarmStoreTempDir()
        var created: [SNSEndpoint] = []
        do {
            let store = try SQLiteAlarmStore(path: dir.dbPath)
            for e in Self.endpoints() { created.append(try await store.createEndpoint(e, at: 1)) }
            // Round trip in the same process.
            #expect(try await store.endpoints().sorted { $0.name < $1.name } == created.sorted { $0.name < $1.name })
        }
        // The key file: 32 bytes, owner read/write only.
        let keyPath = dir.url.appendingPathComponent("alarms.key").path
        let attrs = try FileManager.default.attributesOfItem(atPath: keyPath)
        #expect(attrs[.size] as? Int == 32)
        #expect((attrs[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o600)

        let configs = try Self.rawConfigs(dir.dbPath)
        #expect(configs.count == 3)
        for secret in Self.secrets { #expect(!configs.contains { $0.contains(secret) }, "plaintext \(secret) in a config column") }
        // Four sealed values, each enc:v1: + base64(12-byte nonce | ciphertext | 16-byte tag).
        // (JSONEncoder writes `/` as `\/`.)
        let sealed = configs.flatMap { c in
            c.components(separatedBy: "\"").filter { $0.hasPrefix("enc:v1:") }.map { $0.replacingOccurrences(of: "\\/", with: "/") }
        }
        #expect(sealed.count == 4)
        for s in sealed {
            let raw = try #require(Data(base64Encoded: String(s.dropFirst(7))))
            #expect(raw.count >= 12 + 16 + 4)
        }
        // Not in any page of the database file or its WAL either.
        let file = try Self.rawFile(dir)
        for secret in Self.secrets { #expect(file.range(of: Data(secret.utf8)) == nil, "plaintext \(secret) in the database file") }
        // The non-secret fields stay readable (queries, debugging).
        #expect(configs.contains { $0.contains("oapi.dingtalk.com") && $0.contains("access_token=abc") })

        let reopened = try SQLiteAlarmStore(path: dir.dbPath)
        #expect(try await reopened.endpoints().sorted { $0.name < $1.name } == created.sorted { $0.name < $1.name })
        // An update re-seals the new value; the old one is gone.
        var hook = try #require(created.first { $0.name == "hook" })
        hook.config = .http(HTTPEndpointConfig(url: "http://127.0.0.1:9/hook", secret: "rotated-Secret-5555"))
        _ = try await reopened.updateEndpoint(hook)
        #expect(try await reopened.endpoint(uuid: hook.uuid) == hook)
        let after = try Self.rawConfigs(dir.dbPath).joined()
        #expect(!after.contains("rotated-Secret-5555") && !after.contains(Self.secrets[0]))
    }

    @Test func eachSealIsFreshAndTamperingIsDetected() throws {
        let box = AlarmSecretBox.ephemeral()
        let a = box.seal("same"), b = box.seal("same")
        #expect(a != b && a.hasPrefix("enc:v1:"))
        #expect(try box.open(a, what: "a") == "same")
        #expect(try box.open(b, what: "b") == "same")
        #expect(try box.open(box.seal(""), what: "empty") == "")
        #expect(try box.open(box.seal("密码 ünïcode"), what: "u") == "密码 ünïcode")
        // Flip one ciphertext byte: GCM's tag no longer matches.
        var raw = [UInt8](Data(base64Encoded: String(a.dropFirst(7)))!)
        raw[13] ^= 1
        let altered = "enc:v1:" + Data(raw).base64EncodedString()
        #expect(throws: AlarmKeyError.self) { try box.open(altered, what: "altered") }
        #expect(throws: AlarmKeyError.self) { try AlarmSecretBox.ephemeral().open(a, what: "other key") }
        #expect(throws: AlarmKeyError.wrongSize(path: "(in memory)", size: 16)) { try AlarmSecretBox(key: [UInt8](repeating: 1, count: 16)) }
    }

    @Test func aWrongKeyFailsAtOpenWithAClearError() async throws {
        let dir = try AlarmStoreTempDir()
        do {
            let store = try SQLiteAlarmStore(path: dir.dbPath)
            _ = try await store.createEndpoint(Self.endpoints()[0], at: 1)
        }
        let keyPath = dir.url.appendingPathComponent("alarms.key")
        let original = try Data(contentsOf: keyPath)
        try Data(repeating: 7, count: 32).write(to: keyPath)
        do {
            _ = try SQLiteAlarmStore(path: dir.dbPath)
            Issue.record("opened with the wrong key")
        } catch let e as AlarmKeyError {
            guard case let .cannotDecrypt(what, _) = e else { Issue.record("unexpected \(e)"); return }
            #expect(what.contains("endpoint 'hook'"))
            #expect(e.description.contains("restore the alarms.key"))
            #expect(!e.description.contains(original.base64EncodedString()))
        }
        // Wrong size.
        try Data(repeating: 7, count: 31).write(to: keyPath)
        #expect(throws: AlarmKeyError.wrongSize(path: keyPath.path, size: 31)) { try SQLiteAlarmStore(path: dir.dbPath) }
        try Data(repeating: 7, count: 33).write(to: keyPath)
        #expect(throws: AlarmKeyError.wrongSize(path: keyPath.path, size: 33)) { try SQLiteAlarmStore(path: dir.dbPath) }
        // Missing while sealed secrets exist: refuses to make a new key.
        try FileManager.default.removeItem(at: keyPath)
        #expect(throws: AlarmKeyError.missing(path: keyPath.path, database: dir.dbPath)) { try SQLiteAlarmStore(path: dir.dbPath) }
        #expect(!FileManager.default.fileExists(atPath: keyPath.path))
        // Unreadable (skipped as root, who reads anything).
        try original.write(to: keyPath)
        if geteuid() != 0 {
            try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: keyPath.path)
            #expect(throws: AlarmKeyError.self) { try SQLiteAlarmStore(path: dir.dbPath) }
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath.path)
        }
        // The original key opens everything again.
        #expect(try await SQLiteAlarmStore(path: dir.dbPath).endpoints().first?.config == Self.endpoints()[0].config)
    }

    @Test func theMigrationSealsPlaintextSecretsOfAnOlderStore() async throws {
        let dir = try AlarmStoreTempDir()
        // A store as the previous version left it: v1 schema only, secrets in plain text, no key.
        let plain = Self.endpoints()
        do {
            let q = try DatabaseQueue(path: dir.dbPath)
            try AlarmMigrations.migrator(box: .ephemeral())
                .migrate(q, upTo: "v1: alarms, SNS, event subscriptions, silences, instances, history, outbox, meta")
            try await q.write { db in
                for (i, var e) in plain.enumerated() {
                    e.uuid = "ep\(i)"
                    try EndpointRecord(e).insert(db)
                }
            }
        }
        #expect(try Self.rawConfigs(dir.dbPath).joined().contains(Self.secrets[0]))
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("alarms.key").path))

        let store = try SQLiteAlarmStore(path: dir.dbPath)
        let configs = try Self.rawConfigs(dir.dbPath)
        for secret in Self.secrets { #expect(!configs.contains { $0.contains(secret) }) }
        #expect(configs.joined().components(separatedBy: "enc:v1:").count - 1 == 4)
        let opened = try await store.endpoints()
        #expect(opened.sorted { $0.name < $1.name }.map(\.config) == plain.sorted { $0.name < $1.name }.map(\.config))
    }
}
