/// An outbound HTTP request (webhooks, DingTalk robots, cloud connectors).
public struct OutboundRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whole-transfer limit in ms.
    public var timeout: Int64
    /// Connection-phase limit in ms.
    public var connectTimeout: Int64

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                timeout: Int64 = 10_000, connectTimeout: Int64 = 3_000) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
    }
}

/// What came back. Any status is a response; only transport failures throw.
public struct OutboundResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The first header with this name, case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// Why a request got no response.
public enum OutboundHTTPError: Error, Equatable, CustomStringConvertible {
    case invalidRequest(String)
    case timedOut(url: String, afterMs: Int64)
    /// libcurl's error code and message (connection refused, DNS, TLS…).
    case transport(url: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case let .invalidRequest(why): "invalid HTTP request: \(why)"
        case let .timedOut(url, ms): "\(url) did not answer within \(ms) ms"
        case let .transport(url, code, message): "\(url): \(message) (curl error \(code))"
        }
    }
}
