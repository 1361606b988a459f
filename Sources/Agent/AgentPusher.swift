import Foundation
import Control
import Logging
import NIOPosix
import StratusMetrics

/// Sends spooled batches to the manager oldest first, as compact batches naming series by the refs
/// the manager answered, deleting each after a 2xx. A 409 (the manager forgot the refs) resends
/// the batch once with texts. A 4xx that means bad data (400, 403, 413, 415, 422 …) drops and
/// counts that batch — never a retry loop; an unreachable manager, a 5xx, 401 (token), 408 or 429
/// keeps it for a retry.
public struct AgentPusher: Sendable {
    /// What one `drain` ended with.
    public enum Outcome: Sendable, Equatable {
        /// Every batch went (or was refused as bad data).
        case empty
        /// The manager is unreachable or failing; batches remain for a retry.
        case retryLater(String)
    }

    let spool: AgentSpool
    let client: AgentClient
    let logger: Logger
    /// The refs the manager answered, so pushes are compact batches (`AgentSeriesRefs`).
    let refs: AgentSeriesRefs

    public init(spool: AgentSpool, client: AgentClient, logger: Logger) {
        self.spool = spool
        self.client = client
        self.logger = logger
        self.refs = AgentSeriesRefs()
    }

    /// Pushes until the spool is empty or the manager fails. Returns how it ended.
    public func drain() async throws -> Outcome {
        var resentAfterConflict: UInt64?
        while true {
            try Task.checkCancellation()
            guard let batch = try await NIOThreadPool.singleton.runIfActive({ try spool.oldest() }) else { return .empty }
            let body = try await NIOThreadPool.singleton.runIfActive { refs.body(for: batch.payload) }
            let response: AgentHTTPResponse
            do {
                response = try await client.push(body, sequence: batch.sequence, dropped: spool.counters.droppedSamples)
            } catch {
                return .retryLater("\(error)")
            }
            switch response.status {
            case 409 where resentAfterConflict != batch.sequence:
                // The manager does not know a ref (it restarted): send this batch again with texts.
                logger.info("the manager no longer knows this agent's series refs (409); resending batch \(batch.sequence) with series texts")
                refs.forget()
                resentAfterConflict = batch.sequence
            case 200..<300:
                if !body.texts.isEmpty {
                    refs.learn(body.texts, refs: (try? JSONDecoder().decode(AgentPushReply.self, from: Data(response.body)))?.refs)
                }
                try await NIOThreadPool.singleton.runIfActive { spool.remove(batch.sequence) }
            case 401, 408, 429:
                return .retryLater("the manager answered \(response.status): \(response.text.prefix(300))")
            case 400..<500:
                logger.error("the manager refused batch \(batch.sequence) (\(batch.samples) samples) with \(response.status): \(response.text.prefix(500)); dropping it")
                try await NIOThreadPool.singleton.runIfActive { try spool.reject(batch) }
            default:
                return .retryLater("the manager answered \(response.status): \(response.text.prefix(300))")
            }
        }
    }
}
