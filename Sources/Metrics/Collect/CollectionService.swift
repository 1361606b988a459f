import Logging
import ServiceLifecycle
import Synchronization

/// Runs every registered collector on the collection grid and writes what they return as one batch.
///
/// Each round is stamped at a multiple of `interval` (so timestamps compress well and line up across
/// collectors). A collector that fails is logged and skipped for that round; the others still land.
/// If a round overruns, missed grid slots are skipped rather than piled up.
public final class CollectionService: Service {
    public let interval: Int64
    private let store: any MetricStore
    private let clock: any WallClock
    private let logger: Logger
    private let collectors = Mutex<[any Collector]>([])
    private let failures = Mutex<[String: Int]>([:])

    public init(store: any MetricStore, clock: any WallClock, interval: Int64 = 10_000, logger: Logger) {
        precondition(interval > 0, "interval must be positive")
        self.store = store
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    /// Adds a collector; it runs from the next round on.
    public func register(_ collector: any Collector) {
        collectors.withLock { $0.append(collector) }
    }

    /// Names of the registered collectors.
    public var collectorNames: [String] { collectors.withLock { $0.map(\.name) } }

    /// Consecutive failed rounds per collector name (0 or absent when healthy).
    public var failureCounts: [String: Int] { failures.withLock { $0 } }

    /// Collects until graceful shutdown (or cancellation), then returns normally.
    public func run() async throws {
        do {
            try await runRounds()
        } catch is CancellationError {
            logger.debug("collection stopped")
        }
    }

    private func runRounds() async throws {
        try await cancelWhenGracefulShutdown {
            // A first round at once, stamped on the current grid slot: gauges show immediately and
            // counters get their baseline, so rates appear after the next slot instead of two.
            try await runOnGrid(clock: self.clock, interval: self.interval, startNow: true,
                                onSkip: { self.logger.warning("collection round overran; skipping \($0) grid slot(s)") }) {
                try await self.collectRound(stamp: $0)
            }
        }
    }

    /// Runs every collector once for the grid time `stamp` and writes the samples. Returns how many were written.
    @discardableResult
    public func collectRound(stamp: Int64) async throws -> Int {
        let current = collectors.withLock { $0 }
        let now = clock.now()
        let results = await withTaskGroup(of: (String, Result<[Sample], any Error>).self) { group in
            for c in current {
                group.addTask {
                    do { return (c.name, .success(try await c.collect(stamp: stamp, now: now))) } catch { return (c.name, .failure(error)) }
                }
            }
            var all: [(String, Result<[Sample], any Error>)] = []
            for await r in group { all.append(r) }
            return all
        }
        var samples: [Sample] = []
        for (name, result) in results {
            switch result {
            case let .success(s):
                samples += s
                failures.withLock { $0[name] = nil }
            case let .failure(error):
                let n = failures.withLock { f -> Int in
                    f[name, default: 0] += 1
                    return f[name]!
                }
                // Log the first failure and then every 30th, so a dead source doesn't flood the log.
                if n == 1 || n % 30 == 0 { logger.error("collector \(name) failed (\(n) round(s) in a row): \(error)") }
            }
        }
        guard !samples.isEmpty else { return 0 }
        try await store.write(samples)
        return samples.count
    }
}
