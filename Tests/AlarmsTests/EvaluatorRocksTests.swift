import Alarms
import Foundation
import StratusMetrics
import Testing

/// `AlarmEvaluator` over a real `RocksMetricStore` in a temp dir: fire, repeat, recover, across a
/// reopen of the store. Times sit near the real clock (the store's retention is wall-clock based).
@Suite struct EvaluatorRocksTests {
    @Test func firesRepeatsAndRecoversOnARealStore() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("evaluator-rocks-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 10 s grid, an hour back from now.
        let t0 = (SystemWallClock().now() / 10_000) * 10_000 - 3_600_000
        var store: RocksMetricStore? = try RocksMetricStore(path: dir)
        // hot: 90 throughout; warm: 85, 85, 70 (one sample under); cold: 10.
        try await EvaluatorFixture.write(store!, vm: "hot", host: "h1", values: [90, 90, 90], endingAt: t0)
        try await EvaluatorFixture.write(store!, vm: "warm", host: "h1", values: [85, 85, 70], endingAt: t0)
        try await EvaluatorFixture.write(store!, vm: "cold", host: "h2", values: [10, 10, 10], endingAt: t0)
        let any = EvaluatorFixture.rule(uuid: "any", labels: [AlarmLabel(key: "VMUuid", op: "!=", value: "cold")],
                                        repeatInterval: 20, actions: ["t1"])
        let one = EvaluatorFixture.rule(uuid: "one", labels: [AlarmLabel(key: "VMUuid", value: "warm")], actions: ["t1"])
        let avg = EvaluatorFixture.rule(uuid: "avg", type: .average, actions: ["t1"])
        let rules = [any, one, avg]
        let ev = AlarmEvaluator(states: [], metrics: store!)

        let c1 = try await ev.evaluate(rules, at: t0)
        #expect(Set(c1.history.map { "\($0.alarmUuid)/\($0.resourceId)" }) == ["any/hot"])
        // Average per timestamp: (90+85+10)/3 = 61.67, 61.67, (90+70+10)/3 = 56.67: OK.
        let avgState = try #require(c1.states.first { $0.alarmUuid == "avg" })
        #expect(avgState.status == .ok && abs(avgState.lastValue! - 170.0 / 3) < 1e-9)
        let stats = await ev.lastRound
        #expect(stats.selects == 1 && stats.series == 3 && stats.samples == 9)

        // Close and reopen the store between rounds (the data must come back from disk/WAL).
        store!.close()
        store = try RocksMetricStore(path: dir)
        let ev2 = AlarmEvaluator(states: await ev.instanceStates(), metrics: store!)
        // +10 s: warm is all ≥ 80 in its last 30 s? its period now holds 85, 70, 95 → no. hot stays.
        try await EvaluatorFixture.write(store!, vm: "hot", host: "h1", values: [90], endingAt: t0 + 10_000)
        try await EvaluatorFixture.write(store!, vm: "warm", host: "h1", values: [95], endingAt: t0 + 10_000)
        let c2 = try await ev2.evaluate(rules, at: t0 + 10_000)
        #expect(c2.history.isEmpty && c2.notices.isEmpty)
        // +20 s: hot repeats (20 s interval); warm's period holds 70, 95, 95: still OK.
        try await EvaluatorFixture.write(store!, vm: "hot", host: "h1", values: [90], endingAt: t0 + 20_000)
        try await EvaluatorFixture.write(store!, vm: "warm", host: "h1", values: [95], endingAt: t0 + 20_000)
        let c3 = try await ev2.evaluate(rules, at: t0 + 20_000)
        #expect(c3.notices.compactMap(Self.kindAndResource) == ["Repeat/hot"])
        // +30 s: warm's period is 95, 95, 95: fires for `any` and `one`; hot drops to 50: recovers.
        try await EvaluatorFixture.write(store!, vm: "hot", host: "h1", values: [50], endingAt: t0 + 30_000)
        try await EvaluatorFixture.write(store!, vm: "warm", host: "h1", values: [95], endingAt: t0 + 30_000)
        let c4 = try await ev2.evaluate(rules, at: t0 + 30_000)
        #expect(Set(c4.notices.compactMap(Self.kindAndResource)) == ["Firing/warm", "Recovery/hot"])
        #expect(c4.notices.count == 3)  // warm fires for both `any` and `one`
        #expect(Set(c4.history.map { "\($0.alarmUuid)/\($0.resourceId)/\($0.currentStatus.rawValue)" })
            == ["any/warm/Alarm", "one/warm/Alarm", "any/hot/OK"])
        store!.close()
    }

    /// The window-aggregate fast path (Rocks, only `Any` rules) decides exactly as raw points do
    /// (Memory store), NaN samples and two periods included.
    @Test func theAggregateFastPathAgreesWithRawPoints() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("evaluator-rocks-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t0 = (SystemWallClock().now() / 10_000) * 10_000 - 3_600_000
        let rocks = try RocksMetricStore(path: dir)
        defer { rocks.close() }
        let memory = MemoryMetricStore()
        // VM v at step k: hot (≥ 80) except where (v * 7 + k) % 11 == 0 (cool) or % 13 == 0 (NaN).
        func value(_ v: Int, _ k: Int) -> Double {
            if (v * 7 + k) % 13 == 0 { return .nan }
            return (v * 7 + k) % 11 == 0 ? 40 : 80 + Double(v % 5)
        }
        let rules = [
            EvaluatorFixture.rule(uuid: "p30", labels: [AlarmLabel(key: "VMUuid", op: "=~", value: "v.*")], period: 30, repeatInterval: 20),
            EvaluatorFixture.rule(uuid: "p60", period: 60, repeatInterval: 30),
            EvaluatorFixture.rule(uuid: "one", labels: [AlarmLabel(key: "VMUuid", value: "v3")], period: 20),
        ]
        let onRocks = AlarmEvaluator(states: [], metrics: rocks)
        let onMemory = AlarmEvaluator(states: [], metrics: memory)
        var transitions = 0
        for k in 0..<30 {
            let now = t0 + Int64(k) * 10_000
            for v in 0..<12 {
                for store in [rocks, memory] as [any MetricStore] {
                    try await EvaluatorFixture.write(store, vm: "v\(v)", host: "h\(v % 3)", values: [value(v, k)], endingAt: now)
                }
            }
            let a = try await onRocks.evaluate(rules, at: now)
            let b = try await onMemory.evaluate(rules, at: now)
            #expect(a.history.count == b.history.count && a.notices.count == b.notices.count, "step \(k)")
            #expect(Self.normalized(a) == Self.normalized(b), "step \(k)")
            transitions += a.history.count
        }
        #expect(await onRocks.lastRound.selects == 3)  // aggregates: one call per distinct period (30, 60, 20 s)
        #expect(await onMemory.lastRound.selects == 1)
        #expect(transitions > 20)  // the data does flap
    }

    /// The by-ref path (`SeriesAggregatingStore`, bindings cached across rounds) decides exactly as
    /// raw points do while series vanish and come back, a commit fails (so cached series meet
    /// instances that were never adopted) and the rule list changes mid-way.
    @Test func cachedSeriesBindingsFollowVanishingSeriesFailedCommitsAndRuleChanges() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("evaluator-rocks-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t0 = (SystemWallClock().now() / 10_000) * 10_000 - 3_600_000
        let rocks = try RocksMetricStore(path: dir)
        defer { rocks.close() }
        let memory = MemoryMetricStore()
        let options = AlarmEvaluator.Options(forgetInsufficientDataAfter: 60_000)
        let onRocks = AlarmEvaluator(states: [], metrics: rocks, options: options)
        let onMemory = AlarmEvaluator(states: [], metrics: memory, options: options)
        let first = [
            EvaluatorFixture.rule(uuid: "all", period: 20, repeatInterval: 40),
            EvaluatorFixture.rule(uuid: "v2", labels: [AlarmLabel(key: "VMUuid", value: "v2")], period: 30),
        ]
        let second = first + [EvaluatorFixture.rule(uuid: "h0", labels: [AlarmLabel(key: "HostUuid", value: "h0")], period: 20)]
        var kinds = Set<String>()
        for k in 0..<40 {
            let now = t0 + Int64(k) * 10_000
            for v in 0..<6 {
                // v1 stops writing for steps 8..<25 (vanishes, is forgotten, comes back); v4 starts at step 12.
                if v == 1 && (8..<25).contains(k) { continue }
                if v == 4 && k < 12 { continue }
                let value: Double = (v + k / 3) % 4 == 0 ? 50 : 90
                for store in [rocks, memory] as [any MetricStore] {
                    try await EvaluatorFixture.write(store, vm: "v\(v)", host: "h\(v % 2)", values: [value], endingAt: now)
                }
            }
            let rules = k < 20 ? first : second
            if k == 0 || k == 12 || k == 21 {
                // A failed commit: nothing adopted, the next round evaluates these instances again
                // (at 0 and 12 the new instances of series whose bindings are already cached).
                for ev in [onRocks, onMemory] {
                    await #expect(throws: EvaluatorFixture.CommitFailed.self) {
                        try await ev.round(rules, at: now) { _ in throw EvaluatorFixture.CommitFailed() }
                    }
                }
                continue
            }
            let a = try await onRocks.evaluate(rules, at: now)
            let b = try await onMemory.evaluate(rules, at: now)
            #expect(Self.normalized(a, labels: true) == Self.normalized(b, labels: true), "step \(k)")
            #expect(Set(a.removedInstances.map { "\($0.alarmUuid)/\($0.instanceKey)" }) == Set(b.removedInstances.map { "\($0.alarmUuid)/\($0.instanceKey)" }), "step \(k)")
            for h in a.history { kinds.insert("\(h.previousStatus)→\(h.currentStatus)") }
            if !a.removedInstances.isEmpty { kinds.insert("forgotten") }
        }
        #expect(await onRocks.instanceStates().count == onMemory.instanceStates().count)
        // The scenario did reach every case it is about.
        #expect(kinds.isSuperset(of: ["insufficientData→alarm", "alarm→ok", "ok→alarm", "alarm→insufficientData", "forgotten"]), "\(kinds)")
    }

    /// A commit as comparable text, NaN-safe (NaN != NaN) and order-free.
    static func normalized(_ c: AlarmRoundCommit, labels: Bool = false) -> [String] {
        func v(_ d: Double?) -> String { d.map { $0.isNaN ? "NaN" : "\($0)" } ?? "nil" }
        func l(_ d: [String: String]) -> String { labels ? d.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") : "" }
        var out = c.history.map { "h \($0.alarmUuid) \($0.instanceKey) \($0.previousStatus) \($0.currentStatus) \(v($0.value)) \($0.notified)" }
        out += c.notices.compactMap { r -> String? in
            guard case let .alarm(a) = r.notice else { return nil }
            return "n \(a.alarmUuid) \(a.instanceKey) \(a.kind) \(a.sequence) \(v(a.currentValue))"
        }
        out += c.states.map { "s \($0.alarmUuid) \($0.instanceKey) \($0.status) \($0.since) \($0.notificationCount) \(v($0.lastValue)) \(l($0.labels))" }
        return out.sorted()
    }

    static func kindAndResource(_ r: RoutedNotice) -> String? {
        if case let .alarm(a) = r.notice { return "\(a.kind.rawValue)/\(a.resourceId)" }
        return nil
    }
}
