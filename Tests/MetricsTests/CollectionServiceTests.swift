import Logging
import ServiceLifecycle
import StratusMetrics
import Synchronization
import Testing

/// A collector that returns one sample per call stamped as asked, or fails on demand.
final class CountingCollector: Collector {
    let name: String
    let calls = Mutex<[(stamp: Int64, now: Int64)]>([])
    let failing: Bool

    init(name: String, failing: Bool = false) {
        self.name = name
        self.failing = failing
    }

    func collect(stamp: Int64, now: Int64) async throws -> [Sample] {
        calls.withLock { $0.append((stamp, now)) }
        if failing { throw MetricsError.storage(operation: "read", message: "source down") }
        return [Sample(labels: Labels([Labels.nameKey: "ZStack:Test::Calls", "Collector": name]), timestamp: stamp, value: 1)]
    }
}

@Suite struct CollectionServiceTests {
    @Test func roundsAreStampedOnTheGridAndAFailingCollectorDoesNotBlockOthers() async throws {
        let clock = ManualWallClock(start: 1_000_003_000)
        let store = MemoryMetricStore()
        let service = CollectionService(store: store, clock: clock, interval: 10_000, logger: Logger(label: "test"))
        let good = CountingCollector(name: "good"), bad = CountingCollector(name: "bad", failing: true)
        service.register(good)
        service.register(bad)
        #expect(service.collectorNames == ["good", "bad"])

        let task = Task { try await service.run() }
        // Priming round at once, stamped on the current slot; then every slot as the clock reaches it.
        for target in [Int64(1_000_010_000), 1_000_020_000, 1_000_030_000] {
            while good.calls.withLock({ $0.count }) < Int((target - 1_000_000_000) / 10_000) || clock.sleeperCount == 0 {
                await Task.yield()
            }
            clock.advance(to: target + 250)
        }
        while good.calls.withLock({ $0.count }) < 4 { await Task.yield() }
        task.cancel()
        try await task.value

        #expect(good.calls.withLock { $0.map(\.stamp) }.prefix(4) == [1_000_000_000, 1_000_010_000, 1_000_020_000, 1_000_030_000])
        #expect(good.calls.withLock { $0[1].now } == 1_000_010_250)
        let stored = try await store.select([.equal(Labels.nameKey, "ZStack:Test::Calls")], from: 0, to: .max)
        #expect(stored.count == 1)
        #expect(stored.first?.labels["Collector"] == "good")
        #expect((stored.first?.points.count ?? 0) >= 3)
        #expect((service.failureCounts["bad"] ?? 0) >= 3)
        #expect(service.failureCounts["good"] == nil)
    }

    @Test func anOverrunSkipsMissedSlotsInsteadOfPilingUp() async throws {
        let clock = ManualWallClock(start: 0)
        let store = MemoryMetricStore()
        let service = CollectionService(store: store, clock: clock, interval: 10_000, logger: Logger(label: "test"))
        let c = CountingCollector(name: "c")
        service.register(c)
        let task = Task { try await service.run() }
        while clock.sleeperCount == 0 { await Task.yield() }
        // Jump 55 s: one round for the 10 s slot, then the next sleep targets 60 s, not 20 s.
        clock.advance(to: 55_000)
        while c.calls.withLock({ $0.count }) < 2 || clock.sleeperCount == 0 { await Task.yield() }
        clock.advance(to: 60_000)
        while c.calls.withLock({ $0.count }) < 3 { await Task.yield() }
        task.cancel()
        try await task.value
        #expect(c.calls.withLock { $0.map(\.stamp) } == [0, 10_000, 60_000])
    }

    @Test func collectRoundWritesWhatCollectorsReturn() async throws {
        let store = MemoryMetricStore()
        let service = CollectionService(store: store, clock: ManualWallClock(start: 0), interval: 1_000, logger: Logger(label: "t"))
        #expect(try await service.collectRound(stamp: 5_000) == 0)
        service.register(CountingCollector(name: "a"))
        service.register(CountingCollector(name: "b"))
        #expect(try await service.collectRound(stamp: 6_000) == 2)
        #expect(try await store.labelValues("Collector", matchers: []) == ["a", "b"])
    }
}
