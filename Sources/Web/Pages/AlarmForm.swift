import Alarms
import Foundation
import StratusMetrics

/// The create / edit alarm form: its field values as typed (strings, so a bad value is shown
/// back as it was), conversion to an `AlarmRule` with field-named errors, and the mustache context.
struct AlarmForm: Sendable {
    var name = ""
    var description = ""
    var namespace = "ZStack/VM"
    var metricName = "CPUAverageUsedUtilization"
    var labels = ""
    var comparisonOperator = ComparisonOperator.greaterThanOrEqualTo.rawValue
    var threshold = "80"
    var period = "300"
    var type = AlarmType.any.rawValue
    var repeatInterval = "1800"
    var repeatCount = "-1"
    var enableRecovery = true
    var emergencyLevel = EmergencyLevel.important.rawValue
    var actions: [String] = []
    var enabled = true
    /// Preview range in hours.
    var range = "3"

    static let ranges = ["1", "3", "6", "24"]

    init() {}

    init(rule r: AlarmRule) {
        name = r.name
        description = r.description
        namespace = r.namespace
        metricName = r.metricName
        labels = AlarmPageFormat.labelsText(r.labels)
        comparisonOperator = r.comparisonOperator.rawValue
        threshold = AlarmPageFormat.value(r.threshold)
        period = String(r.period)
        type = r.type.rawValue
        repeatInterval = String(r.repeatInterval)
        repeatCount = String(r.repeatCount)
        enableRecovery = r.enableRecovery
        emergencyLevel = r.emergencyLevel.rawValue
        actions = r.actions
        enabled = r.enabled
    }

    /// The values a submitted form carries (the hidden `form` field marks one); else `base`.
    init(_ v: FormValues, base: AlarmForm) {
        self = base
        guard v.has("form") else {
            if let r = v.nonEmpty("range") { range = r }
            return
        }
        name = v["name"] ?? ""
        description = v["description"] ?? ""
        namespace = v["namespace"] ?? ""
        metricName = v["metricName"] ?? ""
        labels = v["labels"] ?? ""
        comparisonOperator = v["comparisonOperator"] ?? ""
        threshold = v["threshold"] ?? ""
        period = v["period"] ?? ""
        type = v["type"] ?? ""
        repeatInterval = v["repeatInterval"] ?? ""
        repeatCount = v["repeatCount"] ?? ""
        enableRecovery = v["enableRecovery"] != nil
        emergencyLevel = v["emergencyLevel"] ?? ""
        actions = v.all("actions").filter { !$0.isEmpty }
        enabled = v["enabled"] != nil
        range = v.nonEmpty("range") ?? base.range
    }

    /// The rule these values describe, on top of `base` (an existing rule when editing).
    func rule(base: AlarmRule?, now: Int64) throws(AlarmValidationError) -> AlarmRule {
        func int(_ s: String, _ field: String) throws(AlarmValidationError) -> Int {
            guard let v = Int(s) else { throw AlarmValidationError(field: field, reason: "'\(s)' is not a whole number") }
            return v
        }
        guard !name.isEmpty else { throw AlarmValidationError(field: "name", reason: "is required") }
        guard !namespace.isEmpty else { throw AlarmValidationError(field: "namespace", reason: "is required") }
        guard !metricName.isEmpty else { throw AlarmValidationError(field: "metricName", reason: "is required") }
        guard let t = Double(threshold), t.isFinite else {
            throw AlarmValidationError(field: "threshold", reason: "'\(threshold)' is not a number")
        }
        var r = base ?? AlarmRule(uuid: "", name: name, namespace: namespace, metricName: metricName,
                                  comparisonOperator: .greaterThanOrEqualTo, threshold: t, period: 0, createDate: now)
        r.name = name
        r.description = description
        r.namespace = namespace
        r.metricName = metricName
        r.labels = try AlarmPageFormat.parseLabels(labels)
        r.comparisonOperator = try AlarmParse.value(comparisonOperator, field: "comparisonOperator")
        r.threshold = t
        r.period = try int(period, "period")
        r.type = try AlarmParse.value(type, field: "type")
        r.repeatInterval = try int(repeatInterval, "repeatInterval")
        r.repeatCount = try int(repeatCount, "repeatCount")
        r.enableRecovery = enableRecovery
        r.emergencyLevel = try AlarmParse.value(emergencyLevel, field: "emergencyLevel")
        r.actions = actions
        r.enabled = enabled
        r.lastOpDate = now
        return r
    }

    /// The query string that re-renders this form (for links).
    var rangeHours: Int64 { Int64(range).map { min(max($0, 1), 168) } ?? 3 }

    /// Values for `alarms_form.mustache`.
    func context(topics: [SNSTopic]) -> [String: Any] {
        func options(_ all: [String], _ current: String) -> [[String: Any]] {
            all.map { ["value": $0, "selected": $0 == current] }
        }
        return [
            "name": name, "description": description, "namespace": namespace, "metricName": metricName,
            "labels": labels, "threshold": threshold, "period": period, "repeatInterval": repeatInterval,
            "repeatCount": repeatCount, "enableRecovery": enableRecovery, "enabled": enabled,
            "namespaces": options(Array(Set(ZWatchCatalog.metrics.map(\.namespace))).sorted(), namespace),
            "metrics": ZWatchCatalog.metrics.filter { $0.namespace == namespace }.map { ["value": $0.name, "unit": $0.description] },
            "operators": options(ComparisonOperator.allCases.map(\.rawValue), comparisonOperator),
            "types": options(AlarmType.allCases.map(\.rawValue), type),
            "levels": options(EmergencyLevel.allCases.map(\.rawValue), emergencyLevel),
            "ranges": options(Self.ranges, range),
            "topics": topics.map { ["uuid": $0.uuid, "name": $0.name, "checked": actions.contains($0.uuid)] as [String: Any] },
            "hasTopics": !topics.isEmpty,
        ]
    }
}
