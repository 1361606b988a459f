/// One delivery attempt to one endpoint. `notices` has one element, except for a DingTalk summary
/// (past the robot's 20 messages per minute) which merges several into one message.
public struct DeliveryAttempt: Sendable {
    public var endpoint: SNSEndpoint
    public var notices: [Notice]
    /// The idempotency keys of `notices` (sent as `X-Idempotency-Key` / in the body).
    public var idempotencyKeys: [String]

    public init(endpoint: SNSEndpoint, notices: [Notice], idempotencyKeys: [String]) {
        self.endpoint = endpoint
        self.notices = notices
        self.idempotencyKeys = idempotencyKeys
    }
}

/// What an attempt came to.
public enum DeliveryResult: Sendable, Equatable {
    case delivered
    /// `retryable`: worth trying again later (timeouts, connection refused, 5xx, 429, DingTalk rate
    /// limit); otherwise permanent (4xx, bad address, auth refused) and the entry fails at once.
    case failed(reason: String, retryable: Bool)
}

/// Sends attempts to endpoints of one or more types (email, DingTalk, HTTP).
public protocol NotificationSender: Sendable {
    func deliver(_ attempt: DeliveryAttempt) async -> DeliveryResult
}
