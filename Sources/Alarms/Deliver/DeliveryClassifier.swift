import Control

/// How HTTP statuses and transport errors map to `DeliveryResult` (HTTP and DingTalk endpoints).
public enum DeliveryClassifier {
    /// 2xx delivered; 408, 429 and 5xx retryable; any other status (3xx: redirects are not
    /// followed; 4xx) permanent. `what` names the endpoint in the reason.
    public static func classify(status: Int, body: String, what: String) -> DeliveryResult {
        if (200..<300).contains(status) { return .delivered }
        let snippet = body.count > 200 ? String(body.prefix(200)) + "…" : body
        let reason = "\(what) answered HTTP \(status)" + (snippet.isEmpty ? "" : ": \(snippet)")
        let retryable = status == 408 || status == 429 || (500..<600).contains(status)
        return .failed(reason: retryable ? reason : reason + " (permanent; fix the endpoint settings)", retryable: retryable)
    }

    /// Timeouts and transport errors (refused, DNS, TLS) are retryable; an invalid request (bad
    /// URL or header) is permanent.
    public static func classify(error: any Error, what: String) -> DeliveryResult {
        switch error {
        case let e as OutboundHTTPError:
            if case .invalidRequest = e { return .failed(reason: "\(what): \(e) (permanent; fix the endpoint URL)", retryable: false) }
            return .failed(reason: "\(what): \(e)", retryable: true)
        default:
            return .failed(reason: "\(what): \(error)", retryable: true)
        }
    }
}
