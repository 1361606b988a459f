import StratusMetrics

/// Delivers to email endpoints over SMTP (`SMTPClient`): subject, text and (with `html`) an HTML
/// alternative rendered by `NoticeRenderer`, to every recipient in one submission.
///
/// Classification: a 5xx server reply (bad address, relaying denied, auth refused, message
/// rejected), a login refusal and a malformed server URL are permanent; 4xx replies and transport
/// failures (refused, timeout, TLS handshake or certificate problems) are retryable, so fixing a
/// certificate lets the outbox still deliver.
public struct EmailSender: NotificationSender {
    public var client: SMTPClient
    public var clock: any WallClock

    public init(client: SMTPClient = SMTPClient(), clock: any WallClock = SystemWallClock()) {
        self.client = client
        self.clock = clock
    }

    public func deliver(_ attempt: DeliveryAttempt) async -> DeliveryResult {
        guard case let .email(config) = attempt.endpoint.config else {
            return .failed(reason: "endpoint \(attempt.endpoint.uuid) is \(attempt.endpoint.type), not Email", retryable: false)
        }
        guard !config.recipients.isEmpty else {
            return .failed(reason: "email endpoint \(attempt.endpoint.name) has no recipients; add at least one", retryable: false)
        }
        let message = self.message(for: attempt, config: config)
        do {
            try await client.send(config: config, from: EmailMessage.address(config.from),
                                  recipients: config.recipients.map(EmailMessage.address), message: message.rendered())
            return .delivered
        } catch {
            return Self.classify(error, endpoint: attempt.endpoint.name)
        }
    }

    /// The email this sender submits for `attempt`.
    public func message(for attempt: DeliveryAttempt, config: EmailEndpointConfig) -> EmailMessage {
        let fields = NoticeFields.of(attempt)
        let renderer = NoticeRendererCache.shared.renderer(for: attempt.endpoint)
        return EmailMessage(from: config.from, to: config.recipients, subject: "[Stratus] " + renderer.subject(fields),
                            text: renderer.text(fields), html: config.html ? renderer.html(fields) : nil, date: clock.now(),
                            idempotencyKey: NotificationSignature.idempotencyHeader(attempt.idempotencyKeys))
    }

    /// 5xx replies, login denied (67), bad URL (3) and unsupported protocol (1) are permanent; the rest retryable.
    public static func classify(_ error: SMTPError, endpoint: String) -> DeliveryResult {
        let reason = "email endpoint \(endpoint): \(error)"
        if (500..<600).contains(error.replyCode) || [67, 3, 1].contains(error.curlCode) {
            return .failed(reason: reason + " (permanent; check addresses, credentials and server settings)", retryable: false)
        }
        return .failed(reason: reason, retryable: true)
    }
}
