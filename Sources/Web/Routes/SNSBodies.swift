import Alarms
import Foundation

/// The `params` of an SNS topic.
struct TopicParams: Decodable, Sendable {
    var name: String?
    var description: String?
    var state: String?

    func apply(to t: inout SNSTopic) throws(AlarmValidationError) {
        if let name { t.name = name }
        if let description { t.description = description }
        if let state { t.enabled = try AlarmParse.enabled(state, field: "state") }
    }
}

/// A topic and the endpoints subscribed to it.
struct TopicInventory: Encodable, Sendable {
    var uuid: String
    var name: String
    var description: String
    var state: String
    var createDate: Int64
    var endpoints: [String]

    init(_ t: SNSTopic, endpoints: [String]) {
        uuid = t.uuid
        name = t.name
        description = t.description
        state = t.enabled ? "Enabled" : "Disabled"
        createDate = t.createDate
        self.endpoints = endpoints
    }
}

/// The flat `params` of an application endpoint, every type's fields together (ZStack's
/// CreateSNSHttpEndpoint / CreateSNSDingTalkEndpoint / CreateSNSEmailEndpoint). On update,
/// omitted fields keep their value; a secret or password sent as the mask `******` is kept too,
/// and one sent as `""` is removed.
struct EndpointParams: Decodable, Sendable {
    var name: String?
    var description: String?
    var template: String?
    var recoveryTemplate: String?
    var state: String?
    // HTTP and DingTalk
    var url: String?
    var secret: String?
    // HTTP and email
    var username: String?
    var password: String?
    var format: String?
    // DingTalk
    var atMobiles: [String]?
    var atAll: Bool?
    // Email
    var smtpServer: String?
    var smtpPort: Int?
    var security: String?
    var from: String?
    var recipients: [String]?
    /// ZStack's single-address field; added to `recipients`.
    var email: String?
    var html: Bool?
    var insecureSkipVerify: Bool?

    /// The three endpoint types by their URL segment.
    enum Kind: String, CaseIterable {
        case http
        case dingTalk = "ding-talk"
        case email = "emails"

        var typeName: String {
            switch self {
            case .http: "HTTP"
            case .dingTalk: "DingTalk"
            case .email: "Email"
            }
        }
    }

    func newEndpoint(_ kind: Kind, at now: Int64) throws(AlarmValidationError) -> SNSEndpoint {
        guard let name, !name.isEmpty else { throw AlarmValidationError(field: "name", reason: "is required") }
        let config: EndpointConfig
        switch kind {
        case .http:
            config = .http(HTTPEndpointConfig(url: try need(url, "url")))
        case .dingTalk:
            config = .dingTalk(DingTalkEndpointConfig(url: try need(url, "url")))
        case .email:
            guard recipients?.isEmpty == false || email?.isEmpty == false else {
                throw AlarmValidationError(field: "recipients", reason: "give at least one address")
            }
            config = .email(EmailEndpointConfig(smtpServer: try need(smtpServer, "smtpServer"), from: try need(from, "from"), recipients: []))
        }
        var e = SNSEndpoint(uuid: "", name: name, config: config, createDate: now)
        try apply(to: &e)
        return e
    }

    private func need(_ v: String?, _ field: String) throws(AlarmValidationError) -> String {
        guard let v, !v.isEmpty else { throw AlarmValidationError(field: field, reason: "is required") }
        return v
    }

    /// A new secret: nil keeps `old`, the mask keeps `old`, `""` removes it.
    static func secret(_ new: String?, old: String?) -> String? {
        guard let new, new != EndpointInventory.mask else { return old }
        return new.isEmpty ? nil : new
    }

    func apply(to e: inout SNSEndpoint) throws(AlarmValidationError) {
        if let name { e.name = name }
        if let description { e.description = description }
        if let template { e.template = template.isEmpty ? nil : template }
        if let recoveryTemplate { e.recoveryTemplate = recoveryTemplate.isEmpty ? nil : recoveryTemplate }
        if let state { e.enabled = try AlarmParse.enabled(state, field: "state") }
        switch e.config {
        case .http(var c):
            if let url { c.url = url }
            if let username { c.username = username.isEmpty ? nil : username }
            c.password = Self.secret(password, old: c.password)
            c.secret = Self.secret(secret, old: c.secret)
            if let format { c.format = try AlarmParse.value(format, field: "format") }
            e.config = .http(c)
        case .dingTalk(var c):
            if let url { c.url = url }
            c.secret = Self.secret(secret, old: c.secret)
            if let atMobiles { c.atMobiles = atMobiles }
            if let atAll { c.atAll = atAll }
            e.config = .dingTalk(c)
        case .email(var c):
            if let smtpServer { c.smtpServer = smtpServer }
            if let smtpPort {
                guard (1...65535).contains(smtpPort) else { throw AlarmValidationError(field: "smtpPort", reason: "must be 1…65535") }
                c.smtpPort = smtpPort
            }
            if let security { c.security = try AlarmParse.value(security, field: "security") }
            if let username { c.username = username.isEmpty ? nil : username }
            c.password = Self.secret(password, old: c.password)
            if let from { c.from = from }
            if let recipients { c.recipients = recipients }
            if let email, !email.isEmpty, !c.recipients.contains(email) { c.recipients.append(email) }
            if let html { c.html = html }
            if let insecureSkipVerify { c.insecureSkipVerify = insecureSkipVerify }
            e.config = .email(c)
        }
    }
}

/// An endpoint as the API shows it: flat ZStack-style fields of its type, secrets and passwords
/// replaced by `******` (never returned), the topics it is subscribed to.
struct EndpointInventory: Encodable, Sendable {
    static let mask = "******"

    var uuid: String
    var name: String
    var description: String
    var type: String
    var state: String
    var template: String?
    var recoveryTemplate: String?
    var createDate: Int64
    var topics: [String]
    var url: String?
    var username: String?
    var password: String?
    var secret: String?
    var format: String?
    var atMobiles: [String]?
    var atAll: Bool?
    var smtpServer: String?
    var smtpPort: Int?
    var security: String?
    var from: String?
    var recipients: [String]?
    var html: Bool?
    var insecureSkipVerify: Bool?

    init(_ e: SNSEndpoint, topics: [String]) {
        uuid = e.uuid
        name = e.name
        description = e.description
        type = e.type
        state = e.enabled ? "Enabled" : "Disabled"
        template = e.template
        recoveryTemplate = e.recoveryTemplate
        createDate = e.createDate
        self.topics = topics
        switch e.config {
        case let .http(c):
            url = c.url
            username = c.username
            password = c.password.map { _ in Self.mask }
            secret = c.secret.map { _ in Self.mask }
            format = c.format.rawValue
        case let .dingTalk(c):
            url = c.url
            secret = c.secret.map { _ in Self.mask }
            atMobiles = c.atMobiles
            atAll = c.atAll
        case let .email(c):
            smtpServer = c.smtpServer
            smtpPort = c.smtpPort
            security = c.security.rawValue
            username = c.username
            password = c.password.map { _ in Self.mask }
            from = c.from
            recipients = c.recipients
            html = c.html
            insecureSkipVerify = c.insecureSkipVerify
        }
    }

    /// Where it sends: the URL, or the SMTP server and recipients.
    var target: String {
        if let url { return url }
        return "\(recipients?.joined(separator: ", ") ?? "") via \(smtpServer ?? ""):\(smtpPort ?? 25)"
    }

    static let queryFields: Set<String> = ["uuid", "name", "type", "state"]
    var fields: [String: String] { ["uuid": uuid, "name": name, "type": type, "state": state] }
}

/// One outbox entry as the API and pages show it.
struct DeliveryInventory: Encodable, Sendable {
    var id: Int64?
    var idempotencyKey: String
    var endpointUuid: String
    var topicUuid: String?
    /// `Alarm`, `Event` or `Test`.
    var kind: String
    /// One line saying what it is about.
    var summary: String
    var status: String
    var attempts: Int
    var createdAt: Int64
    var nextAttemptAt: Int64
    var lastAttemptAt: Int64?
    var deliveredAt: Int64?
    var lastError: String?

    init(_ o: OutboxEntry) {
        id = o.id
        idempotencyKey = o.idempotencyKey
        endpointUuid = o.endpointUuid
        topicUuid = o.topicUuid
        switch o.notice {
        case let .alarm(a):
            kind = "Alarm"
            summary = "\(a.alarmName) \(a.kind.rawValue) on \(a.resourceId): \(a.currentStatus.rawValue)"
        case let .event(e):
            kind = "Event"
            summary = "\(e.eventName) on \(e.resourceId) (\(e.subscriptionName))"
        case let .test(t):
            kind = "Test"
            summary = "test notification requested by \(t.requestedBy.isEmpty ? "?" : t.requestedBy)"
        }
        status = o.status.rawValue
        attempts = o.attempts
        createdAt = o.createdAt
        nextAttemptAt = o.nextAttemptAt
        lastAttemptAt = o.lastAttemptAt
        deliveredAt = o.deliveredAt
        lastError = o.lastError
    }
}

/// Enqueues test notifications directly into the store (when no alarm service hook is given).
public enum TestNotifications {
    /// Adds a pending test entry for the endpoint and returns it as stored (with its id).
    public static func enqueue(store: any AlarmStore, endpointUuid: String, requestedBy: String, at now: Int64) async throws -> OutboxEntry {
        _ = try await store.endpoint(uuid: endpointUuid)
        let notice = Notice.test(TestNotice(endpointUuid: endpointUuid, requestedBy: requestedBy, time: now))
        let entry = OutboxEntry(idempotencyKey: OutboxEntry.key(notice, endpointUuid: endpointUuid), endpointUuid: endpointUuid,
                                topicUuid: nil, notice: notice, nextAttemptAt: now, createdAt: now)
        try await store.enqueue([entry])
        return try await stored(entry, in: store)
    }

    /// The stored copy of `entry` (found by idempotency key among the endpoint's newest), or `entry`.
    public static func stored(_ entry: OutboxEntry, in store: any AlarmStore) async throws -> OutboxEntry {
        try await store.outbox(OutboxQuery(endpointUuid: entry.endpointUuid, limit: 50))
            .first { $0.idempotencyKey == entry.idempotencyKey } ?? entry
    }
}
