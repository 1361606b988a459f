import NIOPosix

/// Logging in and out: checks passwords (PBKDF2, on a thread pool because it is deliberately slow)
/// and issues sessions.
public struct AccountService: Sendable {
    public let inventory: any InventoryStore
    /// How long a session lives, in ms (ZStack's default is 2 hours).
    public var sessionTTL: Int64 = 2 * 3600 * 1000

    public init(inventory: any InventoryStore) {
        self.inventory = inventory
    }

    /// A new session for a correct name and password; `authenticationFailed` otherwise (the same
    /// message for an unknown account and a wrong password, so names cannot be probed).
    public func login(accountName: String, password: String, at: Int64) async throws -> Session {
        guard !accountName.isEmpty else { throw ControlError.invalidArgument(field: "accountName", reason: "give the account name") }
        guard !password.isEmpty else { throw ControlError.invalidArgument(field: "password", reason: "give the password") }
        let account = try await inventory.account(named: accountName)
        // Hash even for an unknown account so the reply time does not reveal which names exist.
        let stored = account?.passwordHash ?? Self.decoyHash
        let ok = try await NIOThreadPool.singleton.runIfActive { PasswordHasher.verify(password, against: stored) }
        guard let account, ok else {
            throw ControlError.authenticationFailed("wrong account name or password")
        }
        return try await inventory.createSession(accountUuid: account.uuid, at: at, ttl: sessionTTL)
    }

    public func logout(sessionUuid: String) async throws {
        try await inventory.deleteSession(uuid: sessionUuid)
    }

    /// Creates the `admin` account when it does not exist. Returns the password when it generated one
    /// (to print once), nil when the account existed or `password` was given.
    public func ensureAdmin(password: String?, at: Int64) async throws -> String? {
        if try await inventory.account(named: "admin") != nil { return nil }
        let chosen = password ?? Hex.encode(SecureRandom.bytes(12))
        let hash = try await NIOThreadPool.singleton.runIfActive { PasswordHasher.hash(chosen) }
        _ = try await inventory.createAccount(name: "admin", passwordHash: hash, type: "SystemAdmin", at: at)
        return password == nil ? chosen : nil
    }

    private static let decoyHash = PasswordHasher.hash("decoy-password-never-matches", iterations: PasswordHasher.defaultIterations)
}
