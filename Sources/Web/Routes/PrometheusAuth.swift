import COpenSSL
import Control
import Foundation
import Hummingbird
import NIOPosix
import StratusMetrics
import Synchronization

/// Checks HTTP Basic credentials (an account's name and password: Grafana's and promtool's
/// native auth) and remembers a success for `ttl` ms, keyed by the SHA-256 of the credentials,
/// because PBKDF2 is deliberately slow. Failures are never cached.
final class BasicAuthenticator: Sendable {
    /// Verifies a name and password, returning the account uuid or nil.
    typealias Verify = @Sendable (_ name: String, _ password: String) async throws -> String?

    private let verify: Verify
    private let clock: any WallClock
    private let ttl: Int64
    private let maxEntries: Int
    /// SHA-256 of `name:password` → (account uuid, expiry in ms).
    private let cache = Mutex<[[UInt8]: (account: String, expires: Int64)]>([:])

    init(clock: any WallClock, ttl: Int64 = 5 * 60_000, maxEntries: Int = 10_000, verify: @escaping Verify) {
        self.clock = clock
        self.ttl = ttl
        self.maxEntries = maxEntries
        self.verify = verify
    }

    /// Checks passwords against the inventory's PBKDF2 hashes, off the cooperative pool.
    convenience init(inventory: any InventoryStore, clock: any WallClock) {
        self.init(clock: clock) { name, password in
            let account = try await inventory.account(named: name)
            // Hash even for an unknown name so the reply time does not reveal which names exist.
            let stored = account?.passwordHash ?? Self.decoyHash
            let ok = try await NIOThreadPool.singleton.runIfActive { PasswordHasher.verify(password, against: stored) }
            return ok ? account?.uuid : nil
        }
    }

    private static let decoyHash = PasswordHasher.hash("decoy-password-never-matches", iterations: PasswordHasher.defaultIterations)

    /// The account uuid for correct credentials, nil otherwise.
    func authenticate(name: String, password: String) async throws -> String? {
        let key = Self.sha256(Array("\(name):\(password)".utf8))
        let now = clock.now()
        if let hit = cache.withLock({ $0[key] }), hit.expires > now { return hit.account }
        guard let account = try await verify(name, password) else { return nil }
        cache.withLock { entries in
            if entries.count >= maxEntries { entries = entries.filter { $0.value.expires > now } }
            if entries.count >= maxEntries { entries.removeAll() }
            entries[key] = (account, now + ttl)
        }
        return account
    }

    /// `name` and `password` of an `Authorization: Basic …` header, or nil.
    static func credentials(_ header: String?) -> (name: String, password: String)? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let rc = bytes.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in EVP_Digest(b.baseAddress, b.count, o.baseAddress, &length, EVP_sha256(), nil) }
        }
        precondition(rc == 1 && length == 32, "OpenSSL EVP_Digest(SHA-256) failed")
        return out
    }
}

/// Authentication for the whole app: on `/api/v1/…` a session (`Authorization: OAuth`, the
/// cookie) or HTTP Basic with an account's name and password, else 401 with
/// `WWW-Authenticate: Basic realm="stratus"`; every other path goes to `AuthMiddleware`.
struct PrometheusAuthMiddleware: RouterMiddleware {
    typealias Context = StratusRequestContext
    static let prefix = "/api/v1/"

    let sessions: AuthMiddleware
    let basic: BasicAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix(Self.prefix) else { return try await sessions.handle(request, context: context, next: next) }
        var context = context
        if let token = AuthMiddleware.sessionToken(request),
           let session = try await sessions.inventory.validSession(uuid: token, at: sessions.clock.now()),
           let account = try await sessions.inventory.account(uuid: session.accountUuid) {
            context.account = account
            context.sessionUuid = session.uuid
            return try await next(request, context)
        }
        if let (name, password) = BasicAuthenticator.credentials(request.headers[.authorization]),
           let uuid = try await basic.authenticate(name: name, password: password),
           let account = try await sessions.inventory.account(uuid: uuid) {
            context.account = account
            return try await next(request, context)
        }
        var response = PrometheusError(status: .unauthorized, type: "unauthorized",
                                       message: "authentication required: use HTTP Basic with an account's name and password, or a session").response
        response.headers[.wwwAuthenticate] = #"Basic realm="stratus""#
        return response
    }
}
