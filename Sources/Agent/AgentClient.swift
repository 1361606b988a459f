import Control
import Foundation
import StratusMetrics

/// Sends one HTTP request; `CurlAgentTransport` in production, a fake in tests. Any status is
/// an answer; only transport failures (unreachable, timeout) throw.
public protocol AgentTransport: Sendable {
    func send(_ request: OutboundRequest) async throws -> AgentHTTPResponse
}

/// The status and body of an answer.
public struct AgentHTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// `CurlHTTPClient` (libcurl on NIO's thread pool) as the agent's transport.
public struct CurlAgentTransport: AgentTransport {
    private let client = CurlHTTPClient()
    public init() {}
    public func send(_ request: OutboundRequest) async throws -> AgentHTTPResponse {
        let r = try await client.send(request)
        return AgentHTTPResponse(status: r.status, body: r.body)
    }
}

/// The agent's calls to the manager (`AgentProtocol`), authenticated by the host's token.
public struct AgentClient: Sendable {
    /// The manager's base URL, e.g. `http://10.0.0.1:8080` (no trailing slash).
    public let manager: String
    private let token: String
    private let transport: any AgentTransport

    public init(manager: String, token: String, transport: any AgentTransport = CurlAgentTransport()) {
        var m = manager
        while m.hasSuffix("/") { m.removeLast() }
        self.manager = m
        self.token = token
        self.transport = transport
    }

    private var auth: (name: String, value: String) { ("Authorization", "Bearer \(token)") }

    /// `GET helloPath`: the host's identity. Throws `AgentError.manager` for a non-2xx answer and
    /// `OutboundHTTPError` when the manager cannot be reached.
    public func hello() async throws -> AgentHello {
        let r = try await transport.send(OutboundRequest(method: "GET", url: manager + AgentProtocol.helloPath, headers: [auth]))
        guard (200..<300).contains(r.status) else { throw AgentError.manager(call: "GET \(AgentProtocol.helloPath)", status: r.status, body: r.text) }
        do {
            return try JSONDecoder().decode(AgentHello.self, from: Data(r.body))
        } catch {
            throw AgentError.manager(call: "GET \(AgentProtocol.helloPath)", status: r.status, body: "unreadable reply: \(r.text)")
        }
    }

    /// `POST metricsPath` with a spooled batch's body (`AgentSeriesRefs.body(for:)`); any status is
    /// returned (the caller decides), only transport failures throw.
    func push(_ body: AgentSeriesRefs.Body, sequence: UInt64, dropped: Int64) async throws -> AgentHTTPResponse {
        var headers = [auth, (AgentProtocol.batchHeader, String(sequence)), (AgentProtocol.droppedHeader, String(dropped))]
        switch body.format {
        case .prometheusText: headers.append(("Content-Type", AgentProtocol.contentType))
        case .refBatch: headers.append(("Content-Type", AgentProtocol.refBatchContentType))
        }
        if body.gzipped { headers.append(("Content-Encoding", "gzip")) }
        return try await transport.send(OutboundRequest(method: "POST", url: manager + AgentProtocol.metricsPath,
                                                        headers: headers, body: body.bytes, timeout: 30_000))
    }

    /// `PUT vmsPath`. Throws `AgentError.manager` for a non-2xx answer.
    public func reportVMs(_ report: AgentVMReport) async throws {
        let body = try JSONEncoder().encode(report)
        let r = try await transport.send(OutboundRequest(
            method: "PUT", url: manager + AgentProtocol.vmsPath,
            headers: [auth, ("Content-Type", "application/json")], body: Array(body)))
        guard (200..<300).contains(r.status) else { throw AgentError.manager(call: "PUT \(AgentProtocol.vmsPath)", status: r.status, body: r.text) }
    }
}
