import ArgumentParser
import Control
import Foundation

/// Where the CLI's alarm / SNS commands find a running `stratus serve`, and as whom.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: "Base URL of a running server (env STRATUS_URL). [default: http://127.0.0.1:8080]")
    var url: String?

    @Option(name: .long, help: "Account to log in as.")
    var user: String = "admin"

    @Option(name: .long, help: "The account's password (env STRATUS_PASSWORD).")
    var password: String?

    var resolvedURL: String {
        (url ?? ProcessInfo.processInfo.environment["STRATUS_URL"] ?? "http://127.0.0.1:8080")
            .trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    /// Logs in (`PUT /zstack/v1/accounts/login`) and returns a client carrying the session.
    func connect() async throws -> StratusAPIClient {
        guard let pw = password ?? ProcessInfo.processInfo.environment["STRATUS_PASSWORD"], !pw.isEmpty else {
            throw CLIError("no password: pass --password or set STRATUS_PASSWORD to the \(user) account's password")
        }
        var client = StratusAPIClient(base: resolvedURL, session: nil)
        let reply = try await client.call("PUT", "/zstack/v1/accounts/login", ["logInByAccount": ["accountName": user, "password": pw]])
        guard let session = (reply["inventory"] as? [String: Any])?["uuid"] as? String else {
            throw CLIError("\(resolvedURL) answered the login without a session uuid; is it a Stratus server?")
        }
        client.session = session
        return client
    }
}

/// A failure the CLI prints as `error: <message>` and exits non-zero for.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The ZStack REST API of a running server over libcurl (`CurlHTTPClient`).
struct StratusAPIClient: Sendable {
    let base: String
    var session: String?

    /// Sends `body` as JSON and returns the decoded reply; a 4xx/5xx throws the server's message.
    @discardableResult
    func call(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if let session { headers.append(("Authorization", "OAuth \(session)")) }
        var bytes: [UInt8] = []
        if let body {
            bytes = Array(try JSONSerialization.data(withJSONObject: body))
            headers.append(("Content-Type", "application/json"))
        }
        let response: OutboundResponse
        do {
            response = try await CurlHTTPClient().send(OutboundRequest(method: method, url: base + path, headers: headers, body: bytes, timeout: 30_000))
        } catch {
            throw CLIError("cannot reach \(base): \(error) — is `stratus serve` running there? (set --url or STRATUS_URL)")
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        guard (200..<300).contains(response.status) else {
            if let e = json["error"] as? [String: Any] {
                let details = e["details"] as? String ?? ""
                throw CLIError("\(e["description"] as? String ?? "error") (HTTP \(response.status))\(details.isEmpty ? "" : ": " + details)")
            }
            throw CLIError("HTTP \(response.status) from \(method) \(path): \(response.text.prefix(200))")
        }
        return json
    }

    /// The `inventories` of a query reply.
    func list(_ path: String) async throws -> [[String: Any]] {
        try await call("GET", path)["inventories"] as? [[String: Any]] ?? []
    }

    /// The `inventory` of a reply.
    func one(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        try await call(method, path, body)["inventory"] as? [String: Any] ?? [:]
    }
}

/// Plain-text tables for the terminal.
enum CLITable {
    static func print(_ header: [String], _ rows: [[String]]) {
        guard !rows.isEmpty else {
            Swift.print("(none)")
            return
        }
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        Swift.print(line(header))
        Swift.print(line(widths.map { String(repeating: "-", count: $0) }))
        for r in rows { Swift.print(line(r)) }
    }

    /// A JSON value as a cell.
    static func cell(_ v: Any?) -> String {
        switch v {
        case nil, is NSNull: return "-"
        case let s as String: return s
        case let b as Bool where type(of: v!) == Bool.self: return b ? "yes" : "no"
        case let n as NSNumber:
            let d = n.doubleValue
            return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(format: "%.2f", d)
        case let a as [Any]: return a.map { cell($0) }.joined(separator: ",")
        default: return "\(v!)"
        }
    }

    /// ms since the epoch as UTC time.
    static func time(_ v: Any?) -> String {
        guard let n = v as? NSNumber else { return "-" }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: Date(timeIntervalSince1970: n.doubleValue / 1000))
    }
}

/// Runs a command body, turning errors into `error: …` on stderr and exit status 1.
func runCLI(_ body: () async throws -> Void) async throws {
    do { try await body() } catch let e as CLIError {
        FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
        throw ExitCode.failure
    }
}

/// Percent-encodes a query value.
func queryValue(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}
