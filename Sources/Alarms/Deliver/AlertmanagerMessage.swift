/// An Alertmanager webhook v4 message (the body Alertmanager POSTs to `webhook_configs`), built
/// from notices so tools that consume Alertmanager webhooks can take Stratus notifications.
///
/// Alarm alerts are labelled `alertname` (the alarm name), `alarmUuid`, `namespace`,
/// `metricName`, `severity` (the emergency level) and the series labels. `startsAt` is the
/// episode start (when the instance entered `Alarm`, `ALARM_STARTS_AT`); recoveries are
/// `resolved` with `endsAt` = the recovery time. Events are `firing` alerts named by the event. Firing
/// alerts have Alertmanager's zero `endsAt` (`0001-01-01T00:00:00Z`). `fingerprint` is
/// Prometheus' label-set fingerprint (FNV-1a 64, 16 hex digits).
public struct AlertmanagerMessage: Codable, Sendable, Equatable {
    public struct Alert: Codable, Sendable, Equatable {
        public var status: String
        public var labels: [String: String]
        public var annotations: [String: String]
        public var startsAt: String
        public var endsAt: String
        public var generatorURL: String
        public var fingerprint: String
    }

    public var version: String
    public var groupKey: String
    public var truncatedAlerts: Int
    /// `firing` if any alert fires, else `resolved`.
    public var status: String
    public var receiver: String
    public var groupLabels: [String: String]
    public var commonLabels: [String: String]
    public var commonAnnotations: [String: String]
    public var externalURL: String
    public var alerts: [Alert]

    public static let zeroTime = "0001-01-01T00:00:00Z"

    public init(fields: [NoticeFields], receiver: String, externalURL: String, renderer: NoticeRenderer) {
        alerts = fields.map { Self.alert($0, externalURL: externalURL, renderer: renderer) }
        version = "4"
        truncatedAlerts = 0
        status = alerts.contains { $0.status == "firing" } ? "firing" : "resolved"
        self.receiver = receiver
        self.externalURL = externalURL
        commonLabels = Self.common(alerts.map(\.labels))
        commonAnnotations = Self.common(alerts.map(\.annotations))
        if let name = commonLabels["alertname"] { groupLabels = ["alertname": name] } else { groupLabels = [:] }
        groupKey = "{}:{" + groupLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
    }

    static func alert(_ f: NoticeFields, externalURL: String, renderer: NoticeRenderer) -> Alert {
        var labels: [String: String] = [:]
        for l in f.labels { labels[l.key] = l.value }
        var annotations: [String: String] = [
            "summary": renderer.line(f),
            "description": renderer.text([f]),
            "idempotencyKey": f["IDEMPOTENCY_KEY"] ?? "",
        ]
        let base = externalURL.hasSuffix("/") ? String(externalURL.dropLast()) : externalURL
        var status = "firing"
        var time = Int64(0)
        var startsAt: Int64?
        var generator = ""
        switch f["NOTIFICATION_TYPE"] {
        case "Alarm":
            labels["alertname"] = f["ALARM_NAME"]
            labels["alarmUuid"] = f["ALARM_UUID"]
            labels["namespace"] = f["ALARM_NAMESPACE"]
            labels["metricName"] = f["ALARM_METRIC"]
            labels["severity"] = f["ALARM_EMERGENCY_LEVEL"]
            annotations["value"] = f["ALARM_CURRENT_VALUE"]
            annotations["threshold"] = f["ALARM_THRESHOLD"]
            annotations["comparisonOperator"] = f["ALARM_COMPARISON_OPERATOR"]
            annotations["notificationKind"] = f["ALARM_NOTIFICATION_KIND"]
            annotations["resourceId"] = f["ALARM_RESOURCE_ID"]
            time = Int64(f["ALARM_TIME"] ?? "") ?? 0
            startsAt = Int64(f["ALARM_STARTS_AT"] ?? "")
            if f.flags["IS_RECOVERY"] == true { status = "resolved" }
            if !base.isEmpty { generator = base + "/alarms/" + (f["ALARM_UUID"] ?? "") }
        case "Event":
            labels["alertname"] = f["EVENT_NAME"]
            labels["namespace"] = f["EVENT_NAMESPACE"]
            labels["severity"] = f["EVENT_EMERGENCY_LEVEL"]
            labels["subscriptionUuid"] = f["EVENT_SUBSCRIPTION_UUID"]
            annotations["resourceId"] = f["EVENT_RESOURCE_ID"]
            annotations["resourceType"] = f["EVENT_RESOURCE_TYPE"]
            time = Int64(f["EVENT_TIME"] ?? "") ?? 0
            if !base.isEmpty { generator = base + "/alarms/events" }
        default:
            labels["alertname"] = "StratusTestNotification"
            labels["endpointUuid"] = f["TEST_ENDPOINT_UUID"]
            labels["severity"] = "Normal"
            time = Int64(f["TEST_TIME"] ?? "") ?? 0
        }
        return Alert(status: status, labels: labels, annotations: annotations, startsAt: NoticeFields.rfc3339(startsAt ?? time),
                     endsAt: status == "resolved" ? NoticeFields.rfc3339(time) : zeroTime, generatorURL: generator,
                     fingerprint: fingerprint(labels))
    }

    /// The pairs every map has with the same value.
    static func common(_ maps: [[String: String]]) -> [String: String] {
        guard var result = maps.first else { return [:] }
        for m in maps.dropFirst() { result = result.filter { m[$0.key] == $0.value } }
        return result
    }

    /// Prometheus' `LabelSet.Fingerprint`: FNV-1a 64 over sorted `name 0xff value 0xff`, as 16 hex digits.
    public static func fingerprint(_ labels: [String: String]) -> String {
        var h: UInt64 = 14_695_981_039_346_656_037
        func add(_ b: UInt8) {
            h ^= UInt64(b)
            h = h &* 1_099_511_628_211
        }
        for key in labels.keys.sorted() {
            for b in key.utf8 { add(b) }
            add(0xff)
            for b in labels[key]!.utf8 { add(b) }
            add(0xff)
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
