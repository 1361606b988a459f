import Control
import Foundation
import Hummingbird
import StratusMetrics

/// ZStack's login API and the web login/logout form.
struct AccountRoutes {
    let accounts: AccountService
    let clock: any WallClock
    let pages: PageRenderer

    struct LoginBody: Decodable {
        struct ByAccount: Decodable { var accountName: String; var password: String }
        var logInByAccount: ByAccount
    }

    struct SessionInventory: Encodable {
        var uuid: String
        var accountUuid: String
        var createDate: Int64
        var expiredDate: Int64
    }

    func register(on router: Router<StratusRequestContext>) {
        router.put("/zstack/v1/accounts/login") { request, _ in
            let body = try await JSONResponse.decode(LoginBody.self, from: request, what: "the login body {\"logInByAccount\":{\"accountName\":…,\"password\":…}}")
            let s = try await accounts.login(accountName: body.logInByAccount.accountName,
                                             password: body.logInByAccount.password, at: clock.now())
            return try JSONResponse.make(["inventory": SessionInventory(uuid: s.uuid, accountUuid: s.accountUuid,
                                                                         createDate: s.createDate, expiredDate: s.expiredDate)])
        }
        router.delete("/zstack/v1/accounts/sessions/{uuid}") { _, context in
            let uuid = try context.parameters.require("uuid")
            guard uuid == context.sessionUuid else {
                throw APIError(.forbidden, code: "ID.1002", description: "forbidden", details: "you can only log out your own session")
            }
            try await accounts.logout(sessionUuid: uuid)
            return try JSONResponse.make([String: String]())
        }
        router.get("/login") { _, _ in
            pages.page("login", title: "Log in", ["error": false])
        }
        router.post("/login") { request, context in
            let form = try await Self.form(request)
            do {
                let s = try await accounts.login(accountName: form["accountName"] ?? "", password: form["password"] ?? "", at: clock.now())
                var response = Response.redirect(to: "/", type: .normal)
                response.setCookie(Cookie(name: AuthMiddleware.cookieName, value: s.uuid,
                                          maxAge: Int(accounts.sessionTTL / 1000), path: "/", httpOnly: true, sameSite: .lax))
                return response
            } catch let e as ControlError {
                var page = pages.page("login", title: "Log in", ["error": true, "message": e.description,
                                                                   "accountName": form["accountName"] ?? ""])
                page.status = e.isAuthentication ? .unauthorized : .badRequest
                return try page.response(from: request, context: context)
            }
        }
        router.post("/logout") { _, context in
            if let s = context.sessionUuid { try await accounts.logout(sessionUuid: s) }
            var response = Response.redirect(to: "/login", type: .normal)
            response.setCookie(Cookie(name: AuthMiddleware.cookieName, value: "", maxAge: 0, path: "/"))
            return response
        }
    }

    /// Decodes an `application/x-www-form-urlencoded` body into a dictionary.
    static func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        var out: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            out[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        return out
    }
}
