import Logging
import NIOPosix
import ServiceLifecycle
import StratusMetrics

/// Runs the metric store's background work (rollups, retention, WAL checkpoints) once a minute on
/// the grid, off the cooperative pool. A failed round is logged and retried at the next slot.
struct StoreMaintenance: Service {
    let store: RocksMetricStore
    let clock: any WallClock
    let logger: Logger
    var interval: Int64 = 60_000

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await runOnGrid(clock: clock, interval: interval, startNow: false) { _ in
                    let now = clock.now()
                    do {
                        let report = try await NIOThreadPool.singleton.runIfActive { try store.maintain(now: now) }
                        logger.debug("metric store maintenance", metadata: [
                            "rollups": "\(report.rollupsBuilt)", "checkpointed": "\(report.checkpointed)",
                            "retention": "\(report.retention.map { "\($0)" } ?? "-")",
                        ])
                    } catch {
                        logger.error("metric store maintenance failed; retrying next minute", metadata: ["error": "\(error)"])
                    }
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: stop between rounds.
        }
    }
}
