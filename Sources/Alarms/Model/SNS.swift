/// An SNS topic: alarms and event subscriptions notify topics; endpoints subscribe to topics.
public struct SNSTopic: Codable, Sendable, Equatable, Identifiable {
    public var uuid: String
    public var name: String
    public var description: String
    public var enabled: Bool
    public var createDate: Int64

    public var id: String { uuid }

    public init(uuid: String, name: String, description: String = "", enabled: Bool = true, createDate: Int64 = 0) {
        self.uuid = uuid
        self.name = name
        self.description = description
        self.enabled = enabled
        self.createDate = createDate
    }
}

/// Where notifications go (ZStack's SNS application endpoint).
public struct SNSEndpoint: Codable, Sendable, Equatable, Identifiable {
    public var uuid: String
    public var name: String
    public var description: String
    public var enabled: Bool
    public var config: EndpointConfig
    /// Mustache template of the message text (nil: the built-in one). Variables are the flat
    /// ZStack keys (`ALARM_NAME`, `ALARM_CURRENT_VALUE`, `EVENT_NAME`, …).
    public var template: String?
    /// Template used for recovery (`Alarm` → `OK`) notifications; nil: `template`, then built-in.
    public var recoveryTemplate: String?
    public var createDate: Int64

    public var id: String { uuid }

    public init(uuid: String, name: String, description: String = "", enabled: Bool = true, config: EndpointConfig,
                template: String? = nil, recoveryTemplate: String? = nil, createDate: Int64 = 0) {
        self.uuid = uuid
        self.name = name
        self.description = description
        self.enabled = enabled
        self.config = config
        self.template = template
        self.recoveryTemplate = recoveryTemplate
        self.createDate = createDate
    }

    /// `HTTP`, `DingTalk` or `Email`.
    public var type: String {
        switch config {
        case .http: "HTTP"
        case .dingTalk: "DingTalk"
        case .email: "Email"
        }
    }
}

/// The per-type settings of an endpoint.
public enum EndpointConfig: Codable, Sendable, Equatable {
    case http(HTTPEndpointConfig)
    case dingTalk(DingTalkEndpointConfig)
    case email(EmailEndpointConfig)
}

/// A webhook receiving a JSON POST.
public struct HTTPEndpointConfig: Codable, Sendable, Equatable {
    /// Body shape: ZStack's flat keys, or an Alertmanager webhook v4 message.
    public enum Format: String, Codable, Sendable, CaseIterable {
        case zstack = "ZStack"
        case alertmanager = "Alertmanager"
    }

    public var url: String
    /// HTTP Basic credentials (both or neither).
    public var username: String?
    public var password: String?
    /// Per-endpoint HMAC-SHA256 key: the body's signature goes in `X-Stratus-Signature: sha256=<hex>`.
    public var secret: String?
    public var format: Format

    public init(url: String, username: String? = nil, password: String? = nil, secret: String? = nil, format: Format = .zstack) {
        self.url = url
        self.username = username
        self.password = password
        self.secret = secret
        self.format = format
    }
}

/// A DingTalk custom robot.
public struct DingTalkEndpointConfig: Codable, Sendable, Equatable {
    /// The robot webhook, `https://oapi.dingtalk.com/robot/send?access_token=…`.
    public var url: String
    /// The robot's signing secret (`SEC…`), if signing is on.
    public var secret: String?
    public var atMobiles: [String]
    public var atAll: Bool

    public init(url: String, secret: String? = nil, atMobiles: [String] = [], atAll: Bool = false) {
        self.url = url
        self.secret = secret
        self.atMobiles = atMobiles
        self.atAll = atAll
    }
}

/// Email through an SMTP server.
public struct EmailEndpointConfig: Codable, Sendable, Equatable {
    /// `none` (plain SMTP), `starttls` (SMTP upgraded with STARTTLS, required), `smtps` (TLS from the start).
    public enum Security: String, Codable, Sendable, CaseIterable {
        case none
        case starttls
        case smtps
    }

    public var smtpServer: String
    public var smtpPort: Int
    public var security: Security
    public var username: String?
    public var password: String?
    public var from: String
    public var recipients: [String]
    /// Send an HTML part beside the text part.
    public var html: Bool
    /// Accept self-signed server certificates (test servers, internal relays).
    public var insecureSkipVerify: Bool

    public init(smtpServer: String, smtpPort: Int = 25, security: Security = .none, username: String? = nil,
                password: String? = nil, from: String, recipients: [String], html: Bool = false, insecureSkipVerify: Bool = false) {
        self.smtpServer = smtpServer
        self.smtpPort = smtpPort
        self.security = security
        self.username = username
        self.password = password
        self.from = from
        self.recipients = recipients
        self.html = html
        self.insecureSkipVerify = insecureSkipVerify
    }
}
