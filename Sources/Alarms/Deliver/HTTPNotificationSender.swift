import Control
import Foundation

/// Delivers to HTTP endpoints: a JSON POST of ZStack's flat keys (`NoticeFields`, plus `MESSAGE`,
/// the rendered template) or, with `format: .alertmanager`, an Alertmanager webhook v4 message.
///
/// Headers: `X-Idempotency-Key` (see `NotificationSignature.idempotencyHeader`), Basic auth when
/// a username is set, and `X-Stratus-Signature: sha256=<hex HMAC-SHA256(secret, body)>` when a
/// secret is set. The MAC covers the exact body bytes; the body carries `IDEMPOTENCY_KEY` and the
/// notice time, so a replayed body is a duplicate the receiver drops by key (no timestamp header).
///
/// Several notices in one attempt: a JSON array of flat objects (Alertmanager: one message with
/// several `alerts`). 2xx = delivered; 408/429/5xx/transport errors retryable; other statuses permanent.
public struct HTTPNotificationSender: NotificationSender {
    public var client: CurlHTTPClient
    /// Whole-request limit (ms).
    public var timeoutMs: Int64
    /// Stratus' own URL, for Alertmanager's `externalURL` and `generatorURL`.
    public var externalURL: String

    public init(client: CurlHTTPClient = CurlHTTPClient(), timeoutMs: Int64 = 10_000, externalURL: String = "") {
        self.client = client
        self.timeoutMs = timeoutMs
        self.externalURL = externalURL
    }

    public func deliver(_ attempt: DeliveryAttempt) async -> DeliveryResult {
        guard case let .http(config) = attempt.endpoint.config else {
            return .failed(reason: "endpoint \(attempt.endpoint.uuid) is \(attempt.endpoint.type), not HTTP", retryable: false)
        }
        let what = "HTTP endpoint \(attempt.endpoint.name) (\(config.url))"
        let request: OutboundRequest
        do { request = try self.request(for: attempt, config: config) } catch {
            return .failed(reason: "\(what): cannot encode the body: \(error)", retryable: false)
        }
        do {
            let response = try await client.send(request)
            return DeliveryClassifier.classify(status: response.status, body: response.text, what: what)
        } catch {
            return DeliveryClassifier.classify(error: error, what: what)
        }
    }

    /// The POST this sender makes for `attempt` (exposed for tests and previews).
    public func request(for attempt: DeliveryAttempt, config: HTTPEndpointConfig) throws -> OutboundRequest {
        let fields = NoticeFields.of(attempt)
        let renderer = NoticeRendererCache.shared.renderer(for: attempt.endpoint)
        let body: Data
        switch config.format {
        case .zstack:
            let objects = fields.map { f -> [String: String] in
                var o = f.values
                o["MESSAGE"] = renderer.text([f])
                return o
            }
            body = try objects.count == 1 ? DeliveryJSON.encoder().encode(objects[0]) : DeliveryJSON.encoder().encode(objects)
        case .alertmanager:
            let message = AlertmanagerMessage(fields: fields, receiver: attempt.endpoint.name, externalURL: externalURL, renderer: renderer)
            body = try DeliveryJSON.encoder().encode(message)
        }
        let bytes = [UInt8](body)
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("User-Agent", "Stratus-Alarms/1"),
            ("X-Idempotency-Key", NotificationSignature.idempotencyHeader(attempt.idempotencyKeys)),
        ]
        if let user = config.username {
            let token = Data("\(user):\(config.password ?? "")".utf8).base64EncodedString()
            headers.append(("Authorization", "Basic \(token)"))
        }
        if let secret = config.secret, !secret.isEmpty {
            headers.append(("X-Stratus-Signature", NotificationSignature.httpSignature(secret: secret, body: bytes)))
        }
        return OutboundRequest(method: "POST", url: config.url, headers: headers, body: bytes, timeout: timeoutMs,
                               connectTimeout: min(timeoutMs, 3_000))
    }
}
