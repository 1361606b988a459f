import Alarms
import Foundation

/// The `params` of `POST /zstack/v1/zwatch/alarms` and `PUT …/alarms/{uuid}` (ZStack's
/// CreateAlarm / UpdateAlarm fields). Every field is optional here: creation checks the required
/// ones, an update changes only the fields present.
struct AlarmParams: Decodable, Sendable {
    var name: String?
    var description: String?
    var namespace: String?
    var metricName: String?
    var labels: [AlarmLabelParam]?
    var comparisonOperator: String?
    var threshold: Double?
    var period: Int?
    var type: String?
    var repeatInterval: Int?
    var repeatCount: Int?
    var enableRecovery: Bool?
    var emergencyLevel: String?
    var actions: [String]?
    /// `Enabled` / `Disabled` (ZStack's `state`).
    var state: String?

    /// A new rule from these params; throws naming the first missing or bad field.
    func newRule(at now: Int64) throws(AlarmValidationError) -> AlarmRule {
        func need<T>(_ v: T?, _ field: String) throws(AlarmValidationError) -> T {
            guard let v else { throw AlarmValidationError(field: field, reason: "is required") }
            return v
        }
        var rule = AlarmRule(uuid: "", name: try need(name, "name"), namespace: try need(namespace, "namespace"),
                             metricName: try need(metricName, "metricName"),
                             comparisonOperator: try AlarmParse.value(try need(comparisonOperator, "comparisonOperator"), field: "comparisonOperator"),
                             threshold: try need(threshold, "threshold"), period: try need(period, "period"),
                             createDate: now, lastOpDate: now)
        try apply(to: &rule)
        return rule
    }

    /// Copies the fields present onto `rule`.
    func apply(to rule: inout AlarmRule) throws(AlarmValidationError) {
        if let name { rule.name = name }
        if let description { rule.description = description }
        if let namespace { rule.namespace = namespace }
        if let metricName { rule.metricName = metricName }
        if let labels { rule.labels = try AlarmParse.labels(labels, field: "labels") }
        if let comparisonOperator { rule.comparisonOperator = try AlarmParse.value(comparisonOperator, field: "comparisonOperator") }
        if let threshold {
            guard threshold.isFinite else { throw AlarmValidationError(field: "threshold", reason: "must be a finite number") }
            rule.threshold = threshold
        }
        if let period { rule.period = period }
        if let type { rule.type = try AlarmParse.value(type, field: "type") }
        if let repeatInterval { rule.repeatInterval = repeatInterval }
        if let repeatCount { rule.repeatCount = repeatCount }
        if let enableRecovery { rule.enableRecovery = enableRecovery }
        if let emergencyLevel { rule.emergencyLevel = try AlarmParse.value(emergencyLevel, field: "emergencyLevel") }
        if let actions { rule.actions = actions }
        if let state { rule.enabled = try AlarmParse.enabled(state, field: "state") }
    }
}

extension AlarmParse {
    /// `Enabled`/`enable` → true, `Disabled`/`disable` → false.
    static func enabled(_ raw: String, field: String) throws(AlarmValidationError) -> Bool {
        switch raw.lowercased() {
        case "enabled", "enable": return true
        case "disabled", "disable": return false
        default: throw AlarmValidationError(field: field, reason: "'\(raw)' is not one of enable, disable")
        }
    }
}

/// An alarm as the API shows it: the rule, its `state` (Enabled/Disabled) and its `status`
/// (Alarm when any instance fires, else OK when any is OK, else InsufficientData).
struct AlarmInventory: Encodable, Sendable {
    var uuid: String
    var name: String
    var description: String
    var namespace: String
    var metricName: String
    var labels: [AlarmLabel]
    var comparisonOperator: String
    var threshold: Double
    var period: Int
    var type: String
    var repeatInterval: Int
    var repeatCount: Int
    var enableRecovery: Bool
    var emergencyLevel: String
    var actions: [String]
    var state: String
    var status: String
    /// Instances currently in `Alarm`.
    var firingCount: Int
    var builtIn: Bool
    var createDate: Int64
    var lastOpDate: Int64

    init(_ r: AlarmRule, instances: [AlarmInstanceState]) {
        uuid = r.uuid
        name = r.name
        description = r.description
        namespace = r.namespace
        metricName = r.metricName
        labels = r.labels
        comparisonOperator = r.comparisonOperator.rawValue
        threshold = r.threshold
        period = r.period
        type = r.type.rawValue
        repeatInterval = r.repeatInterval
        repeatCount = r.repeatCount
        enableRecovery = r.enableRecovery
        emergencyLevel = r.emergencyLevel.rawValue
        actions = r.actions
        state = r.enabled ? "Enabled" : "Disabled"
        firingCount = instances.filter { $0.status == .alarm }.count
        status = Self.status(of: instances).rawValue
        builtIn = r.builtIn
        createDate = r.createDate
        lastOpDate = r.lastOpDate
    }

    static func status(of instances: [AlarmInstanceState]) -> AlarmStatus {
        if instances.contains(where: { $0.status == .alarm }) { return .alarm }
        if instances.contains(where: { $0.status == .ok }) { return .ok }
        return .insufficientData
    }

    static let queryFields: Set<String> = ["uuid", "name", "namespace", "metricName", "status", "state", "emergencyLevel", "type", "createDate"]

    var fields: [String: String] {
        ["uuid": uuid, "name": name, "namespace": namespace, "metricName": metricName, "status": status, "state": state,
         "emergencyLevel": emergencyLevel, "type": type, "createDate": String(createDate)]
    }
}

/// One alarm instance now in `Alarm`, with what its alarm says.
struct FiringInstance: Encodable, Sendable {
    var alarmUuid: String
    var alarmName: String
    var namespace: String
    var metricName: String
    var comparisonOperator: String
    var threshold: Double
    var emergencyLevel: String
    var instanceKey: String
    var labels: [String: String]
    var resourceId: String
    var status: String
    /// When the instance entered `Alarm` (ms).
    var since: Int64
    var value: Double?
    var notificationCount: Int

    init(_ s: AlarmInstanceState, rule: AlarmRule) {
        alarmUuid = s.alarmUuid
        alarmName = rule.name
        namespace = rule.namespace
        metricName = rule.metricName
        comparisonOperator = rule.comparisonOperator.rawValue
        threshold = rule.threshold
        emergencyLevel = rule.emergencyLevel.rawValue
        instanceKey = s.instanceKey
        labels = s.labels
        resourceId = s.resourceId
        status = s.status.rawValue
        since = s.since
        value = s.lastValue
        notificationCount = s.notificationCount
    }

    /// Emergent first, then the longest firing.
    static func ordered(_ a: FiringInstance, _ b: FiringInstance) -> Bool {
        let rank = ["Emergent": 0, "Important": 1, "Normal": 2]
        let ra = rank[a.emergencyLevel] ?? 3, rb = rank[b.emergencyLevel] ?? 3
        return ra != rb ? ra < rb : (a.since, a.alarmName, a.instanceKey) < (b.since, b.alarmName, b.instanceKey)
    }
}

/// The `params` of an event subscription (ZStack's SubscribeEvent plus name/level/state).
struct EventSubscriptionParams: Decodable, Sendable {
    var name: String?
    var namespace: String?
    var eventName: String?
    var labels: [AlarmLabelParam]?
    var actions: [String]?
    var emergencyLevel: String?
    var state: String?

    func newSubscription(at now: Int64) throws(AlarmValidationError) -> EventSubscription {
        guard let namespace else { throw AlarmValidationError(field: "namespace", reason: "is required") }
        guard let eventName else { throw AlarmValidationError(field: "eventName", reason: "is required") }
        var s = EventSubscription(uuid: "", name: name ?? eventName, namespace: namespace, eventName: eventName, createDate: now)
        try apply(to: &s)
        return s
    }

    func apply(to s: inout EventSubscription) throws(AlarmValidationError) {
        if let name { s.name = name }
        if let namespace { s.namespace = namespace }
        if let eventName { s.eventName = eventName }
        if let labels { s.labels = try AlarmParse.labels(labels, field: "labels") }
        if let actions { s.actions = actions }
        if let emergencyLevel { s.emergencyLevel = try AlarmParse.value(emergencyLevel, field: "emergencyLevel") }
        if let state { s.enabled = try AlarmParse.enabled(state, field: "state") }
    }
}

/// The `params` of a silence: `matchers`, then `startsAt` (ms, default now) and either `endsAt`
/// (ms) or `duration` (seconds); `comment`.
struct SilenceParams: Decodable, Sendable {
    var matchers: [AlarmLabelParam]?
    var startsAt: Int64?
    var endsAt: Int64?
    var duration: Int64?
    var comment: String?

    func silence(by account: String, at now: Int64) throws(AlarmValidationError) -> Silence {
        guard let matchers, !matchers.isEmpty else {
            throw AlarmValidationError(field: "matchers", reason: "give at least one {key, op, value}; a silence matching everything is not allowed")
        }
        let start = startsAt ?? now
        let end: Int64
        if let endsAt { end = endsAt } else if let duration {
            guard duration > 0 else { throw AlarmValidationError(field: "duration", reason: "must be > 0 seconds") }
            end = start + duration * 1000
        } else {
            throw AlarmValidationError(field: "endsAt", reason: "give endsAt (ms since the epoch) or duration (seconds)")
        }
        guard end > start else { throw AlarmValidationError(field: "endsAt", reason: "must be after startsAt") }
        return Silence(uuid: "", matchers: try AlarmParse.labels(matchers, field: "matchers"), startsAt: start, endsAt: end,
                       comment: comment ?? "", createdBy: account, createDate: now)
    }
}
