import Control
import Foundation
import Hummingbird
import StratusMetrics

/// Requires a valid session on every route except the public ones: API calls send
/// `Authorization: OAuth <session>` (ZStack), pages send the `stratus_session` cookie.
/// Without one, API calls get 401 JSON and page requests are redirected to `/login`.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = StratusRequestContext
    static let cookieName = "stratus_session"
    static let publicPaths: Set<String> = ["/login", "/healthz", "/zstack/v1/accounts/login", "/static/style.css"]

    let inventory: any InventoryStore
    let clock: any WallClock

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.publicPaths.contains(request.uri.path) { return try await next(request, context) }
        let token = Self.sessionToken(request)
        if let token, let session = try await inventory.validSession(uuid: token, at: clock.now()),
           let account = try await inventory.account(uuid: session.accountUuid) {
            var context = context
            context.account = account
            context.sessionUuid = session.uuid
            return try await next(request, context)
        }
        if Self.isAPI(request) {
            throw APIError(.unauthorized, code: "ID.1001", description: "authentication required",
                           details: token == nil
                               ? "log in with PUT /zstack/v1/accounts/login and send 'Authorization: OAuth <session uuid>'"
                               : "the session has expired or does not exist; log in again")
        }
        return .redirect(to: "/login", type: .normal)
    }

    static func isAPI(_ request: Request) -> Bool {
        request.uri.path.hasPrefix("/zstack/") || request.uri.path.hasPrefix("/api/")
    }

    static func sessionToken(_ request: Request) -> String? {
        if let auth = request.headers[.authorization] {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "oauth" { return String(parts[1]).trimmingCharacters(in: .whitespaces) }
        }
        return request.cookies[cookieName]?.value
    }
}
