import Alarms
import Control
import Foundation
import Logging
import ServiceLifecycle
import StratusMetrics
import Synchronization
import Testing

/// `AlarmService`: evaluation → commit → dispatcher, inhibition from the event notifier's host
/// statuses, test notifications, and a clean stop on graceful shutdown.
@Suite struct DispatcherAlarmServiceTests {
    static let t0: Int64 = 1_700_000_000_000

    struct Fixture {
        let store: SQLiteAlarmStore
        let inventory: SQLiteInventoryStore
        let metrics = MemoryMetricStore()
        let clock = ManualWallClock(start: DispatcherAlarmServiceTests.t0)
        let sender = ScriptedSender()
        let service: AlarmService
        let endpoint: SNSEndpoint
        let alarm: AlarmRule
        let up: Control.Host
        let down: Control.Host

        init() async throws {
            let store = try SQLiteAlarmStore(path: nil)
            let inventory = try SQLiteInventoryStore(path: nil)
            self.store = store
            self.inventory = inventory
            let t0 = DispatcherAlarmServiceTests.t0
            let zone = try await inventory.createZone(name: "z", description: "", at: t0)
            let cluster = try await inventory.createCluster(name: "c", zoneUuid: zone.uuid, hypervisorType: "KVM", at: t0)
            func host(_ n: String) async throws -> Control.Host {
                try await inventory.addHost(Control.Host(name: n, zoneUuid: zone.uuid, clusterUuid: cluster.uuid, managementIp: "10.0.0.1",
                                                         hypervisorType: "KVM", hypervisorURI: "test:///\(n)", cpuNum: 4,
                                                         totalMemoryCapacity: 1 << 33), at: t0)
            }
            let up = try await host("up")
            let down = try await host("down")
            self.up = up
            self.down = down
            try await inventory.setHostStatus(uuid: down.uuid, status: "Disconnected", at: t0)
            let topic = try await store.createTopic(SNSTopic(uuid: "", name: "ops"), at: t0)
            let endpoint = try await store.createEndpoint(SNSEndpoint(uuid: "", name: "hook", config: .http(HTTPEndpointConfig(url: "http://127.0.0.1:9/"))), at: t0)
            try await store.subscribe(endpointUuid: endpoint.uuid, topicUuid: topic.uuid)
            self.endpoint = endpoint
            alarm = try await store.createAlarm(AlarmRule(uuid: "", name: "cpu", namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization",
                                                          comparisonOperator: .greaterThanOrEqualTo, threshold: 80, period: 30,
                                                          actions: [topic.uuid]), at: t0)
            var quiet = Logger(label: "test")
            quiet.logLevel = .critical
            service = AlarmService(store: store, metrics: metrics, inventory: inventory, sender: sender, clock: clock,
                                   jitter: { $0 }, logger: quiet)
        }

        /// CPU 90 % for the last 30 s of `vm` on `host`, ending at `end`.
        func hot(_ vm: String, on host: String, endingAt end: Int64) async throws {
            let labels = ZWatchName.labels(namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization", ["VMUuid": vm, "HostUuid": host])
            try await metrics.write((0..<4).map { Sample(labels: labels, timestamp: end - Int64(3 - $0) * 10_000, value: 90) })
        }
    }

    @Test func aRoundCommitsItsNoticesAndTheDispatcherDeliversThemButNotForVMsOnDisconnectedHosts() async throws {
        let f = try await Fixture()
        try await f.hot("vm-up", on: f.up.uuid, endingAt: Self.t0)
        try await f.hot("vm-down", on: f.down.uuid, endingAt: Self.t0)
        try await f.service.events.seedHostStatuses()
        let commit = try await f.service.evaluateOnce(at: Self.t0)
        #expect(commit.history.count == 2)
        let inhibited = try #require(commit.history.first { $0.resourceId == "vm-down" })
        #expect(inhibited.notified == false && inhibited.suppressedBy == "inhibited:HostDisconnected:\(f.down.uuid)")
        let queued = try await f.store.outbox(OutboxQuery(endpointUuid: f.endpoint.uuid))
        try #require(queued.count == 1)
        guard case let .alarm(notice) = queued[0].notice else { Issue.record("not an alarm notice"); return }
        #expect(notice.resourceId == "vm-up" && notice.kind == .firing && notice.alarmUuid == f.alarm.uuid)
        try await f.service.dispatcher.deliverDue()
        #expect(f.sender.sent.map(\.keys) == [[queued[0].idempotencyKey]])
    }

    @Test func testEndpointQueuesATestNoticeThatIsDelivered() async throws {
        let f = try await Fixture()
        let entry = try await f.service.testEndpoint(uuid: f.endpoint.uuid, requestedBy: "admin")
        #expect(entry.id != nil && entry.status == .pending && entry.topicUuid == nil)
        #expect(entry.notice == .test(TestNotice(endpointUuid: f.endpoint.uuid, requestedBy: "admin", time: Self.t0)))
        try await f.service.dispatcher.deliverDue()
        #expect(f.sender.sent.map(\.keys) == [[entry.idempotencyKey]])
        await #expect(throws: AlarmNotFoundError.self) { try await f.service.testEndpoint(uuid: "nope", requestedBy: "admin") }
        var off = f.endpoint
        off.enabled = false
        _ = try await f.store.updateEndpoint(off)
        await #expect(throws: AlarmValidationError.self) { try await f.service.testEndpoint(uuid: off.uuid, requestedBy: "admin") }
    }

    @Test func runEvaluatesOnTheGridDeliversAndStopsOnGracefulShutdown() async throws {
        let f = try await Fixture()
        // The first round is due at the next grid slot + the 2 s offset: t0 + 2 s (t0 is on the grid).
        let tick = Self.t0 + 2_000
        try await f.hot("vm-up", on: f.up.uuid, endingAt: tick)
        let group = ServiceGroup(configuration: .init(services: [f.service], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        // Wait until the loops sleep on the clock, then move it to the tick.
        let deadline = Date().addingTimeInterval(60)
        while f.clock.sleeperCount < 2, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        f.clock.advance(to: tick)
        while f.sender.sent.isEmpty, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(f.sender.sent.count == 1)
        #expect(try await f.store.outboxCounts()[.delivered] == 1)
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

/// A round waits for the metric store's ingest lull (`AlarmServiceSettings.ingestLullLimit`)
/// between its tick and its evaluation.
@Suite struct AlarmRoundLullTests {
    /// `MemoryMetricStore` whose lull lasts until the test opens it, recording the limits asked for.
    final class GatedLullStore: MetricStore {
        let inner = MemoryMetricStore()
        private let gate = Mutex<(open: Bool, limits: [Int64])>((false, []))
        var limits: [Int64] { gate.withLock { $0.limits } }
        func open() { gate.withLock { $0.open = true } }

        func write(_ samples: [Sample]) async throws -> WriteReport { try await inner.write(samples) }
        func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) async throws -> [SeriesPoints] {
            try await inner.select(matchers, from: from, to: to)
        }
        func labelValues(_ name: String, matchers: [LabelMatcher]) async throws -> [String] {
            try await inner.labelValues(name, matchers: matchers)
        }
        func stats() async throws -> TSDBStats { try await inner.stats() }
        func ingestLull(limit: Int64) async {
            gate.withLock { $0.limits.append(limit) }
            while !gate.withLock({ $0.open }) && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }

    @Test func aRoundWaitsForTheIngestLullThenEvaluates() async throws {
        let t0 = DispatcherAlarmServiceTests.t0
        let store = try SQLiteAlarmStore(path: nil)
        let inventory = try SQLiteInventoryStore(path: nil)
        let metrics = GatedLullStore()
        let clock = ManualWallClock(start: t0)
        let sender = ScriptedSender()
        let topic = try await store.createTopic(SNSTopic(uuid: "", name: "ops"), at: t0)
        let endpoint = try await store.createEndpoint(SNSEndpoint(uuid: "", name: "hook", config: .http(HTTPEndpointConfig(url: "http://127.0.0.1:9/"))), at: t0)
        try await store.subscribe(endpointUuid: endpoint.uuid, topicUuid: topic.uuid)
        _ = try await store.createAlarm(AlarmRule(uuid: "", name: "cpu", namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization",
                                                  comparisonOperator: .greaterThanOrEqualTo, threshold: 80, period: 30,
                                                  actions: [topic.uuid]), at: t0)
        var settings = AlarmServiceSettings()
        settings.ingestLullLimit = 4_000
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let service = AlarmService(store: store, metrics: metrics, inventory: inventory, sender: sender, clock: clock,
                                   settings: settings, jitter: { $0 }, logger: quiet)
        let tick = t0 + 2_000
        let labels = ZWatchName.labels(namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization", ["VMUuid": "vm-1", "HostUuid": "h"])
        try await metrics.write((0..<4).map { Sample(labels: labels, timestamp: tick - Int64(3 - $0) * 10_000, value: 90) })
        let group = ServiceGroup(configuration: .init(services: [service], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        let deadline = Date().addingTimeInterval(60)
        while clock.sleeperCount < 2, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        clock.advance(to: tick)
        while metrics.limits.isEmpty, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(metrics.limits == [4_000], "the round asked for the lull with its limit")
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await store.outboxCounts().values.reduce(0, +) == 0, "nothing evaluated while the lull lasts")
        metrics.open()
        while sender.sent.isEmpty, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(sender.sent.count == 1, "the round evaluated once the lull came")
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

/// While the metric store is behind its agents, rounds are skipped, at most
/// `AlarmServiceSettings.maxRoundsSkippedInBacklog` in a row.
@Suite struct AlarmRoundBacklogTests {
    /// `MemoryMetricStore` that says it is behind its agents and counts the rounds' reads.
    final class BehindStore: MetricStore {
        let inner = MemoryMetricStore()
        private let reads = Mutex(0)
        var selects: Int { reads.withLock { $0 } }

        func write(_ samples: [Sample]) async throws -> WriteReport { try await inner.write(samples) }
        func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) async throws -> [SeriesPoints] {
            reads.withLock { $0 += 1 }
            return try await inner.select(matchers, from: from, to: to)
        }
        func labelValues(_ name: String, matchers: [LabelMatcher]) async throws -> [String] {
            try await inner.labelValues(name, matchers: matchers)
        }
        func stats() async throws -> TSDBStats { try await inner.stats() }
        var ingestIsBehind: Bool { true }
    }

    @Test func twoRoundsInThreeAreSkippedWhileTheStoreIsBehind() async throws {
        let t0 = DispatcherAlarmServiceTests.t0
        let store = try SQLiteAlarmStore(path: nil)
        let inventory = try SQLiteInventoryStore(path: nil)
        let metrics = BehindStore()
        let clock = ManualWallClock(start: t0)
        _ = try await store.createAlarm(AlarmRule(uuid: "", name: "cpu", namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization",
                                                  comparisonOperator: .greaterThanOrEqualTo, threshold: 80, period: 30), at: t0)
        var settings = AlarmServiceSettings()
        settings.maxRoundsSkippedInBacklog = 2
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let service = AlarmService(store: store, metrics: metrics, inventory: inventory, sender: ScriptedSender(), clock: clock,
                                   settings: settings, jitter: { $0 }, logger: quiet)
        let group = ServiceGroup(configuration: .init(services: [service], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        // Generous: in a full test run the cooperative pool is busy; the loops end as soon as each step is seen.
        let deadline = Date().addingTimeInterval(120)
        // Rounds are due at t0 + 2 s, + 12 s, ... (10 s grid, 2 s offset).
        for k in 0..<6 {
            while clock.sleeperCount < 2, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
            let before = service.roundsSkippedInBacklog + metrics.selects
            clock.advance(to: t0 + 2_000 + Int64(k) * 10_000)
            // The round either skipped or read the store before the loop sleeps again.
            while service.roundsSkippedInBacklog + metrics.selects == before, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(service.roundsSkippedInBacklog == 4, "rounds 1, 2, 4 and 5 skipped")
        #expect(metrics.selects == 2, "rounds 3 and 6 evaluated: at most two skipped in a row")
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
