import Foundation

/// The flat ZStack keys of a notice (`ALARM_NAME`, `EVENT_NAME`, …): the JSON body of HTTP
/// endpoints and the variables of mustache templates.
///
/// Every value is a string, as ZStack sends them:
/// - numbers without a trailing `.0` (`80`, `91.5`); a missing current value is `""`;
/// - `ALARM_LABELS` / `EVENT_LABELS` are a JSON object as a string, keys sorted (`{"VMUuid":"…"}`);
/// - `ALARM_TIME` / `EVENT_TIME` / `TEST_TIME` are ms since the epoch (Stratus' time unit), and
///   `*_TIME_TEXT` the same instant as RFC 3339 UTC (`2026-11-21T10:31:01.000Z`) for humans;
/// - `ALARM_STARTS_AT` (+ `_TEXT`) is when the instance entered `Alarm` (the episode start; equal
///   to `ALARM_TIME` for a firing, earlier for a repeat or recovery);
/// - `NOTIFICATION_TYPE` is `Alarm`, `Event` or `Test`; `IDEMPOTENCY_KEY` the outbox key.
public struct NoticeFields: Sendable, Equatable {
    /// Key → value; the keys of one notice kind are always all present.
    public private(set) var values: [String: String]
    /// The notice's labels, sorted by key (for templates' `{{#LABELS}}{{key}}={{value}}{{/LABELS}}`).
    public private(set) var labels: [(key: String, value: String)]
    /// Kind flags for template sections: `IS_ALARM`, `IS_EVENT`, `IS_TEST`, `IS_FIRING`, `IS_REPEAT`, `IS_RECOVERY`.
    public private(set) var flags: [String: Bool]

    public static let alarmKeys = [
        "NOTIFICATION_TYPE", "IDEMPOTENCY_KEY",
        "ALARM_NAME", "ALARM_UUID", "ALARM_NAMESPACE", "ALARM_METRIC", "ALARM_THRESHOLD", "ALARM_CURRENT_VALUE",
        "ALARM_COMPARISON_OPERATOR", "ALARM_COMPARISON_SYMBOL", "ALARM_LABELS", "ALARM_PREVIOUS_STATUS",
        "ALARM_CURRENT_STATUS", "ALARM_EMERGENCY_LEVEL", "ALARM_TIME", "ALARM_TIME_TEXT", "ALARM_RESOURCE_ID",
        "ALARM_NOTIFICATION_KIND", "ALARM_INSTANCE_KEY", "ALARM_SEQUENCE", "ALARM_STARTS_AT", "ALARM_STARTS_AT_TEXT",
    ]
    public static let eventKeys = [
        "NOTIFICATION_TYPE", "IDEMPOTENCY_KEY",
        "EVENT_NAME", "EVENT_NAMESPACE", "EVENT_LABELS", "EVENT_TIME", "EVENT_TIME_TEXT", "EVENT_RESOURCE_ID",
        "EVENT_RESOURCE_TYPE", "EVENT_EMERGENCY_LEVEL", "EVENT_SUBSCRIPTION_UUID", "EVENT_SUBSCRIPTION_NAME",
        "EVENT_SEQUENCE",
    ]
    public static let testKeys = [
        "NOTIFICATION_TYPE", "IDEMPOTENCY_KEY", "TEST_ENDPOINT_UUID", "TEST_REQUESTED_BY", "TEST_TIME", "TEST_TIME_TEXT",
    ]

    public static func == (a: NoticeFields, b: NoticeFields) -> Bool { a.values == b.values }

    /// - Parameter idempotencyKey: the outbox key; `""` when nil.
    public init(_ notice: Notice, idempotencyKey: String?) {
        var v: [String: String] = ["IDEMPOTENCY_KEY": idempotencyKey ?? ""]
        var f = ["IS_ALARM": false, "IS_EVENT": false, "IS_TEST": false, "IS_FIRING": false, "IS_REPEAT": false, "IS_RECOVERY": false]
        var labels: [String: String] = [:]
        switch notice {
        case let .alarm(a):
            labels = a.labels
            v["NOTIFICATION_TYPE"] = "Alarm"
            v["ALARM_NAME"] = a.alarmName
            v["ALARM_UUID"] = a.alarmUuid
            v["ALARM_NAMESPACE"] = a.namespace
            v["ALARM_METRIC"] = a.metricName
            v["ALARM_THRESHOLD"] = Self.number(a.threshold)
            v["ALARM_CURRENT_VALUE"] = a.currentValue.map(Self.number) ?? ""
            v["ALARM_COMPARISON_OPERATOR"] = a.comparisonOperator.rawValue
            v["ALARM_COMPARISON_SYMBOL"] = a.comparisonOperator.symbol
            v["ALARM_LABELS"] = Self.json(a.labels)
            v["ALARM_PREVIOUS_STATUS"] = a.previousStatus.rawValue
            v["ALARM_CURRENT_STATUS"] = a.currentStatus.rawValue
            v["ALARM_EMERGENCY_LEVEL"] = a.emergencyLevel.rawValue
            v["ALARM_TIME"] = String(a.time)
            v["ALARM_TIME_TEXT"] = Self.rfc3339(a.time)
            v["ALARM_RESOURCE_ID"] = a.resourceId
            v["ALARM_NOTIFICATION_KIND"] = a.kind.rawValue
            v["ALARM_INSTANCE_KEY"] = a.instanceKey
            v["ALARM_SEQUENCE"] = String(a.sequence)
            v["ALARM_STARTS_AT"] = String(a.startsAt)
            v["ALARM_STARTS_AT_TEXT"] = Self.rfc3339(a.startsAt)
            f["IS_ALARM"] = true
            f["IS_FIRING"] = a.kind == .firing
            f["IS_REPEAT"] = a.kind == .repeating
            f["IS_RECOVERY"] = a.kind == .recovery
        case let .event(e):
            labels = e.labels
            v["NOTIFICATION_TYPE"] = "Event"
            v["EVENT_NAME"] = e.eventName
            v["EVENT_NAMESPACE"] = e.namespace
            v["EVENT_LABELS"] = Self.json(e.labels)
            v["EVENT_TIME"] = String(e.time)
            v["EVENT_TIME_TEXT"] = Self.rfc3339(e.time)
            v["EVENT_RESOURCE_ID"] = e.resourceId
            v["EVENT_RESOURCE_TYPE"] = e.resourceType
            v["EVENT_EMERGENCY_LEVEL"] = e.emergencyLevel.rawValue
            v["EVENT_SUBSCRIPTION_UUID"] = e.subscriptionUuid
            v["EVENT_SUBSCRIPTION_NAME"] = e.subscriptionName
            v["EVENT_SEQUENCE"] = String(e.eventSequence)
            f["IS_EVENT"] = true
        case let .test(t):
            v["NOTIFICATION_TYPE"] = "Test"
            v["TEST_ENDPOINT_UUID"] = t.endpointUuid
            v["TEST_REQUESTED_BY"] = t.requestedBy
            v["TEST_TIME"] = String(t.time)
            v["TEST_TIME_TEXT"] = Self.rfc3339(t.time)
            f["IS_TEST"] = true
        }
        values = v
        flags = f
        self.labels = labels.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
    }

    public subscript(key: String) -> String? { values[key] }

    /// The keys of this notice's kind, in ZStack's order.
    public var orderedKeys: [String] {
        switch values["NOTIFICATION_TYPE"] {
        case "Alarm": Self.alarmKeys
        case "Event": Self.eventKeys
        default: Self.testKeys
        }
    }

    /// The mustache context: every key, the flags, and `LABELS` as a list of `{key, value}`.
    public var templateContext: [String: Any] {
        var c: [String: Any] = values
        for (k, b) in flags { c[k] = b }
        c["LABELS"] = labels.map { ["key": $0.key, "value": $0.value] }
        c["LABELS_TEXT"] = labels.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        return c
    }

    // MARK: formatting

    /// `80` for 80.0, `91.5`, `NaN`, `+Inf`.
    public static func number(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d > 0 ? "+Inf" : "-Inf" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    /// `{"a":"1","b":"2"}`: keys sorted, no escaped slashes.
    static func json(_ labels: [String: String]) -> String {
        let data = (try? DeliveryJSON.encoder().encode(labels)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// RFC 3339 UTC with milliseconds: `2026-11-21T10:31:01.000Z`.
    public static func rfc3339(_ ms: Int64) -> String {
        var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let millis = Int(ms - Int64(seconds) * 1000)
        var t = tm()
        gmtime_r(&seconds, &t)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(t.tm_year) + 1900, Int(t.tm_mon) + 1, Int(t.tm_mday),
                      Int(t.tm_hour), Int(t.tm_min), Int(t.tm_sec), millis)
    }
}

/// JSON encoding shared by the senders.
enum DeliveryJSON {
    /// Sorted keys, `/` not escaped: stable bodies (signatures, tests) that read naturally.
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
