import Control
import Foundation
import StratusMetrics

/// The manager's API as the simulator calls it: admin login, host registration (→ agent token),
/// VM reports and metric pushes, as `OutboundRequest`s and parsed replies.
public struct SimManagerClient: Sendable {
    /// Base URL without a trailing slash.
    public let base: String

    public init(manager: String) {
        var b = manager
        while b.hasSuffix("/") { b.removeLast() }
        base = b
    }

    public func loginRequest(password: String) -> OutboundRequest {
        let body = try! JSONSerialization.data(withJSONObject: ["logInByAccount": ["accountName": "admin", "password": password]])
        return OutboundRequest(method: "PUT", url: base + "/zstack/v1/accounts/login",
                               headers: [("Content-Type", "application/json")], body: Array(body))
    }

    /// The session uuid of a login reply.
    public func session(from r: CurlReply) throws(SimulatorError) -> String {
        guard r.status == 200, let inv = Self.inventory(r.body), let uuid = inv["uuid"] as? String else {
            throw .manager(what: "login as admin", status: r.status, body: r.text)
        }
        return uuid
    }

    public func registerRequest(session: String, host: SimHostSpec) -> OutboundRequest {
        let params: [String: Any] = ["name": host.name, "managementIp": host.managementIp,
                                     "cpuNum": SimHostSpec.cpuNum, "memorySize": host.memorySize]
        let body = try! JSONSerialization.data(withJSONObject: ["params": params])
        return OutboundRequest(method: "POST", url: base + AgentProtocol.registerPath,
                               headers: [("Content-Type", "application/json"), ("Authorization", "OAuth \(session)")],
                               body: Array(body), timeout: 60_000)
    }

    /// The host uuid and agent token of a registration reply.
    public func registration(from r: CurlReply, host: String) throws(SimulatorError) -> (uuid: String, token: String) {
        guard (200..<300).contains(r.status), let inv = Self.inventory(r.body),
              let uuid = inv["uuid"] as? String, let token = inv["agentToken"] as? String else {
            throw .manager(what: "register host \(host) (POST \(AgentProtocol.registerPath))", status: r.status, body: r.text)
        }
        return (uuid, token)
    }

    public func vmReportRequest(token: String, report: AgentVMReport) -> OutboundRequest {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let body = (try? encoder.encode(report)).map(Array.init) ?? []
        return OutboundRequest(method: "PUT", url: base + AgentProtocol.vmsPath,
                               headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                               body: body, timeout: 30_000)
    }

    /// A push of one compact batch (`AgentRefBatchEncoder`), uncompressed: it is mostly refs and
    /// value bits, which gzip barely shrinks.
    public func pushRequest(token: String, body: [UInt8], sequence: Int64) -> OutboundRequest {
        OutboundRequest(method: "POST", url: base + AgentProtocol.metricsPath,
                        headers: [("Content-Type", AgentProtocol.refBatchContentType),
                                  ("Authorization", "Bearer \(token)"), (AgentProtocol.batchHeader, String(sequence))],
                        body: body, timeout: 30_000)
    }

    static func inventory(_ body: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["inventory"] as? [String: Any]
    }
}
