import Alarms
import Control
import Foundation
import Logging
import ServiceLifecycle
import StratusMetrics
import Testing

/// `AlarmService` prunes old history and finished deliveries: at start, then every hour of the
/// (manual) clock, in batches; real SQLite file.
@Suite struct AlarmServicePruneTests {
    static let day: Int64 = 86_400_000
    static let t0: Int64 = 1_700_000_000_000

    struct Fixture {
        let dir = try! AlarmStoreTempDir()
        let store: SQLiteAlarmStore
        let clock = ManualWallClock(start: AlarmServicePruneTests.t0)
        let service: AlarmService

        init(retentionDays: Int64 = 30, batch: Int = 2) throws {
            store = try SQLiteAlarmStore(path: dir.dbPath)
            var settings = AlarmServiceSettings()
            settings.historyRetention = retentionDays * AlarmServicePruneTests.day
            settings.pruneBatchSize = batch
            var quiet = Logger(label: "test")
            quiet.logLevel = .critical
            service = AlarmService(store: store, metrics: MemoryMetricStore(), inventory: try SQLiteInventoryStore(path: nil),
                                   sender: ScriptedSender(), clock: clock, settings: settings, jitter: { $0 }, logger: quiet)
        }

        func addHistory(at times: [Int64]) async throws {
            try await store.commit(AlarmRoundCommit(history: AlarmStorePostponePruneTests.history(times), time: times.max() ?? 0))
        }

        func historyTimes() async throws -> [Int64] {
            try await store.history(AlarmHistoryQuery(limit: 1000)).map(\.time).sorted()
        }
    }

    @Test func prunerDeletesEverythingPastTheRetentionInBatches() async throws {
        let f = try Fixture(batch: 2)
        let now = Self.t0
        let old = (1...5).map { now - 30 * Self.day - Int64($0) }
        try await f.addHistory(at: old + [now - 30 * Self.day, now - Self.day])
        try await f.store.enqueue((0..<3).map { AlarmStoreOutboxTests.entry("e", time: now - 40 * Self.day + Int64($0)) })
        let ids = try await f.store.outbox(OutboxQuery()).compactMap(\.id)
        try await f.store.markDelivered(ids: Array(ids.prefix(2)), at: now - 40 * Self.day + 10)
        let done = try await f.service.pruner.prune(now: now)
        #expect(done == AlarmPruneCount(history: 5, outbox: 2))
        #expect(try await f.historyTimes() == [now - 30 * Self.day, now - Self.day])
        #expect(try await f.store.outboxCounts() == [.pending: 1, .delivered: 0, .failed: 0])
    }

    @Test func serviceRunPrunesAtStartAndThenEveryHour() async throws {
        let f = try Fixture(retentionDays: 1)
        let t0 = Self.t0
        try await f.addHistory(at: [t0 - 2 * Self.day, t0 - Self.day - 1, t0 - Self.day + 30 * 60_000, t0])
        let group = ServiceGroup(configuration: .init(services: [f.service], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        defer { running.cancel() }
        let deadline = Date().addingTimeInterval(20)
        // At start: the two rows older than a day go.
        while try await f.historyTimes().count > 2, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await f.historyTimes() == [t0 - Self.day + 30 * 60_000, t0])
        // At 59 minutes the row from t0 - 1 d + 30 min is past the retention, but no pass runs before the hour.
        f.clock.advance(to: t0 + 59 * 60_000)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await f.historyTimes().count == 2)
        // At the hour the next pass prunes the row that has meanwhile passed the retention.
        f.clock.advance(to: t0 + 60 * 60_000)
        while try await f.historyTimes().count > 1, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await f.historyTimes() == [t0])
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
