import Foundation
import Mustache
import StratusMetrics

/// Checks of alarm rules that need no database (topic existence is the store's job). Public so
/// the API can answer 400 before touching the store.
public struct AlarmRuleValidator: Sendable {
    /// Seconds. At least one collection interval (10 s): a shorter window often holds no sample
    /// and would flap to `InsufficientData`. At most a day.
    public var periodRange: ClosedRange<Int> = 10...86_400
    /// Seconds. Repeats cannot come faster than the 10 s evaluation round.
    public var minRepeatInterval = 10

    public init() {}

    public func validate(_ rule: AlarmRule) throws(AlarmValidationError) {
        try AlarmFieldRules.name(rule.name)
        try AlarmFieldRules.description(rule.description)
        let known = try Self.metric(namespace: rule.namespace, metricName: rule.metricName)
        for label in rule.labels {
            _ = try label.matcher(field: "labels")
            try AlarmFieldRules.labelName(label.key, field: "labels")
            if let known, !known.labelNames.contains(label.key) {
                throw AlarmValidationError(
                    field: "labels",
                    reason: "\(rule.namespace) \(rule.metricName) has no label '\(label.key)'; use one of \(known.labelNames.joined(separator: ", "))")
            }
        }
        guard rule.threshold.isFinite else {
            throw AlarmValidationError(field: "threshold", reason: "give a finite number, not \(rule.threshold)")
        }
        guard periodRange.contains(rule.period) else {
            throw AlarmValidationError(
                field: "period", reason: "\(rule.period) s is outside \(periodRange.lowerBound)…\(periodRange.upperBound) s; samples come every 10 s")
        }
        guard rule.repeatInterval >= minRepeatInterval else {
            throw AlarmValidationError(
                field: "repeatInterval", reason: "\(rule.repeatInterval) s is below \(minRepeatInterval) s (alarms are evaluated every 10 s); ZStack's default is 1800")
        }
        guard rule.repeatCount >= -1 else {
            throw AlarmValidationError(field: "repeatCount", reason: "\(rule.repeatCount) is invalid; give -1 (unlimited), 0 (no repeats) or more")
        }
        try AlarmFieldRules.actions(rule.actions)
    }

    /// The catalog entry for a `ZStack/*` metric (nil for a custom namespace, which only has to be
    /// well-formed: custom metrics from PutMetricData live under `MyApp/Orders`-style namespaces).
    static func metric(namespace: String, metricName: String) throws(AlarmValidationError) -> ZWatchCatalog.Metric? {
        if namespace.lowercased().hasPrefix(ZWatchCustomMetricRules.reservedPrefix.lowercased()) {
            let inNamespace = ZWatchCatalog.metrics.filter { $0.namespace == namespace }
            guard !inNamespace.isEmpty else {
                let all = Set(ZWatchCatalog.metrics.map(\.namespace)).sorted().joined(separator: ", ")
                throw AlarmValidationError(field: "namespace", reason: "'\(namespace)' is not a ZWatch namespace; use one of \(all) or a custom one")
            }
            guard let m = inNamespace.first(where: { $0.name == metricName }) else {
                throw AlarmValidationError(
                    field: "metricName",
                    reason: "\(namespace) has no metric '\(metricName)'; see GET /zstack/v1/zwatch/metrics/meta-data (e.g. \(inNamespace.prefix(3).map(\.name).joined(separator: ", ")))")
            }
            return m
        }
        do { try ZWatchCustomMetricRules().validate(namespace: namespace) } catch {
            throw AlarmValidationError(field: "namespace", reason: "'\(namespace)' must be identifiers joined by '/', e.g. MyApp/Orders, or a ZStack/ namespace")
        }
        guard !metricName.isEmpty, metricName.count <= 128, SampleValidator.isValidLabelName(metricName) else {
            throw AlarmValidationError(field: "metricName", reason: "'\(metricName)' must match [A-Za-z_][A-Za-z0-9_]* (at most 128 characters)")
        }
        return nil
    }
}

/// Checks of SNS topics and endpoints (uniqueness of topic names is the store's job).
public struct SNSValidator: Sendable {
    public init() {}

    public func validate(_ topic: SNSTopic) throws(AlarmValidationError) {
        try AlarmFieldRules.name(topic.name)
        try AlarmFieldRules.description(topic.description)
    }

    public func validate(_ endpoint: SNSEndpoint) throws(AlarmValidationError) {
        try AlarmFieldRules.name(endpoint.name)
        try AlarmFieldRules.description(endpoint.description)
        switch endpoint.config {
        case let .http(c):
            try Self.webURL(c.url, field: "url")
            try Self.credentials(c.username, c.password)
            if let s = c.secret, s.isEmpty {
                throw AlarmValidationError(field: "secret", reason: "give a non-empty secret, or none to send no signature")
            }
        case let .dingTalk(c):
            try Self.webURL(c.url, field: "url")
            if let s = c.secret, s.isEmpty {
                throw AlarmValidationError(field: "secret", reason: "give the robot's SEC… secret, or none when signing is off")
            }
            for m in c.atMobiles where m.isEmpty || !m.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "+" || $0 == "-") }) {
                throw AlarmValidationError(field: "atMobiles", reason: "'\(m)' is not a phone number (digits, + and - only)")
            }
        case let .email(c):
            let server = c.smtpServer.trimmingCharacters(in: .whitespaces)
            guard !server.isEmpty, !server.contains(where: \.isWhitespace), !server.contains("/") else {
                throw AlarmValidationError(field: "smtpServer", reason: "give the SMTP server's host name or IP address, e.g. smtp.example.com")
            }
            guard (1...65_535).contains(c.smtpPort) else {
                throw AlarmValidationError(field: "smtpPort", reason: "\(c.smtpPort) is not a port; use 25 or 587 (STARTTLS) or 465 (SMTPS)")
            }
            try Self.credentials(c.username, c.password)
            guard Self.isEmailAddress(c.from) else {
                throw AlarmValidationError(field: "from", reason: "'\(c.from)' is not an email address like alarms@example.com")
            }
            guard !c.recipients.isEmpty else {
                throw AlarmValidationError(field: "recipients", reason: "give at least one recipient address")
            }
            for r in c.recipients where !Self.isEmailAddress(r) {
                throw AlarmValidationError(field: "recipients", reason: "'\(r)' is not an email address like ops@example.com")
            }
        }
        for (field, text) in [("template", endpoint.template), ("recoveryTemplate", endpoint.recoveryTemplate)] {
            guard let text else { continue }
            do { _ = try MustacheTemplate(string: text) } catch {
                throw AlarmValidationError(field: field, reason: "not a valid mustache template: \(error)")
            }
        }
    }

    /// `local@domain` with no spaces, brackets or commas (the bare address SMTP's MAIL/RCPT take).
    public static func isEmailAddress(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].count >= 1, s.count <= 254 else { return false }
        let bad: Set<Character> = ["<", ">", ",", ";", "(", ")", "[", "]", "\"", "\\", ":"]
        guard !s.contains(where: { $0.isWhitespace || bad.contains($0) }) else { return false }
        let domain = parts[1]
        return !domain.hasPrefix(".") && !domain.hasSuffix(".") && !domain.contains("..")
    }

    static func webURL(_ s: String, field: String) throws(AlarmValidationError) {
        guard let u = URL(string: s), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = u.host, !host.isEmpty
        else {
            throw AlarmValidationError(field: field, reason: "'\(s)' is not an http:// or https:// URL with a host")
        }
    }

    static func credentials(_ user: String?, _ password: String?) throws(AlarmValidationError) {
        let u = user.map { !$0.isEmpty } ?? false
        let p = password.map { !$0.isEmpty } ?? false
        if u && !p { throw AlarmValidationError(field: "password", reason: "a username needs a password; give both or neither") }
        if p && !u { throw AlarmValidationError(field: "username", reason: "a password needs a username; give both or neither") }
    }
}

/// Checks of event subscriptions and silences.
public struct EventSubscriptionValidator: Sendable {
    /// Event names per namespace (`ResourceEvent.EventType`).
    public static let knownEvents: [String: [String]] = [
        "ZStack/VM": ["VMStateChanged", "VmCrash", "HostChanged", "Created"],
        "ZStack/Host": ["HostDisconnected", "HostStatusChanged", "Created"],
    ]

    public init() {}

    public func validate(_ s: EventSubscription) throws(AlarmValidationError) {
        try AlarmFieldRules.name(s.name)
        guard let events = Self.knownEvents[s.namespace] else {
            throw AlarmValidationError(field: "namespace", reason: "'\(s.namespace)' has no events; use ZStack/VM or ZStack/Host")
        }
        guard events.contains(s.eventName) else {
            throw AlarmValidationError(field: "eventName", reason: "\(s.namespace) has no event '\(s.eventName)'; use one of \(events.joined(separator: ", "))")
        }
        for label in s.labels {
            _ = try label.matcher(field: "labels")
            try AlarmFieldRules.labelName(label.key, field: "labels")
        }
        try AlarmFieldRules.actions(s.actions)
    }

    public func validate(_ s: Silence) throws(AlarmValidationError) {
        guard !s.matchers.isEmpty else {
            throw AlarmValidationError(field: "matchers", reason: "give at least one matcher (e.g. alarmUuid=…); a silence without matchers would mute everything")
        }
        for m in s.matchers {
            _ = try m.matcher(field: "matchers")
            try AlarmFieldRules.labelName(m.key, field: "matchers")
        }
        guard s.endsAt > s.startsAt else {
            throw AlarmValidationError(field: "endsAt", reason: "must be after startsAt (\(s.startsAt) ms)")
        }
    }
}

/// Field rules shared by the validators.
enum AlarmFieldRules {
    static func name(_ name: String) throws(AlarmValidationError) {
        guard !name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, name.count <= 255 else {
            throw AlarmValidationError(field: "name", reason: "give a name of 1 to 255 characters")
        }
    }

    static func description(_ d: String) throws(AlarmValidationError) {
        guard d.count <= 4096 else {
            throw AlarmValidationError(field: "description", reason: "\(d.count) characters exceed 4096")
        }
    }

    static func labelName(_ key: String, field: String) throws(AlarmValidationError) {
        guard SampleValidator.isValidLabelName(key) else {
            throw AlarmValidationError(field: field, reason: "label name '\(key)' must match [A-Za-z_][A-Za-z0-9_]*")
        }
    }

    static func actions(_ actions: [String]) throws(AlarmValidationError) {
        for a in actions where a.isEmpty {
            throw AlarmValidationError(field: "actions", reason: "topic uuids must not be empty")
        }
    }
}
