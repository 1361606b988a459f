/// The sender the outbox dispatcher uses: routes each attempt by `endpoint.config` to the HTTP,
/// DingTalk or email sender.
public struct EndpointSender: NotificationSender {
    public var http: HTTPNotificationSender
    public var dingTalk: DingTalkSender
    public var email: EmailSender

    public init(http: HTTPNotificationSender = HTTPNotificationSender(), dingTalk: DingTalkSender = DingTalkSender(),
                email: EmailSender = EmailSender()) {
        self.http = http
        self.dingTalk = dingTalk
        self.email = email
    }

    public func deliver(_ attempt: DeliveryAttempt) async -> DeliveryResult {
        guard !attempt.notices.isEmpty else { return .failed(reason: "attempt for endpoint \(attempt.endpoint.uuid) has no notices", retryable: false) }
        switch attempt.endpoint.config {
        case .http: return await http.deliver(attempt)
        case .dingTalk: return await dingTalk.deliver(attempt)
        case .email: return await email.deliver(attempt)
        }
    }
}
