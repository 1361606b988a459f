import GRDB

/// A login account (ZStack's AccountInventory). The password is stored only as a PBKDF2 hash.
public struct Account: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "account"
    public var uuid: String
    public var name: String
    public var passwordHash: String
    /// `SystemAdmin` or `Normal`.
    public var type: String
    public var createDate: Int64
    public var lastOpDate: Int64
}

/// A login session (ZStack's SessionInventory); its uuid is the bearer token.
public struct Session: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "session"
    public var uuid: String
    public var accountUuid: String
    public var createDate: Int64
    public var expiredDate: Int64
}
