import Alarms
import StratusMetrics
import Testing

/// The pure per-instance state machine, step by step with explicit times.
@Suite struct EvaluatorMachineTests {
    static let t0: Int64 = 1_700_000_000_000

    static func rule(period: Int = 30, repeatInterval: Int = 60, repeatCount: Int = -1, recovery: Bool = true,
                     op: ComparisonOperator = .greaterThanOrEqualTo) -> AlarmRule {
        AlarmRule(uuid: "a1", name: "cpu", namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization",
                  comparisonOperator: op, threshold: 80, period: period, repeatInterval: repeatInterval,
                  repeatCount: repeatCount, enableRecovery: recovery, actions: ["t1"])
    }

    /// Points every 10 s ending at `now`, oldest first.
    static func points(_ values: [Double], endingAt now: Int64) -> [Point] {
        values.enumerated().map { Point(timestamp: now - Int64(values.count - 1 - $0.offset) * 10_000, value: $0.element) }
    }

    static func step(_ prev: AlarmInstanceState?, _ values: [Double], _ rule: AlarmRule, at now: Int64) -> AlarmInstanceMachine.Outcome {
        AlarmInstanceMachine.step(previous: prev, points: points(values, endingAt: now), rule: rule,
                                  instanceKey: "VMUuid=v1", labels: ["VMUuid": "v1"], now: now)
    }

    @Test func firesOnlyWhenEverySampleInThePeriodBreaches() {
        let r = Self.rule()
        let t = Self.t0
        // One sample below 80 among three: OK, and a brand-new quiet instance is not announced.
        let ok = Self.step(nil, [85, 79.9, 90], r, at: t)
        #expect(ok.state.status == .ok && ok.transition == nil && ok.notice == nil)
        #expect(ok.state.lastValue == 90)
        // A NaN sample does not breach.
        let nan = Self.step(ok.state, [85, .nan, 90], r, at: t + 10_000)
        #expect(nan.state.status == .ok && nan.notice == nil)
        // All three at or above 80: fires. The sample at exactly now - period (value 10) is outside.
        let pts = Self.points([10, 85, 80, 90], endingAt: t + 20_000)
        let fire = AlarmInstanceMachine.step(previous: nan.state, points: pts, rule: r, instanceKey: "VMUuid=v1",
                                             labels: ["VMUuid": "v1"], now: t + 20_000)
        #expect(fire.state.status == .alarm)
        #expect(fire.transition == AlarmInstanceMachine.Transition(from: .ok, to: .alarm))
        #expect(fire.notice == .firing)
        #expect(fire.state.since == t + 20_000 && fire.state.notificationCount == 1 && fire.state.lastNotifiedAt == t + 20_000)
        #expect(fire.state.lastValue == 90)
        // The same with the old sample inside a longer period: 10 < 80, so OK.
        let longer = AlarmInstanceMachine.step(previous: nan.state, points: pts, rule: Self.rule(period: 40),
                                               instanceKey: "VMUuid=v1", labels: [:], now: t + 20_000)
        #expect(longer.state.status == .ok && longer.notice == nil)
    }

    @Test func aBrandNewBreachingInstanceFiresFromInsufficientData() {
        let out = Self.step(nil, [81, 82, 83], Self.rule(), at: Self.t0)
        #expect(out.transition == AlarmInstanceMachine.Transition(from: .insufficientData, to: .alarm))
        #expect(out.notice == .firing && out.previousStatus == .insufficientData)
        #expect(out.state.labels == ["VMUuid": "v1"] && out.state.alarmUuid == "a1")
        #expect(out.stateIfSuppressed.notificationCount == 0 && out.stateIfSuppressed.lastNotifiedAt == nil)
        #expect(out.stateIfSuppressed.status == .alarm)
    }

    @Test func noSampleInThePeriodIsInsufficientData() {
        let fresh = Self.step(nil, [], Self.rule(), at: Self.t0)
        #expect(fresh.state.status == .insufficientData && fresh.transition == nil && fresh.notice == nil)
        #expect(fresh.state.lastValue == nil)
        let ok = Self.step(fresh.state, [50], Self.rule(), at: Self.t0 + 10_000)
        #expect(ok.transition == AlarmInstanceMachine.Transition(from: .insufficientData, to: .ok) && ok.notice == nil)
        let gone = Self.step(ok.state, [], Self.rule(), at: Self.t0 + 20_000)
        #expect(gone.transition == AlarmInstanceMachine.Transition(from: .ok, to: .insufficientData) && gone.notice == nil)
    }

    /// Steps every 10 s from t0 to t0 + 600 s with every sample breaching; returns the notices.
    static func notices(repeatCount: Int, repeatInterval: Int = 60) -> [(Int64, AlarmNoticeKind, Int)] {
        let r = rule(repeatInterval: repeatInterval, repeatCount: repeatCount)
        var state: AlarmInstanceState?
        var out: [(Int64, AlarmNoticeKind, Int)] = []
        for k in 0...60 {
            let now = t0 + Int64(k) * 10_000
            let o = step(state, [90, 91, 92], r, at: now)
            if let n = o.notice { out.append(((now - t0) / 1000, n, o.state.notificationCount)) }
            state = o.state
        }
        return out
    }

    @Test func repeatsEveryRepeatIntervalWhileInAlarm() {
        let n = Self.notices(repeatCount: -1)
        // Firing at 0 s, then a repeat at 60, 120, …, 600 s: 1 + 10 notices.
        #expect(n.count == 11)
        #expect(n.map(\.0) == [0, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600])
        #expect(n.first?.1 == .firing && n.dropFirst().allSatisfy { $0.1 == .repeating })
        #expect(n.map(\.2) == Array(1...11))
    }

    @Test func repeatCountCountsRepeatsAfterTheFirstNotice() {
        #expect(Self.notices(repeatCount: 0).map(\.0) == [0])
        #expect(Self.notices(repeatCount: 2).map(\.0) == [0, 60, 120])
        #expect(Self.notices(repeatCount: -1).count == 11)
        // A repeat interval longer than the run: the firing only.
        #expect(Self.notices(repeatCount: -1, repeatInterval: 1800).map(\.0) == [0])
    }

    @Test func recoveryIsNotifiedOnlyWithEnableRecovery() {
        for recovery in [true, false] {
            let r = Self.rule(recovery: recovery)
            let fire = Self.step(nil, [90, 90, 90], r, at: Self.t0)
            let rep = Self.step(fire.state, [90, 90, 90], r, at: Self.t0 + 60_000)
            #expect(rep.notice == .repeating && rep.state.notificationCount == 2)
            let back = Self.step(rep.state, [90, 90, 70], r, at: Self.t0 + 70_000)
            #expect(back.transition == AlarmInstanceMachine.Transition(from: .alarm, to: .ok))
            #expect(back.notice == (recovery ? .recovery : nil))
            #expect(back.state.status == .ok && back.state.notificationCount == 0 && back.state.lastNotifiedAt == nil)
            #expect(back.state.since == Self.t0 + 70_000 && back.state.lastValue == 70)
        }
    }

    @Test func alarmToInsufficientDataIsRecordedButNotNotified() {
        let r = Self.rule()
        let fire = Self.step(nil, [90, 90, 90], r, at: Self.t0)
        let gone = Self.step(fire.state, [], r, at: Self.t0 + 10_000)
        #expect(gone.transition == AlarmInstanceMachine.Transition(from: .alarm, to: .insufficientData))
        #expect(gone.notice == nil && gone.state.notificationCount == 0 && gone.state.lastValue == nil)
    }

    @Test func aSuppressedFiringIsOwedUntilItGoesOut() {
        let r = Self.rule()
        let fire = Self.step(nil, [90, 90, 90], r, at: Self.t0)
        // The evaluator suppressed it and kept `stateIfSuppressed`.
        let owed = Self.step(fire.stateIfSuppressed, [90, 90, 90], r, at: Self.t0 + 10_000)
        #expect(owed.transition == nil && owed.notice == .firing && owed.previousStatus == .alarm)
        #expect(owed.state.since == Self.t0 && owed.state.notificationCount == 1 && owed.state.lastNotifiedAt == Self.t0 + 10_000)
        // Once out, no second firing: the next is a repeat 60 s later.
        let quiet = Self.step(owed.state, [90, 90, 90], r, at: Self.t0 + 20_000)
        #expect(quiet.notice == nil)
        // A recovery of an episode nobody heard of is not notified.
        let back = Self.step(fire.stateIfSuppressed, [90, 90, 10], r, at: Self.t0 + 10_000)
        #expect(back.transition?.to == .ok && back.notice == nil)
    }

    @Test func onlyRealChangesCountAsChanged() {
        let r = Self.rule()
        let a = Self.step(nil, [50], r, at: Self.t0)
        let b = Self.step(a.state, [60], r, at: Self.t0 + 10_000)
        #expect(b.state.lastValue == 60)
        #expect(!AlarmInstanceMachine.Outcome.changed(b.state, from: a.state))
        #expect(AlarmInstanceMachine.Outcome.changed(a.state, from: nil))
        let c = Self.step(b.state, [90, 90, 90], r, at: Self.t0 + 20_000)
        #expect(AlarmInstanceMachine.Outcome.changed(c.state, from: b.state))
    }

    @Test func windowAggregatesGiveTheSameEvidenceAsRawPoints() {
        let cases: [[Double]] = [[85, 80, 90], [85, 79.9, 90], [85, .nan, 90], [.nan, .nan], [70, 75], [-.infinity, .infinity]]
        for values in cases {
            let pts = Self.points(values, endingAt: Self.t0)
            for op in ComparisonOperator.allCases {
                let raw = AlarmEvidence(points: pts, from: Self.t0, periodMs: 600_000, op, threshold: 80)
                let agg = AlarmEvidence(WindowAggregate.of(pts)!, op, threshold: 80)
                #expect(raw.count == agg.count && raw.allBreach == agg.allBreach, "\(values) \(op)")
                #expect(raw.last.map { $0.isNaN } == agg.last.map { $0.isNaN })
            }
        }
    }
}
