import StratusMetrics

/// How a metric value is compared with an alarm's threshold (ZStack's `comparisonOperator`).
public enum ComparisonOperator: String, Codable, Sendable, CaseIterable {
    case greaterThanOrEqualTo = "GreaterThanOrEqualTo"
    case greaterThan = "GreaterThan"
    case lessThan = "LessThan"
    case lessThanOrEqualTo = "LessThanOrEqualTo"

    /// True when `value` is on the alarming side of `threshold`. NaN never breaches.
    public func breaches(_ value: Double, threshold: Double) -> Bool {
        switch self {
        case .greaterThanOrEqualTo: value >= threshold
        case .greaterThan: value > threshold
        case .lessThan: value < threshold
        case .lessThanOrEqualTo: value <= threshold
        }
    }

    /// `>=`, `>`, `<`, `<=` for messages.
    public var symbol: String {
        switch self {
        case .greaterThanOrEqualTo: ">="
        case .greaterThan: ">"
        case .lessThan: "<"
        case .lessThanOrEqualTo: "<="
        }
    }
}

/// ZStack's alarm `type`: `Any` keeps one instance per matching series (per resource);
/// `Average` keeps one instance for the average over all matching series.
public enum AlarmType: String, Codable, Sendable, CaseIterable {
    case any = "Any"
    case average = "Average"
}

/// ZStack's `emergencyLevel`.
public enum EmergencyLevel: String, Codable, Sendable, CaseIterable {
    case emergent = "Emergent"
    case important = "Important"
    case normal = "Normal"
}

/// The state of one alarm instance (ZStack: `OK`, `Alarm`, `InsufficientData`).
public enum AlarmStatus: String, Codable, Sendable, CaseIterable {
    case ok = "OK"
    case alarm = "Alarm"
    case insufficientData = "InsufficientData"
}

/// One label condition of an alarm, event subscription or silence: `key op value` with op one of
/// `=`, `!=`, `=~`, `!~` (regexes are anchored, as in PromQL).
public struct AlarmLabel: Codable, Sendable, Hashable {
    public var key: String
    public var op: String
    public var value: String

    public init(key: String, op: String = "=", value: String) {
        self.key = key
        self.op = op
        self.value = value
    }

    /// The store matcher; throws `AlarmValidationError` naming the label when op or regex is bad.
    public func matcher(field: String = "labels") throws(AlarmValidationError) -> LabelMatcher {
        guard let o = LabelMatcher.Operator(rawValue: op) else {
            throw AlarmValidationError(field: field, reason: "label '\(key)' has operator '\(op)'; use =, !=, =~ or !~")
        }
        do { return try LabelMatcher(key, o, value) } catch {
            throw AlarmValidationError(field: field, reason: "label '\(key)\(op)\(value)': \(error)")
        }
    }
}

/// A ZWatch metric alarm (ZStack's fields and semantics).
///
/// An instance (per series for `Any`, one for `Average`) goes to `Alarm` when every sample in the
/// last `period` seconds breaches the threshold, to `OK` when any does not, and to
/// `InsufficientData` when the period has no sample. While in `Alarm` it notifies again every
/// `repeatInterval` seconds, at most `repeatCount` times (-1: no limit); with `enableRecovery`
/// the return to `OK` is notified too.
public struct AlarmRule: Codable, Sendable, Equatable, Identifiable {
    public var uuid: String
    public var name: String
    public var description: String
    /// `ZStack/VM`, `ZStack/Host`, … (see METRICS.md).
    public var namespace: String
    public var metricName: String
    public var labels: [AlarmLabel]
    public var comparisonOperator: ComparisonOperator
    public var threshold: Double
    /// Seconds of data every sample of which must breach.
    public var period: Int
    public var type: AlarmType
    /// Seconds between repeated notifications while in `Alarm` (ZStack default 1800).
    public var repeatInterval: Int
    /// Repeated notifications per `Alarm` episode after the first; -1 = unlimited.
    public var repeatCount: Int
    public var enableRecovery: Bool
    public var emergencyLevel: EmergencyLevel
    /// SNS topic uuids notified on transitions.
    public var actions: [String]
    /// `Enabled` alarms are evaluated; `Disabled` ones keep their definition only.
    public var enabled: Bool
    /// Set on the built-in templates Stratus creates on first start.
    public var builtIn: Bool
    public var createDate: Int64
    public var lastOpDate: Int64

    public var id: String { uuid }

    public init(uuid: String, name: String, description: String = "", namespace: String, metricName: String,
                labels: [AlarmLabel] = [], comparisonOperator: ComparisonOperator, threshold: Double, period: Int,
                type: AlarmType = .any, repeatInterval: Int = 1800, repeatCount: Int = -1, enableRecovery: Bool = true,
                emergencyLevel: EmergencyLevel = .important, actions: [String] = [], enabled: Bool = true,
                builtIn: Bool = false, createDate: Int64 = 0, lastOpDate: Int64 = 0) {
        self.uuid = uuid
        self.name = name
        self.description = description
        self.namespace = namespace
        self.metricName = metricName
        self.labels = labels
        self.comparisonOperator = comparisonOperator
        self.threshold = threshold
        self.period = period
        self.type = type
        self.repeatInterval = repeatInterval
        self.repeatCount = repeatCount
        self.enableRecovery = enableRecovery
        self.emergencyLevel = emergencyLevel
        self.actions = actions
        self.enabled = enabled
        self.builtIn = builtIn
        self.createDate = createDate
        self.lastOpDate = lastOpDate
    }
}

/// Bad input to the alarm API: names the field and how to fix it (a 400 at the HTTP layer).
public struct AlarmValidationError: Error, Equatable, CustomStringConvertible {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}

/// A lookup that found nothing (a 404 at the HTTP layer).
public struct AlarmNotFoundError: Error, Equatable, CustomStringConvertible {
    /// `alarm`, `topic`, `endpoint`, `event subscription`, `silence`, `delivery`.
    public var kind: String
    public var uuid: String

    public init(kind: String, uuid: String) {
        self.kind = kind
        self.uuid = uuid
    }

    public var description: String { "no \(kind) with uuid \(uuid)" }
}
