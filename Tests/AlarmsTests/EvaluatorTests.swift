import Alarms
import Foundation
import StratusMetrics
import Testing

/// `AlarmEvaluator` over a `MemoryMetricStore`, rounds at explicit times.
@Suite struct EvaluatorTests {
    static let t0: Int64 = 1_700_000_000_000

    @Test func firesRoutesToTheTopicsAndCommitsOnlyWhatChanged() async throws {
        let store = MemoryMetricStore()
        try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [90, 85, 80], endingAt: Self.t0)
        try await EvaluatorFixture.write(store, vm: "v2", host: "h1", values: [90, 79, 95], endingAt: Self.t0)
        let rule = EvaluatorFixture.rule(labels: [AlarmLabel(key: "VMUuid", op: "=~", value: "v.*")], actions: ["t1", "t2"])
        let ev = AlarmEvaluator(states: [], metrics: store)

        let c1 = try await ev.evaluate([rule], at: Self.t0)
        // v1 fires (80 ≥ 80 counts); v2 has 79 in the period: OK, brand new, silent.
        #expect(c1.history.count == 1)
        let h = try #require(c1.history.first)
        #expect(h.instanceKey == "HostUuid=h1,VMUuid=v1" && h.resourceId == "v1" && h.labels == ["VMUuid": "v1", "HostUuid": "h1"])
        #expect(h.previousStatus == .insufficientData && h.currentStatus == .alarm && h.value == 80 && h.notified && h.suppressedBy == nil)
        #expect(c1.notices.count == 1)
        let routed = try #require(c1.notices.first)
        #expect(routed.topicUuids == ["t1", "t2"])
        guard case let .alarm(n) = routed.notice else { Issue.record("not an alarm notice"); return }
        #expect(n.kind == .firing && n.currentValue == 80 && n.sequence == 1 && n.time == Self.t0 && n.resourceId == "v1")
        #expect(n.metricName == "CPUAverageUsedUtilization" && n.namespace == "ZStack/VM")
        #expect(Set(c1.states.map(\.instanceKey)) == ["HostUuid=h1,VMUuid=v1", "HostUuid=h1,VMUuid=v2"])
        #expect(c1.time == Self.t0 && c1.removedInstances.isEmpty)

        // +10 s, both keep their status: nothing to commit although values moved.
        try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [99], endingAt: Self.t0 + 10_000)
        try await EvaluatorFixture.write(store, vm: "v2", host: "h1", values: [10], endingAt: Self.t0 + 10_000)
        let c2 = try await ev.evaluate([rule], at: Self.t0 + 10_000)
        #expect(c2.isEmpty)
        // Memory mirrors the store: the value at the instance's last change.
        let s = await ev.instanceStates().first { $0.instanceKey.hasSuffix("v1") }
        #expect(s?.lastValue == 80 && s?.status == .alarm)
    }

    /// Firing, repeat and recovery notices all carry when the episode began (for Alertmanager's startsAt).
    @Test func noticesCarryTheEpisodeStart() async throws {
        let store = MemoryMetricStore()
        try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [90, 85, 80], endingAt: Self.t0)
        var rule = EvaluatorFixture.rule(repeatInterval: 60)
        rule.enableRecovery = true
        let ev = AlarmEvaluator(states: [], metrics: store)
        func notice(_ c: AlarmRoundCommit) -> AlarmNotice? {
            guard case let .alarm(n) = c.notices.first?.notice else { return nil }
            return n
        }
        let fired = try #require(notice(try await ev.evaluate([rule], at: Self.t0)))
        #expect(fired.kind == .firing && fired.episodeStart == Self.t0)
        for t in stride(from: Self.t0 + 10_000, through: Self.t0 + 60_000, by: 10_000) {
            try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [95], endingAt: t)
        }
        let repeated = try #require(notice(try await ev.evaluate([rule], at: Self.t0 + 60_000)))
        #expect(repeated.kind == .repeating && repeated.episodeStart == Self.t0 && repeated.time == Self.t0 + 60_000)
        try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [10], endingAt: Self.t0 + 70_000)
        let recovered = try #require(notice(try await ev.evaluate([rule], at: Self.t0 + 70_000)))
        #expect(recovered.kind == .recovery && recovered.episodeStart == Self.t0 && recovered.startsAt == Self.t0)
        #expect(recovered.time == Self.t0 + 70_000)
    }

    @Test func averageTypeAveragesTheSeriesPerTimestamp() async throws {
        let store = MemoryMetricStore()
        try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [70, 90, 100], endingAt: Self.t0)
        try await EvaluatorFixture.write(store, vm: "v2", host: "h2", values: [90, 80, 70], endingAt: Self.t0)
        // Per timestamp: (70+90)/2 = 80, (90+80)/2 = 85, (100+70)/2 = 85.
        let ge = EvaluatorFixture.rule(uuid: "ge", type: .average)
        var gt = EvaluatorFixture.rule(uuid: "gt", type: .average)
        gt.comparisonOperator = .greaterThan
        let ev = AlarmEvaluator(states: [], metrics: store)
        let c = try await ev.evaluate([ge, gt], at: Self.t0)
        let geState = try #require(c.states.first { $0.alarmUuid == "ge" })
        let gtState = try #require(c.states.first { $0.alarmUuid == "gt" })
        #expect(geState.instanceKey == "" && geState.labels.isEmpty && geState.status == .alarm && geState.lastValue == 85)
        #expect(gtState.instanceKey == "" && gtState.status == .ok)
        #expect(c.history.map(\.alarmUuid) == ["ge"] && c.notices.count == 1)
        #expect(c.history.first?.value == 85)
    }

    @Test func labelMatchersSelectTheRightSeries() async throws {
        let store = MemoryMetricStore()
        for vm in ["vm-a1", "vm-a2", "vm-b1", "other"] {
            try await EvaluatorFixture.write(store, vm: vm, host: "h1", values: [95, 95, 95], endingAt: Self.t0)
        }
        // A series of another metric must not be picked up.
        try await store.write([Sample(labels: ZWatchName.labels(namespace: "ZStack/VM", metricName: "MemoryUsedInPercent",
                                                                ["VMUuid": "vm-a1", "HostUuid": "h1"]), timestamp: Self.t0, value: 99)])
        let rules = [
            EvaluatorFixture.rule(uuid: "eq", labels: [AlarmLabel(key: "VMUuid", op: "=", value: "vm-a1")]),
            EvaluatorFixture.rule(uuid: "ne", labels: [AlarmLabel(key: "VMUuid", op: "!=", value: "vm-a1")]),
            EvaluatorFixture.rule(uuid: "re", labels: [AlarmLabel(key: "VMUuid", op: "=~", value: "vm-a.*")]),
            EvaluatorFixture.rule(uuid: "nre", labels: [AlarmLabel(key: "VMUuid", op: "!~", value: "vm-a.*")]),
            EvaluatorFixture.rule(uuid: "both", labels: [AlarmLabel(key: "HostUuid", op: "=", value: "h1"),
                                                         AlarmLabel(key: "VMUuid", op: "=~", value: ".*1")]),
            EvaluatorFixture.rule(uuid: "none", labels: [AlarmLabel(key: "HostUuid", op: "=", value: "h9")]),
        ]
        let ev = AlarmEvaluator(states: [], metrics: store)
        let c = try await ev.evaluate(rules, at: Self.t0)
        func vms(_ uuid: String) -> Set<String> { Set(c.history.filter { $0.alarmUuid == uuid }.map(\.resourceId)) }
        #expect(vms("eq") == ["vm-a1"])
        #expect(vms("ne") == ["vm-a2", "vm-b1", "other"])
        #expect(vms("re") == ["vm-a1", "vm-a2"])
        #expect(vms("nre") == ["vm-b1", "other"])
        #expect(vms("both") == ["vm-a1", "vm-b1"])
        #expect(vms("none").isEmpty)
        let expectedRows = 10  // 1 + 3 + 2 + 2 + 2
        #expect(c.history.count == expectedRows)
        #expect(await ev.lastRound.selects == 1)
    }

    @Test func aSilenceSuppressesTheNoticeButHistoryKeepsTheTransition() async throws {
        let store = MemoryMetricStore()
        try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [90, 90, 90], endingAt: Self.t0)
        try await EvaluatorFixture.write(store, vm: "v2", host: "h1", values: [90, 90, 90], endingAt: Self.t0)
        let rule = EvaluatorFixture.rule(actions: ["t1"])
        let silence = Silence(uuid: "s1", matchers: [AlarmLabel(key: "VMUuid", value: "v1"), AlarmLabel(key: "alarmName", op: "=~", value: "cpu.*")],
                              startsAt: Self.t0 - 1, endsAt: Self.t0 + 15_000)
        let suppression = AlarmSuppression(silences: [silence])
        let ev = AlarmEvaluator(states: [], metrics: store)
        let c1 = try await ev.evaluate([rule], at: Self.t0, suppression: suppression)
        let h1 = try #require(c1.history.first { $0.resourceId == "v1" })
        let h2 = try #require(c1.history.first { $0.resourceId == "v2" })
        #expect(h1.currentStatus == .alarm && !h1.notified && h1.suppressedBy == "silence:s1")
        #expect(h2.currentStatus == .alarm && h2.notified && h2.suppressedBy == nil)
        #expect(c1.notices.count == 1 && EvaluatorFixture.resource(c1.notices[0]) == "v2")
        #expect(await ev.lastRound.suppressed == 1)

        // Still silenced at +10 s: owed, not sent, no new history.
        try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [90], endingAt: Self.t0 + 10_000)
        try await EvaluatorFixture.write(store, vm: "v2", host: "h1", values: [90], endingAt: Self.t0 + 10_000)
        let c2 = try await ev.evaluate([rule], at: Self.t0 + 10_000, suppression: suppression)
        #expect(c2.notices.isEmpty && c2.history.isEmpty)
        // The silence ended (endsAt is exclusive): the owed firing goes out, without a history row.
        try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [90], endingAt: Self.t0 + 20_000)
        try await EvaluatorFixture.write(store, vm: "v2", host: "h1", values: [90], endingAt: Self.t0 + 20_000)
        let c3 = try await ev.evaluate([rule], at: Self.t0 + 20_000, suppression: suppression)
        #expect(c3.history.isEmpty && c3.notices.count == 1)
        guard case let .alarm(n) = c3.notices.first?.notice else { Issue.record("no alarm notice"); return }
        #expect(n.kind == .firing && n.resourceId == "v1" && n.sequence == 1 && n.time == Self.t0 + 20_000)
        #expect(c3.states.map(\.instanceKey) == ["HostUuid=h1,VMUuid=v1"])
    }

    @Test func silenceMatchingIsPublicForEvents() {
        let s = AlarmSuppression(silences: [
            Silence(uuid: "old", matchers: [AlarmLabel(key: "eventName", value: "VmCrash")], startsAt: 0, endsAt: 100),
            Silence(uuid: "now", matchers: [AlarmLabel(key: "eventName", op: "=~", value: "Vm.*"),
                                            AlarmLabel(key: "HostUuid", op: "!=", value: "h2")], startsAt: 100, endsAt: 200),
            Silence(uuid: "bad", matchers: [AlarmLabel(key: "x", op: "=~", value: "(")], startsAt: 0, endsAt: 1_000),
            Silence(uuid: "empty", matchers: [], startsAt: 0, endsAt: 1_000),
        ])
        #expect(s.invalidSilences == ["bad"])
        #expect(s.silence(matching: ["eventName": "VmCrash", "HostUuid": "h1"], at: 50)?.uuid == "old")
        #expect(s.silence(matching: ["eventName": "VmCrash", "HostUuid": "h1"], at: 150)?.uuid == "now")
        #expect(s.silence(matching: ["eventName": "VmCrash", "HostUuid": "h2"], at: 150) == nil)
        #expect(s.silence(matching: ["eventName": "VmCrash"], at: 150)?.uuid == "now")  // missing HostUuid is "" != h2
        #expect(s.silence(matching: ["eventName": "HostDisconnected"], at: 150) == nil)
        #expect(s.silence(matching: ["eventName": "VmCrash"], at: 200) == nil)
    }

    @Test func aDisconnectedHostInhibitsItsVMsAlarms() async throws {
        let store = MemoryMetricStore()
        try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [90, 90, 90], endingAt: Self.t0)
        try await EvaluatorFixture.write(store, vm: "v2", host: "h2", values: [90, 90, 90], endingAt: Self.t0)
        let ev = AlarmEvaluator(states: [], metrics: store)
        let c = try await ev.evaluate([EvaluatorFixture.rule(actions: ["t1"])], at: Self.t0,
                                      suppression: AlarmSuppression(disconnectedHosts: ["h1"]))
        let h1 = try #require(c.history.first { $0.resourceId == "v1" })
        #expect(!h1.notified && h1.suppressedBy == "inhibited:HostDisconnected:h1")
        #expect(c.notices.count == 1 && EvaluatorFixture.resource(c.notices[0]) == "v2")
        // Host alarms are not inhibited by their own host being disconnected.
        let hostRule = AlarmRule(uuid: "host", name: "host cpu", namespace: "ZStack/Host", metricName: "CPUAverageUsedUtilization",
                                 comparisonOperator: .greaterThan, threshold: 1, period: 30, actions: ["t1"])
        #expect(AlarmSuppression(disconnectedHosts: ["h1"]).reason(rule: hostRule, instanceLabels: ["HostUuid": "h1"], at: 0) == nil)
    }

    @Test func deletedDisabledOrReshapedRulesLoseTheirInstances() async throws {
        let store = MemoryMetricStore()
        for vm in ["v1", "v2"] { try await EvaluatorFixture.write(store, vm: vm, host: "h1", values: [90, 90, 90], endingAt: Self.t0) }
        let a = EvaluatorFixture.rule(uuid: "a", labels: [AlarmLabel(key: "VMUuid", op: "=~", value: "v.*")])
        let b = EvaluatorFixture.rule(uuid: "b")
        let ev = AlarmEvaluator(states: [], metrics: store)
        _ = try await ev.evaluate([a, b], at: Self.t0)
        #expect(await ev.instanceCount == 4)

        // `b` deleted, `a` narrowed to v1: b's two instances and a's v2 go; a's v1 is re-created
        // from scratch (so it fires again) and is not listed as removed.
        var narrowed = a
        narrowed.labels = [AlarmLabel(key: "VMUuid", value: "v1")]
        let c = try await ev.evaluate([narrowed], at: Self.t0 + 10_000)
        #expect(Set(c.removedInstances) == [InstanceID(alarmUuid: "b", instanceKey: "HostUuid=h1,VMUuid=v1"),
                                            InstanceID(alarmUuid: "b", instanceKey: "HostUuid=h1,VMUuid=v2"),
                                            InstanceID(alarmUuid: "a", instanceKey: "HostUuid=h1,VMUuid=v2")])
        #expect(c.states.map(\.instanceKey) == ["HostUuid=h1,VMUuid=v1"] && c.history.count == 1)
        #expect(await ev.instanceCount == 1)

        // Disabled: dropped too. A threshold change alone keeps the instances.
        var disabled = narrowed
        disabled.enabled = false
        let d = try await ev.evaluate([disabled], at: Self.t0 + 20_000)
        #expect(d.removedInstances == [InstanceID(alarmUuid: "a", instanceKey: "HostUuid=h1,VMUuid=v1")])
        #expect(await ev.instanceCount == 0)
    }

    @Test func vanishedSeriesGoInsufficientThenAreForgotten() async throws {
        let store = MemoryMetricStore()
        try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [90, 90, 90], endingAt: Self.t0)
        let rule = EvaluatorFixture.rule(actions: ["t1"])
        let ev = AlarmEvaluator(states: [], metrics: store, options: .init(forgetInsufficientDataAfter: 120_000))
        _ = try await ev.evaluate([rule], at: Self.t0)
        // 40 s later the period (30 s) holds nothing: Alarm → InsufficientData, recorded, not notified.
        let gone = try await ev.evaluate([rule], at: Self.t0 + 40_000)
        #expect(gone.history.map(\.currentStatus) == [.insufficientData] && gone.notices.isEmpty)
        #expect(gone.history.first?.value == nil)
        let still = try await ev.evaluate([rule], at: Self.t0 + 150_000)
        #expect(still.isEmpty)
        let forgotten = try await ev.evaluate([rule], at: Self.t0 + 160_000)
        #expect(forgotten.removedInstances == [InstanceID(alarmUuid: "a1", instanceKey: "HostUuid=h1,VMUuid=v1")])
        #expect(await ev.instanceCount == 0)
    }

    @Test func aFailedCommitIsNotAdoptedSoTheFiringComesAgain() async throws {
        let store = MemoryMetricStore()
        try await EvaluatorFixture.write(store, vm: "v1", host: "h1", values: [90, 90, 90, 90], endingAt: Self.t0 + 10_000)
        let rule = EvaluatorFixture.rule(actions: ["t1"])
        let ev = AlarmEvaluator(states: [], metrics: store)
        await #expect(throws: EvaluatorFixture.CommitFailed.self) {
            try await ev.round([rule], at: Self.t0) { _ in throw EvaluatorFixture.CommitFailed() }
        }
        #expect(await ev.instanceCount == 0)
        let again = try await ev.evaluate([rule], at: Self.t0 + 10_000)
        #expect(again.notices.count == 1 && again.history.count == 1)
    }

    @Test func anEvaluatorRestartedFromTheCommittedStatesDoesNotFireAgain() async throws {
        let metrics = MemoryMetricStore()
        let alarms = try SQLiteAlarmStore(path: nil)
        let topic = try await alarms.createTopic(SNSTopic(uuid: "", name: "ops"), at: Self.t0)
        let rule = try await alarms.createAlarm(
            EvaluatorFixture.rule(uuid: "", repeatInterval: 60, actions: [topic.uuid]), at: Self.t0)
        try await EvaluatorFixture.write(metrics, vm: "v1", host: "h1", values: [90, 90, 90], endingAt: Self.t0)
        let first = AlarmEvaluator(states: try await alarms.instanceStates(), metrics: metrics)
        let c1 = try await first.round([rule], at: Self.t0) { try await alarms.commit($0) }
        #expect(c1.notices.count == 1)

        // Restart: a new evaluator from the store, 10 s later, still breaching.
        try await EvaluatorFixture.write(metrics, vm: "v1", host: "h1", values: [91], endingAt: Self.t0 + 10_000)
        let states = try await alarms.instanceStates()
        #expect(states.count == 1 && states.first?.status == .alarm && states.first?.notificationCount == 1)
        let second = AlarmEvaluator(states: states, metrics: metrics)
        let c2 = try await second.round([rule], at: Self.t0 + 10_000) { try await alarms.commit($0) }
        #expect(c2.notices.isEmpty && c2.history.isEmpty)
        // The repeat schedule survives too: due 60 s after the firing.
        for k in 2...6 { try await EvaluatorFixture.write(metrics, vm: "v1", host: "h1", values: [92], endingAt: Self.t0 + Int64(k) * 10_000) }
        let c3 = try await second.round([rule], at: Self.t0 + 50_000) { try await alarms.commit($0) }
        #expect(c3.notices.isEmpty)
        let c4 = try await second.round([rule], at: Self.t0 + 60_000) { try await alarms.commit($0) }
        guard case let .alarm(n) = c4.notices.first?.notice else { Issue.record("no repeat"); return }
        #expect(n.kind == .repeating && n.sequence == 2)
        let history = try await alarms.history(AlarmHistoryQuery(alarmUuid: rule.uuid))
        #expect(history.count == 1 && history.first?.currentStatus == .alarm && history.first?.notified == true)
    }
}

enum EvaluatorFixture {
    struct CommitFailed: Error {}

    static func rule(uuid: String = "a1", labels: [AlarmLabel] = [], type: AlarmType = .any, period: Int = 30,
                     repeatInterval: Int = 1800, actions: [String] = ["t1"]) -> AlarmRule {
        AlarmRule(uuid: uuid, name: "cpu high", namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization",
                  labels: labels, comparisonOperator: .greaterThanOrEqualTo, threshold: 80, period: period, type: type,
                  repeatInterval: repeatInterval, actions: actions)
    }

    /// Writes `values` of the VM's CPUAverageUsedUtilization every 10 s, the last at `endingAt`.
    static func write(_ store: any MetricStore, vm: String, host: String, values: [Double], endingAt: Int64,
                      metric: String = "CPUAverageUsedUtilization") async throws {
        let labels = ZWatchName.labels(namespace: "ZStack/VM", metricName: metric, ["VMUuid": vm, "HostUuid": host])
        let samples = values.enumerated().map {
            Sample(labels: labels, timestamp: endingAt - Int64(values.count - 1 - $0.offset) * 10_000, value: $0.element)
        }
        try await store.write(samples)
    }

    static func resource(_ r: RoutedNotice) -> String? {
        if case let .alarm(a) = r.notice { return a.resourceId }
        return nil
    }
}
