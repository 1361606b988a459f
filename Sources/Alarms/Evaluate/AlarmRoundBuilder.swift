/// Collects one round's results: the commit (changed states, history, notices, removals), which
/// the evaluator adopts into memory once it is durable.
struct RoundBuilder {
    let now: Int64
    let suppression: AlarmSuppression
    var commit: AlarmRoundCommit
    var forgotten: [InstanceID] = []
    var droppedRules: [String] = []
    var stats = AlarmRoundStats()

    init(now: Int64, suppression: AlarmSuppression) {
        self.now = now
        self.suppression = suppression
        commit = AlarmRoundCommit(time: now)
    }

    mutating func forget(_ id: InstanceID) {
        forgotten.append(id)
        commit.removedInstances.append(id)
    }

    /// Applies suppression to a step's outcome and records its state, history row and notice.
    mutating func apply(_ out: AlarmInstanceMachine.Outcome, rule: AlarmRule, previous: AlarmInstanceState?) {
        stats.instances += 1
        var state = out.state
        var notified = false
        var suppressedBy: String?
        if let kind = out.notice {
            if let reason = suppression.reason(rule: rule, instanceLabels: state.labels, at: now) {
                suppressedBy = reason
                state = out.stateIfSuppressed
                stats.suppressed += 1
            } else if !rule.actions.isEmpty {
                notified = true
                stats.notices += 1
                let sequence = kind == .recovery ? (previous?.notificationCount ?? 0) : state.notificationCount
                let notice = AlarmNotice(
                    kind: kind, alarmUuid: rule.uuid, alarmName: rule.name, namespace: rule.namespace,
                    metricName: rule.metricName, threshold: rule.threshold, comparisonOperator: rule.comparisonOperator,
                    currentValue: state.lastValue, instanceKey: state.instanceKey, labels: state.labels,
                    resourceId: state.resourceId, previousStatus: out.previousStatus, currentStatus: state.status,
                    emergencyLevel: rule.emergencyLevel, time: now, sequence: sequence,
                    episodeStart: kind == .recovery ? previous?.since : state.since)
                commit.notices.append(RoutedNotice(notice: .alarm(notice), topicUuids: rule.actions))
            }
        }
        if let t = out.transition {
            stats.transitions += 1
            commit.history.append(AlarmHistoryEntry(
                alarmUuid: rule.uuid, alarmName: rule.name, instanceKey: state.instanceKey, labels: state.labels,
                resourceId: state.resourceId, previousStatus: t.from, currentStatus: t.to, value: state.lastValue,
                threshold: rule.threshold, emergencyLevel: rule.emergencyLevel, time: now, notified: notified,
                suppressedBy: suppressedBy))
        }
        if AlarmInstanceMachine.Outcome.changed(state, from: previous) { commit.states.append(state) }
    }

    /// Drops removals of instances re-created in this same round (a reshaped rule), so the commit
    /// means the same whatever order the store applies states and removals in.
    mutating func finish() {
        if !commit.removedInstances.isEmpty && !commit.states.isEmpty {
            let recreated = Set(commit.states.map { InstanceID(alarmUuid: $0.alarmUuid, instanceKey: $0.instanceKey) })
            commit.removedInstances.removeAll { recreated.contains($0) }
        }
        stats.removed = commit.removedInstances.count
    }
}
