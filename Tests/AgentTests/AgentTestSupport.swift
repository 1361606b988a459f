import Agent
import Control
import Foundation
import Synchronization

/// A fresh folder under the temp dir, removed by the caller.
func agentTempDir() -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-agent-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

/// A transport that answers from a script and records what it was sent.
final class ScriptedTransport: AgentTransport {
    /// Status to answer, or nil to fail like an unreachable manager.
    typealias Script = @Sendable (OutboundRequest) -> Int?
    private let script: Script
    let sent = Mutex<[OutboundRequest]>([])

    init(_ script: @escaping Script) { self.script = script }

    func send(_ request: OutboundRequest) async throws -> AgentHTTPResponse {
        sent.withLock { $0.append(request) }
        guard let status = script(request) else {
            throw OutboundHTTPError.transport(url: request.url, code: 7, message: "Connection refused")
        }
        return AgentHTTPResponse(status: status, body: Array(#"{"accepted":1,"rejected":0,"rejections":[]}"#.utf8))
    }

    /// The `X-Stratus-Batch` header of every request, in order.
    var batchSequences: [UInt64] {
        sent.withLock { $0.compactMap { r in r.headers.first { $0.name == "X-Stratus-Batch" }.flatMap { UInt64($0.value) } } }
    }
}
