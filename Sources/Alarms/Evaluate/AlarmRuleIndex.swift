import StratusMetrics

/// An enabled rule with its matchers compiled and its period in ms. A class: the round touches
/// each rule once per matching series, and copying an `AlarmRule` costs a dozen retains.
final class CompiledRule: Sendable {
    let rule: AlarmRule
    /// The rule's label matchers (a `__name__` label in a rule is ignored: the metric names the series).
    let matchers: [LabelMatcher]
    let periodMs: Int64
    let seriesName: String

    init(_ rule: AlarmRule) throws(AlarmValidationError) {
        self.rule = rule
        var matchers: [LabelMatcher] = []
        for l in rule.labels where l.key != Labels.nameKey { matchers.append(try l.matcher()) }
        self.matchers = matchers
        periodMs = Int64(max(rule.period, 0)) * 1000
        seriesName = ZWatchName.seriesName(namespace: rule.namespace, metricName: rule.metricName)
    }

    func matches(_ labels: Labels) -> Bool {
        matchers.allSatisfy { $0.matches(labels[$0.name]) }
    }
}

/// The rules of one metric, indexed by one of their `=` labels so that matching a series costs the
/// rules that can match it, not all rules: 100,000 rules `VMUuid=<uuid>` over 100,000 series is
/// one dictionary lookup per series.
struct AlarmRuleIndex {
    /// label name → label value → rule positions.
    private var byEqual: [String: [String: [Int]]] = [:]
    /// Rules without an `=` label: checked against every series.
    private var scan: [Int] = []
    let rules: [CompiledRule]

    init(_ rules: [CompiledRule]) {
        self.rules = rules
        for (i, r) in rules.enumerated() {
            if let eq = r.matchers.first(where: { $0.op == .equal }) {
                byEqual[eq.name, default: [:]][eq.value, default: []].append(i)
            } else {
                scan.append(i)
            }
        }
    }

    /// Calls `body` with the position of every rule whose matchers all match `labels`.
    func forEachMatch(_ labels: Labels, _ body: (Int) -> Void) {
        for i in scan where rules[i].matches(labels) { body(i) }
        for (name, values) in byEqual {
            // A missing label matches `=""`, as in PromQL.
            guard let candidates = values[labels[name] ?? ""] else { continue }
            for i in candidates where rules[i].matches(labels) { body(i) }
        }
    }
}

/// The instance key of a series: its labels without `__name__`, sorted by name, as `k=v,k=v`.
enum InstanceKeys {
    static func key(_ labels: Labels) -> String {
        var s = ""
        for p in labels.pairs where p.name != Labels.nameKey {
            if !s.isEmpty { s += "," }
            s += p.name
            s += "="
            s += p.value
        }
        return s
    }

    /// The same as a dictionary.
    static func dictionary(_ labels: Labels) -> [String: String] { labels.withoutName }
}
