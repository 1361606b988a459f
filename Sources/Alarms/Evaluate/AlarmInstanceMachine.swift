import StratusMetrics

/// The pure state machine of one alarm instance: no I/O, no clock; everything comes in as input.
///
/// Semantics (ZStack's rule):
/// - **Status.** `Alarm` when the period `(now - period, now]` holds at least one sample and every
///   sample breaches; `OK` when any sample does not breach (NaN never breaches); `InsufficientData`
///   when the period holds no sample.
/// - **Firing.** Entering `Alarm` (from `OK` or `InsufficientData`) emits `.firing` and starts an
///   episode (`notificationCount = 1`). A brand-new instance (no previous state) that breaches fires
///   the same way (its history row reads `InsufficientData → Alarm`); one that does not starts in
///   `OK` / `InsufficientData` silently, with no history row and no notice.
/// - **Repeats.** While in `Alarm`, `.repeating` is emitted when
///   `now - lastNotifiedAt >= repeatInterval` and fewer than `repeatCount` repeats went out.
///   `repeatCount` counts repeats *after* the first notice: 0 = the firing only, 2 = at most three
///   notices per episode, any negative value (ZStack's -1) = unlimited. `repeatInterval <= 0` means
///   no repeats.
/// - **Suppressed notices are owed, not spent.** When the evaluator suppresses a notice (silence,
///   inhibition) it keeps `Outcome.stateIfSuppressed`, which does not count the notice. An instance in
///   `Alarm` whose episode has not been notified yet (`notificationCount == 0`) emits `.firing`
///   again every round, so the firing goes out as soon as the silence ends (Alertmanager does the
///   same). Such a late firing is not a transition: it writes no history row.
/// - **Recovery.** `Alarm → OK` writes history and emits `.recovery` only with `enableRecovery` and
///   only when the episode's firing was actually notified (`notificationCount > 0`): a recovery
///   of something nobody was told about is noise.
/// - **`Alarm → InsufficientData`** (the series stopped: VM stopped or deleted, agent down) writes a
///   history row and emits no notice: there is nothing to say "recovered" about, and the absence
///   of data is not itself an alarm.
/// - `OK ↔ InsufficientData` writes a history row and no notice.
public enum AlarmInstanceMachine {
    /// A status change of the instance (one alarm-history row).
    public struct Transition: Sendable, Equatable {
        public var from: AlarmStatus
        public var to: AlarmStatus

        public init(from: AlarmStatus, to: AlarmStatus) {
            self.from = from
            self.to = to
        }
    }

    /// What one step produced.
    public struct Outcome: Sendable, Equatable {
        /// The new state, counting `notice` as sent.
        public var state: AlarmInstanceState
        /// The new state if `notice` is suppressed (not counted as sent); equals `state` without a notice.
        public var stateIfSuppressed: AlarmInstanceState
        /// The status change, if any (history row).
        public var transition: Transition?
        /// The notification due, if any.
        public var notice: AlarmNoticeKind?
        /// The status the instance had before this step (`InsufficientData` for a brand-new one).
        public var previousStatus: AlarmStatus

        /// Whether the state differs from `previous` in anything but `lastValue` (which changes every
        /// round and is persisted only along with a real change, so 100,000 quiet instances are not
        /// rewritten every 10 s).
        public static func changed(_ new: AlarmInstanceState, from previous: AlarmInstanceState?) -> Bool {
            guard let p = previous else { return true }
            return p.status != new.status || p.since != new.since || p.lastNotifiedAt != new.lastNotifiedAt
                || p.notificationCount != new.notificationCount || p.labels != new.labels
        }
    }

    /// The status the evidence calls for.
    public static func status(for evidence: AlarmEvidence) -> AlarmStatus {
        evidence.count == 0 ? .insufficientData : evidence.allBreach ? .alarm : .ok
    }

    /// One step from raw samples: `points` in time order (points outside `(now - period, now]` are ignored).
    public static func step(previous: AlarmInstanceState?, points: some Collection<Point>, rule: AlarmRule,
                            instanceKey: String, labels: [String: String], now: Int64) -> Outcome {
        let evidence = AlarmEvidence(points: points, from: now, periodMs: Int64(rule.period) * 1000,
                                     rule.comparisonOperator, threshold: rule.threshold)
        return step(previous: previous, evidence: evidence, rule: rule, instanceKey: instanceKey, labels: labels, now: now)
    }

    /// One step from the evidence of the period. `labels` are used for a brand-new instance only
    /// (an existing one keeps its own).
    public static func step(previous: AlarmInstanceState?, evidence: AlarmEvidence, rule: AlarmRule,
                            instanceKey: String, labels: [String: String], now: Int64) -> Outcome {
        let target = status(for: evidence)
        let before = previous?.status ?? .insufficientData
        var state = previous ?? AlarmInstanceState(
            alarmUuid: rule.uuid, instanceKey: instanceKey, labels: labels, status: target, since: now)
        state.lastValue = evidence.last
        var transition: Transition?
        var notice: AlarmNoticeKind?
        var suppressed: AlarmInstanceState

        if previous == nil && target != .alarm {
            // A brand-new quiet instance: recorded, not announced.
            return Outcome(state: state, stateIfSuppressed: state, transition: nil, notice: nil, previousStatus: before)
        }
        if target != before || previous == nil {
            transition = Transition(from: before, to: target)
            state.status = target
            state.since = now
            suppressed = state
            switch target {
            case .alarm:
                notice = .firing
                state.notificationCount = 1
                state.lastNotifiedAt = now
                suppressed.notificationCount = 0
                suppressed.lastNotifiedAt = nil
            case .ok:
                if before == .alarm && rule.enableRecovery && (previous?.notificationCount ?? 0) > 0 { notice = .recovery }
                state.notificationCount = 0
                state.lastNotifiedAt = nil
                suppressed = state
            case .insufficientData:
                state.notificationCount = 0
                state.lastNotifiedAt = nil
                suppressed = state
            }
        } else {
            suppressed = state
            if target == .alarm {
                if state.notificationCount == 0 {
                    // The episode's firing was suppressed so far: owe it until it goes out.
                    notice = .firing
                    state.notificationCount = 1
                    state.lastNotifiedAt = now
                } else if repeatDue(state, rule: rule, now: now) {
                    notice = .repeating
                    state.notificationCount += 1
                    state.lastNotifiedAt = now
                }
            }
        }
        return Outcome(state: state, stateIfSuppressed: suppressed, transition: transition, notice: notice, previousStatus: before)
    }

    /// True when `step(previous:evidence:…)` would emit nothing and change nothing but `lastValue`:
    /// the status the evidence calls for is the current one and, in `Alarm`, the firing went out and
    /// no repeat is due. Lets a round skip the step (and the state copies) for quiet instances.
    public static func isQuiet(previous p: AlarmInstanceState, evidence: AlarmEvidence, rule: AlarmRule, now: Int64) -> Bool {
        guard status(for: evidence) == p.status else { return false }
        guard p.status == .alarm else { return true }
        return p.notificationCount > 0 && !repeatDue(p, rule: rule, now: now)
    }

    /// Whether a repeat is due for an instance in `Alarm` whose episode was notified.
    static func repeatDue(_ s: AlarmInstanceState, rule: AlarmRule, now: Int64) -> Bool {
        guard rule.repeatInterval > 0, let last = s.lastNotifiedAt else { return false }
        guard now - last >= Int64(rule.repeatInterval) * 1000 else { return false }
        let repeatsSoFar = s.notificationCount - 1
        return rule.repeatCount < 0 || repeatsSoFar < rule.repeatCount
    }
}
