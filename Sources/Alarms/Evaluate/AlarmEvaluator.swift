import StratusMetrics

/// Evaluates every enabled metric alarm in one round at a given time and says what changed.
///
/// One round: rules are grouped by series name (`ZWatchName.seriesName(namespace:metricName:)`, e.g.
/// `ZStack:VM::CPUUsedUtilization`); each group costs ONE `select` over the widest period of its
/// rules — or, when the store is an `AggregatingStore` and the group has only `Any` rules, one
/// `aggregateWindows` call per distinct period (count/sum/min/max/last of the period is all the
/// state machine needs, and it saves shipping every point). With a `SeriesAggregatingStore` that
/// call is `aggregateSeries` instead, by series ref: what each ref binds to (rules, instance key) is
/// resolved from its labels once and cached across rounds, so a steady round decodes no labels,
/// sorts nothing and builds no strings; an instance whose evidence changes nothing but `lastValue`
/// (`AlarmInstanceMachine.isQuiet`) is counted and skipped. Series are matched to rules in memory
/// through an index on the rules' `=` labels (100,000 rules `VMUuid=<uuid>` over 100,000 series
/// cost O(series)). Each instance then steps through `AlarmInstanceMachine`.
/// - `Any`: one instance per matching series (key = its labels without `__name__`, `k=v,k=v`).
/// - `Average`: one instance, key `""`, whose samples are the per-timestamp averages over the
///   matching series.
/// - Instances whose series vanished are evaluated with no samples (→ `InsufficientData`) and are
///   forgotten (`removedInstances`) once they have been `InsufficientData` for
///   `Options.forgetInsufficientDataAfter` (1 h by default). An `Average` instance is never forgotten.
/// - Rules deleted, disabled, or changed in namespace / metric / labels / type lose their instances.
///
/// Instance states live in memory (seeded from `AlarmStore.instanceStates()`); a round returns an
/// `AlarmRoundCommit` with only the states that changed (see `AlarmInstanceMachine.Outcome.changed`),
/// the history rows and the notices routed to `rule.actions`. A notice of a rule without actions is
/// counted as sent but routes nowhere (`notified = false` in history).
///
/// Use `round(_:at:suppression:commit:)` in production: the evaluator adopts the new states only
/// after `commit` succeeded, so a failed commit is re-evaluated (and re-notified) next round instead
/// of being lost. Rounds must not overlap (a second concurrent round throws).
public actor AlarmEvaluator {
    /// Tuning.
    public struct Options: Sendable {
        /// How long (ms) an `Any` instance whose series vanished stays `InsufficientData` before it is forgotten.
        public var forgetInsufficientDataAfter: Int64

        public init(forgetInsufficientDataAfter: Int64 = 3_600_000) {
            self.forgetInsufficientDataAfter = forgetInsufficientDataAfter
        }
    }

    /// A rule's identity for its instances: changing any of these drops them.
    struct RuleShape: Equatable {
        var namespace: String
        var metricName: String
        var labels: [AlarmLabel]
        var type: AlarmType

        init(_ r: AlarmRule) {
            namespace = r.namespace
            metricName = r.metricName
            labels = r.labels
            type = r.type
        }
    }

    /// The rules of one round, compiled, grouped by series name and indexed; reused while the rule
    /// list does not change (comparing 100,000 rules is far cheaper than compiling them).
    final class Plan: Sendable {
        struct Group: Sendable {
            var seriesName: String
            var index: AlarmRuleIndex
            var widestMs: Int64
        }

        let rules: [AlarmRule]
        let groups: [Group]
        let shapes: [String: RuleShape]
        let skipped: [String: String]
        let ruleCount: Int

        init(_ rules: [AlarmRule]) {
            self.rules = rules
            var compiled: [String: [CompiledRule]] = [:]
            var order: [String] = []
            var seen = Set<String>()
            var shapes: [String: RuleShape] = [:]
            var skipped: [String: String] = [:]
            var count = 0
            seen.reserveCapacity(rules.count)
            shapes.reserveCapacity(rules.count)
            for r in rules where r.enabled && seen.insert(r.uuid).inserted {
                do {
                    let c = try CompiledRule(r)
                    if compiled[c.seriesName] == nil { order.append(c.seriesName) }
                    compiled[c.seriesName, default: []].append(c)
                    shapes[r.uuid] = RuleShape(r)
                    count += 1
                } catch {
                    skipped[r.uuid] = error.description
                }
            }
            groups = order.map { name in
                let rules = compiled[name]!
                return Group(seriesName: name, index: AlarmRuleIndex(rules), widestMs: rules.map(\.periodMs).max() ?? 0)
            }
            self.shapes = shapes
            self.skipped = skipped
            ruleCount = count
        }
    }

    private let metrics: any MetricStore
    private let options: Options
    /// alarm uuid → instance key → state: what the store holds after the last adopted round.
    private var states: [String: [String: AlarmInstanceState]] = [:]
    /// The plan of the last adopted round (nil before the first).
    private var plan: Plan?
    /// Series → (rule, instance key) per group and period of `bindingsPlan` (see `SeriesBindings`);
    /// only used with a `SeriesAggregatingStore`. A function of the plan and the store's series, so
    /// it is kept even when a round's commit fails.
    private var bindings: [BindingSlot: SeriesBindings] = [:]
    private var bindingsPlan: Plan?

    struct BindingSlot: Hashable {
        var group: Int
        var periodMs: Int64
    }
    private var busy = false
    /// Figures of the last round (counts only; the evaluator reads no clock).
    public private(set) var lastRound = AlarmRoundStats()

    /// - Parameters:
    ///   - states: the instance states committed so far (`AlarmStore.instanceStates()`).
    ///   - metrics: where samples come from.
    public init(states: [AlarmInstanceState], metrics: any MetricStore, options: Options = Options()) {
        self.metrics = metrics
        self.options = options
        for s in states { self.states[s.alarmUuid, default: [:]][s.instanceKey] = s }
    }

    /// Every instance state held in memory: what the last adopted round committed (so `lastValue`
    /// is the value at the instance's last change, as in the store).
    public func instanceStates() -> [AlarmInstanceState] {
        states.values.flatMap(\.values)
    }

    /// Number of instances held in memory.
    public var instanceCount: Int { states.values.reduce(0) { $0 + $1.count } }

    /// Evaluates and adopts the new states at once (tests, benchmarks; see `round` for production).
    public func evaluate(_ rules: [AlarmRule], at now: Int64, suppression: AlarmSuppression = .none) async throws -> AlarmRoundCommit {
        try await round(rules, at: now, suppression: suppression) { _ in }
    }

    /// Evaluates `rules` (disabled ones are skipped and lose their instances) at `now` (ms), hands the
    /// result to `commit` (e.g. `{ try await store.commit($0) }`), and adopts the new states only if
    /// `commit` returns. Throws what the metric store or `commit` threw, or
    /// `AlarmEvaluationError.roundInProgress` when called while another round runs.
    @discardableResult
    public func round(_ rules: [AlarmRule], at now: Int64, suppression: AlarmSuppression = .none,
                      commit: @Sendable (AlarmRoundCommit) async throws -> Void) async throws -> AlarmRoundCommit {
        guard !busy else { throw AlarmEvaluationError.roundInProgress }
        busy = true
        defer { busy = false }
        let plan = self.plan.flatMap { $0.rules == rules ? $0 : nil }
            ?? bindingsPlan.flatMap { $0.rules == rules ? $0 : nil } ?? Plan(rules)  // e.g. after a failed commit
        if plan !== bindingsPlan {
            bindings = [:]
            bindingsPlan = plan
        }
        var builder = try await compute(plan, now: now, suppression: suppression)
        builder.finish()
        try await commit(builder.commit)
        adopt(builder)
        self.plan = plan
        lastRound = builder.stats
        return builder.commit
    }

    private func adopt(_ b: RoundBuilder) {
        for uuid in b.droppedRules { states[uuid] = nil }
        for id in b.forgotten { states[id.alarmUuid]?[id.instanceKey] = nil }
        if states.isEmpty { states.reserveCapacity(b.commit.states.count) }  // the first round: 100,000 new instances
        for s in b.commit.states { states[s.alarmUuid, default: [:]][s.instanceKey] = s }
    }

    private func compute(_ plan: Plan, now: Int64, suppression: AlarmSuppression) async throws -> RoundBuilder {
        var b = RoundBuilder(now: now, suppression: suppression)
        b.stats.rules = plan.ruleCount
        b.stats.skippedRules = plan.skipped
        // Instances of rules gone, disabled or reshaped (nothing to look for when the plan is the last one's).
        var dropped = Set<String>()
        if plan !== self.plan {
            for (uuid, instances) in states {
                let keep = plan.shapes[uuid].map { shape in self.plan?.shapes[uuid].map { $0 == shape } ?? true } ?? false
                if !keep {
                    dropped.insert(uuid)
                    b.droppedRules.append(uuid)
                    b.commit.removedInstances += instances.keys.map { InstanceID(alarmUuid: uuid, instanceKey: $0) }
                }
            }
        }

        for (groupIndex, group) in plan.groups.enumerated() {
            let rules = group.index.rules
            var matchers = [LabelMatcher.equal(Labels.nameKey, group.seriesName)]
            if rules.count == 1 { matchers += rules[0].matchers }
            // Per rule: how many of its existing instances were matched; the keys matched are kept
            // (flat, rule by rule) only to find the vanished ones.
            var matchedExisting = [Int](repeating: 0, count: rules.count)
            var matchedKeys: [(rule: Int, key: String)] = []
            var averages: [Int: [Int64: (sum: Double, count: Int)]] = [:]

            func previousState(_ c: CompiledRule, _ key: String) -> AlarmInstanceState? {
                dropped.isEmpty || !dropped.contains(c.rule.uuid) ? states[c.rule.uuid]?[key] : nil
            }

            /// Steps the `Any` instance `key` of rule `i`; `labels` is read only for a new instance.
            func stepAny(_ i: Int, key: String, previous: AlarmInstanceState?, labels: () -> [String: String], _ evidence: AlarmEvidence) {
                let c = rules[i]
                if previous != nil { matchedExisting[i] += 1 }
                matchedKeys.append((i, key))
                if let p = previous, AlarmInstanceMachine.isQuiet(previous: p, evidence: evidence, rule: c.rule, now: now) {
                    // Nothing but `lastValue` would change, and that is not persisted on its own.
                    b.stats.instances += 1
                    return
                }
                let out = AlarmInstanceMachine.step(
                    previous: previous, evidence: evidence, rule: c.rule, instanceKey: key,
                    labels: previous == nil ? labels() : [:], now: now)
                b.apply(out, rule: c.rule, previous: previous)
            }

            func stepAny(_ i: Int, _ labels: Labels, _ key: inout String?, _ evidence: (CompiledRule) -> AlarmEvidence) {
                let c = rules[i]
                let k = key ?? InstanceKeys.key(labels)
                key = k
                stepAny(i, key: k, previous: previousState(c, k), labels: { labels.withoutName }, evidence(c))
            }

            if let scan = metrics as? any SeriesAggregatingStore, rules.allSatisfy({ $0.rule.type == .any }) {
                // Fastest path: one aggregate per series by ref; series → (rule, instance key) is
                // resolved from labels once per ref and cached across rounds (`SeriesBindings`).
                for period in Set(rules.map(\.periodMs)).sorted() where period > 0 {
                    let found = try await scan.aggregateSeries(matchers, from: now - period + 1, to: now)
                    b.stats.selects += 1
                    b.stats.series += found.count
                    let slot = BindingSlot(group: groupIndex, periodMs: period)
                    var cache = bindings[slot] ?? SeriesBindings()
                    let unknown = cache.unknown(in: found.refs)
                    var fresh: [SeriesRef: Labels] = [:]
                    if unknown.isEmpty {
                        cache.update(to: found.refs, unknown: [], labels: []) { _ in [] }
                    } else {
                        let labels = try await scan.seriesLabels(unknown)
                        fresh.reserveCapacity(unknown.count)
                        for (r, l) in zip(unknown, labels) { if let l { fresh[r] = l } }
                        cache.update(to: found.refs, unknown: unknown, labels: labels) { l in
                            var out: [SeriesBindings.Binding] = []
                            var key: String?
                            group.index.forEachMatch(l) { i in
                                guard rules[i].periodMs == period else { return }
                                let k = key ?? InstanceKeys.key(l)
                                key = k
                                out.append(.init(rule: i, key: k))
                            }
                            return out
                        }
                    }
                    bindings[slot] = cache
                    // New instances of refs bound in an earlier round (their labels are not at hand).
                    var deferred: [(rule: Int, key: String, ref: SeriesRef, evidence: AlarmEvidence)] = []
                    for k in 0..<found.count {
                        let agg = found.aggregates[k]
                        b.stats.samples += agg.count
                        for binding in cache.bindings(at: k) {
                            let c = rules[binding.rule]
                            let evidence = AlarmEvidence(agg, c.rule.comparisonOperator, threshold: c.rule.threshold)
                            let previous = previousState(c, binding.key)
                            if previous == nil {
                                guard let labels = fresh[found.refs[k]] else {
                                    deferred.append((binding.rule, binding.key, found.refs[k], evidence))
                                    continue
                                }
                                stepAny(binding.rule, key: binding.key, previous: nil, labels: { labels.withoutName }, evidence)
                            } else {
                                stepAny(binding.rule, key: binding.key, previous: previous, labels: { [:] }, evidence)
                            }
                        }
                    }
                    if !deferred.isEmpty {
                        let labels = try await scan.seriesLabels(deferred.map(\.ref))
                        for (d, l) in zip(deferred, labels) {
                            stepAny(d.rule, key: d.key, previous: nil, labels: { l?.withoutName ?? [:] }, d.evidence)
                        }
                    }
                }
            } else if let fast = metrics as? any AggregatingStore, rules.allSatisfy({ $0.rule.type == .any }) {
                // Fast path: the store's window aggregates (count, sum, min, max, last) say all the
                // state machine needs, without shipping every point. One call per distinct period.
                for period in Set(rules.map(\.periodMs)).sorted() where period > 0 {
                    let windows = try await fast.aggregateWindows(matchers, start: now, end: now, step: period, window: period)
                    b.stats.selects += 1
                    b.stats.series += windows.count
                    for w in windows {
                        guard let first = w.windows.first, let agg = first else { continue }
                        b.stats.samples += agg.count
                        var key: String?
                        group.index.forEachMatch(w.labels) { i in
                            guard rules[i].periodMs == period else { return }
                            stepAny(i, w.labels, &key) { AlarmEvidence(agg, $0.rule.comparisonOperator, threshold: $0.rule.threshold) }
                        }
                    }
                }
            } else {
                let series = group.widestMs > 0 ? try await metrics.select(matchers, from: now - group.widestMs + 1, to: now) : []
                b.stats.selects += 1
                b.stats.series += series.count
                for s in series {
                    b.stats.samples += s.points.count
                    var key: String?
                    group.index.forEachMatch(s.labels) { i in
                        let c = rules[i]
                        switch c.rule.type {
                        case .any:
                            stepAny(i, s.labels, &key) {
                                AlarmEvidence(points: s.points, from: now, periodMs: $0.periodMs, $0.rule.comparisonOperator, threshold: $0.rule.threshold)
                            }
                        case .average:
                            let lo = now - c.periodMs
                            for p in s.points where p.timestamp > lo && p.timestamp <= now {
                                averages[i, default: [:]][p.timestamp, default: (0, 0)].sum += p.value
                                averages[i, default: [:]][p.timestamp, default: (0, 0)].count += 1
                            }
                        }
                    }
                }
            }
            // Rules some of whose instances were not matched: their series vanished.
            var vanishing: [Int: Set<String>] = [:]
            for (i, c) in rules.enumerated() where c.rule.type == .any && !dropped.contains(c.rule.uuid) {
                if let n = states[c.rule.uuid]?.count, n > matchedExisting[i] { vanishing[i] = [] }
            }
            if !vanishing.isEmpty {
                for m in matchedKeys where vanishing[m.rule] != nil { vanishing[m.rule]!.insert(m.key) }
            }
            for (i, matched) in vanishing {
                let c = rules[i]
                for (key, previous) in states[c.rule.uuid] ?? [:] where !matched.contains(key) {
                    if previous.status == .insufficientData && now - previous.since >= options.forgetInsufficientDataAfter {
                        b.forget(InstanceID(alarmUuid: c.rule.uuid, instanceKey: key))
                        continue
                    }
                    let out = AlarmInstanceMachine.step(previous: previous, evidence: .empty, rule: c.rule,
                                                        instanceKey: key, labels: previous.labels, now: now)
                    b.apply(out, rule: c.rule, previous: previous)
                }
            }
            for (i, c) in rules.enumerated() where c.rule.type == .average {
                let points = (averages[i] ?? [:]).sorted { $0.key < $1.key }
                    .map { Point(timestamp: $0.key, value: $0.value.sum / Double($0.value.count)) }
                let previous = dropped.contains(c.rule.uuid) ? nil : states[c.rule.uuid]?[""]
                let evidence = AlarmEvidence(points: points, from: now, periodMs: c.periodMs,
                                             c.rule.comparisonOperator, threshold: c.rule.threshold)
                let out = AlarmInstanceMachine.step(previous: previous, evidence: evidence, rule: c.rule,
                                                    instanceKey: "", labels: [:], now: now)
                b.apply(out, rule: c.rule, previous: previous)
            }
        }
        return b
    }
}

/// Why a round could not run.
public enum AlarmEvaluationError: Error, Equatable, CustomStringConvertible {
    /// `round` was called while another round of the same evaluator was running; rounds must be serialized.
    case roundInProgress

    public var description: String {
        switch self {
        case .roundInProgress: "an alarm evaluation round is already running on this evaluator; run rounds one after another"
        }
    }
}

/// What the last round did (counts; for logs and the benchmark).
public struct AlarmRoundStats: Sendable, Equatable {
    /// Enabled rules evaluated.
    public var rules = 0
    /// Rules skipped because a label matcher does not compile: uuid → reason.
    public var skippedRules: [String: String] = [:]
    /// Store selects issued (one per metric).
    public var selects = 0
    /// Series and samples loaded.
    public var series = 0
    public var samples = 0
    /// Instances stepped.
    public var instances = 0
    public var transitions = 0
    /// Notices routed (not suppressed, with actions).
    public var notices = 0
    /// Notices suppressed by silences or inhibition.
    public var suppressed = 0
    /// Instances forgotten or dropped with their rule.
    public var removed = 0

    public init() {}
}
