import StratusMetrics

/// What mutes notifications in one round: the active silences and the hosts that are disconnected
/// (inhibition: a `HostDisconnected` host's VMs do not alarm on their own).
///
/// A suppressed transition is still written to history, with `notified = false` and
/// `suppressedBy` = `silence:<uuid>` or `inhibited:HostDisconnected:<hostUuid>`. Inhibition is
/// checked first (it names the cause), then silences in the order given.
///
/// The matching is public so event notifications can reuse it (`silence(matching:at:)`).
public struct AlarmSuppression: Sendable {
    /// A silence with its matchers compiled once.
    struct CompiledSilence: Sendable {
        var silence: Silence
        var matchers: [LabelMatcher]
    }

    /// The silences given (active or not; each is checked with `Silence.isActive(at:)`).
    public let silences: [Silence]
    /// Uuids of hosts whose status is Disconnected.
    public let disconnectedHosts: Set<String>
    let compiled: [CompiledSilence]
    /// Silences skipped because a matcher does not compile (the store validates, so normally empty).
    public let invalidSilences: [String]

    /// Nothing suppressed.
    public static let none = AlarmSuppression()

    public init(silences: [Silence] = [], disconnectedHosts: Set<String> = []) {
        self.silences = silences
        self.disconnectedHosts = disconnectedHosts
        var compiled: [CompiledSilence] = []
        var invalid: [String] = []
        for s in silences {
            var matchers: [LabelMatcher] = []
            for m in s.matchers {
                guard let compiledMatcher = try? m.matcher(field: "matchers") else { break }
                matchers.append(compiledMatcher)
            }
            if matchers.count == s.matchers.count {
                compiled.append(CompiledSilence(silence: s, matchers: matchers))
            } else {
                invalid.append(s.uuid)
            }
        }
        self.compiled = compiled
        self.invalidSilences = invalid
    }

    /// The first silence active at `time` whose matchers all match `labels` (a missing label
    /// matches as "", as in PromQL). A silence without matchers matches nothing: muting everything
    /// must be said explicitly (e.g. `alarmName=~".*"`).
    public func silence(matching labels: [String: String], at time: Int64) -> Silence? {
        for c in compiled where c.silence.isActive(at: time) && !c.matchers.isEmpty {
            if c.matchers.allSatisfy({ $0.matches(labels[$0.name]) }) { return c.silence }
        }
        return nil
    }

    /// The labels silences see for an alarm instance: the instance labels plus `alarmUuid`,
    /// `alarmName`, `namespace`, `metricName` and `emergencyLevel`.
    public static func matchLabels(rule: AlarmRule, instanceLabels: [String: String]) -> [String: String] {
        var l = instanceLabels
        l["alarmUuid"] = rule.uuid
        l["alarmName"] = rule.name
        l["namespace"] = rule.namespace
        l["metricName"] = rule.metricName
        l["emergencyLevel"] = rule.emergencyLevel.rawValue
        return l
    }

    /// Why a notice of `rule` for an instance with `instanceLabels` is suppressed at `time`, or nil:
    /// `inhibited:HostDisconnected:<hostUuid>` for a `ZStack/VM` instance on a disconnected host,
    /// else `silence:<uuid>`.
    public func reason(rule: AlarmRule, instanceLabels: [String: String], at time: Int64) -> String? {
        if rule.namespace == "ZStack/VM", let host = instanceLabels["HostUuid"], disconnectedHosts.contains(host) {
            return "inhibited:HostDisconnected:\(host)"
        }
        guard !compiled.isEmpty else { return nil }
        if let s = silence(matching: Self.matchLabels(rule: rule, instanceLabels: instanceLabels), at: time) {
            return "silence:\(s.uuid)"
        }
        return nil
    }
}
