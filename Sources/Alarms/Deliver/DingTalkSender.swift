import Control
import Foundation
import StratusMetrics

/// Delivers to DingTalk custom robots: a markdown message `{msgtype, markdown {title, text}, at
/// {atMobiles, isAtAll}}` POSTed to the webhook URL.
///
/// - With a secret, `&timestamp=<ms>&sign=<urlencode(base64(HmacSHA256(secret, timestamp + "\n" + secret)))>`
///   is appended to the URL (timestamp from the injected clock).
/// - Each `atMobiles` number is also written as `@number` at the end of the text, which DingTalk
///   requires for the mention to work.
/// - The body is capped at `maxBodyBytes` (20,000, DingTalk's limit): the text is cut at a
///   character boundary and a truncation note added, the mentions kept, so the body stays valid
///   UTF-8 and JSON.
/// - Several notices (past the robot's 20 messages/minute, merged by the dispatcher) become one
///   summary message.
/// - A reply with `errcode != 0` is a failed delivery: 130101 (sending too fast) and -1 (system
///   busy) are retryable, every other code (bad sign, keyword/IP not allowed, token invalid…)
///   is permanent; non-2xx statuses are classified as for HTTP endpoints.
public struct DingTalkSender: NotificationSender {
    public var client: CurlHTTPClient
    public var clock: any WallClock
    public var maxBodyBytes: Int
    public var timeoutMs: Int64

    /// DingTalk's limit on a robot message body.
    public static let bodyLimit = 20_000
    /// Title cap, in characters (DingTalk shows it as the notification preview).
    public static let titleLimit = 200
    /// errcodes worth retrying: 130101 sending too fast (rate limit), -1 system busy.
    public static let retryableErrcodes: Set<Int> = [130_101, -1]

    public init(client: CurlHTTPClient = CurlHTTPClient(), clock: any WallClock = SystemWallClock(),
                maxBodyBytes: Int = DingTalkSender.bodyLimit, timeoutMs: Int64 = 10_000) {
        self.client = client
        self.clock = clock
        self.maxBodyBytes = maxBodyBytes
        self.timeoutMs = timeoutMs
    }

    public func deliver(_ attempt: DeliveryAttempt) async -> DeliveryResult {
        guard case let .dingTalk(config) = attempt.endpoint.config else {
            return .failed(reason: "endpoint \(attempt.endpoint.uuid) is \(attempt.endpoint.type), not DingTalk", retryable: false)
        }
        let what = "DingTalk robot \(attempt.endpoint.name)"
        do {
            let response = try await client.send(try request(for: attempt, config: config))
            return Self.classifyReply(status: response.status, body: response.text, what: what)
        } catch {
            return DeliveryClassifier.classify(error: error, what: what)
        }
    }

    /// The POST this sender makes for `attempt` (signed URL, capped body).
    public func request(for attempt: DeliveryAttempt, config: DingTalkEndpointConfig) throws -> OutboundRequest {
        let fields = NoticeFields.of(attempt)
        let renderer = NoticeRendererCache.shared.renderer(for: attempt.endpoint)
        let body = try Self.body(title: renderer.subject(fields), text: renderer.markdown(fields),
                                 atMobiles: config.atMobiles, atAll: config.atAll, maxBytes: maxBodyBytes)
        var url = config.url
        if let secret = config.secret, !secret.isEmpty {
            url = NotificationSignature.signedDingTalkURL(url, secret: secret, timestamp: clock.now())
        }
        return OutboundRequest(method: "POST", url: url,
                               headers: [("Content-Type", "application/json; charset=utf-8"), ("User-Agent", "Stratus-Alarms/1"),
                                         ("X-Idempotency-Key", NotificationSignature.idempotencyHeader(attempt.idempotencyKeys))],
                               body: body, timeout: timeoutMs, connectTimeout: min(timeoutMs, 3_000))
    }

    struct Message: Encodable {
        struct Markdown: Encodable { var title: String; var text: String }
        struct At: Encodable { var atMobiles: [String]; var isAtAll: Bool }
        var msgtype = "markdown"
        var markdown: Markdown
        var at: At
    }

    /// The JSON body, at most `maxBytes` long: the text is truncated (whole characters) when needed.
    public static func body(title: String, text: String, atMobiles: [String], atAll: Bool, maxBytes: Int) throws -> [UInt8] {
        let title = title.count > titleLimit ? String(title.prefix(titleLimit - 1)) + "…" : title
        let missing = atMobiles.filter { !text.contains("@" + $0) }
        let mentions = missing.isEmpty ? "" : "\n\n" + missing.map { "@" + $0 }.joined(separator: " ")
        let encoder = DeliveryJSON.encoder()
        func encode(_ t: String) throws -> [UInt8] {
            [UInt8](try encoder.encode(Message(markdown: .init(title: title, text: t), at: .init(atMobiles: atMobiles, isAtAll: atAll))))
        }
        let full = try encode(text + mentions)
        if full.count <= maxBytes { return full }

        let chars = Array(text)
        let note = "\n\n…(truncated by Stratus: the message was \(full.count) bytes, DingTalk accepts \(maxBytes))"
        var lo = 0, hi = chars.count, best: [UInt8]? = nil
        while lo <= hi {  // the longest prefix that fits
            let mid = (lo + hi) / 2
            let candidate = try encode(String(chars[..<mid]) + note + mentions)
            if candidate.count <= maxBytes {
                best = candidate
                lo = mid + 1
            } else {
                hi = mid - 1
            }
        }
        if let best { return best }
        // Even the note alone does not fit (absurd limit, or huge mention list): send the bare note.
        return try encode(String(note.prefix(max(0, maxBytes / 4))))
    }

    /// Non-2xx as HTTP; a 2xx reply must be DingTalk's JSON with `errcode` 0.
    public static func classifyReply(status: Int, body: String, what: String) -> DeliveryResult {
        guard (200..<300).contains(status) else { return DeliveryClassifier.classify(status: status, body: body, what: what) }
        struct Reply: Decodable { var errcode: Int?; var errmsg: String? }
        guard let reply = try? JSONDecoder().decode(Reply.self, from: Data(body.utf8)), let code = reply.errcode else {
            let snippet = body.count > 200 ? String(body.prefix(200)) + "…" : body
            return .failed(reason: "\(what) answered HTTP \(status) without DingTalk's JSON errcode: \(snippet)", retryable: true)
        }
        if code == 0 { return .delivered }
        let retryable = retryableErrcodes.contains(code)
        let reason = "\(what) refused the message: errcode \(code), errmsg \(reply.errmsg ?? "")"
        return .failed(reason: retryable ? reason : reason + " (permanent; check the robot's token, secret and keyword settings)",
                       retryable: retryable)
    }
}
