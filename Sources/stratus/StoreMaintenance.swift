import Logging
import NIOPosix
import ServiceLifecycle
import StratusMetrics
import Synchronization

/// Runs the metric store's background work (rollups, retention, WAL checkpoints) once a minute on
/// the grid, on a thread of its own: after an hour boundary a pass builds rollups for every series
/// (minutes at millions of series) and must not take a thread of the shared pool for that long. It
/// keeps normal priority: it takes the store's lock in short slices, and a lowered thread preempted
/// while holding it stalled every push (priority inversion). A failed round is logged and retried
/// at the next slot.
struct StoreMaintenance: Service {
    let store: RocksMetricStore
    let clock: any WallClock
    let logger: Logger
    var interval: Int64 = 60_000

    func run() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        do {
            try await cancelWhenGracefulShutdown {
                try await runOnGrid(clock: clock, interval: interval, startNow: false) { _ in
                    let now = clock.now()
                    do {
                        // The round runs on a pool thread, which cancellation cannot reach: a flag
                        // set on cancellation (graceful shutdown) makes a long retention pass stop.
                        let stop = StopFlag()
                        let report = try await withTaskCancellationHandler {
                            try await pool.runIfActive { try store.maintain(now: now, shouldStop: { stop.isSet }) }
                        } onCancel: {
                            stop.set()
                        }
                        logger.debug("metric store maintenance", metadata: [
                            "rollups": "\(report.rollupsBuilt)", "checkpointed": "\(report.checkpointed)",
                            "retention": "\(report.retention.map { "\($0)" } ?? (report.retentionSkipped ? "skipped" : "-"))",
                        ])
                    } catch {
                        logger.error("metric store maintenance failed; retrying next minute", metadata: ["error": "\(error)"])
                    }
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: stop between rounds.
        }
        try? await pool.shutdownGracefully()
    }
}

/// Set once, from any thread.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
}
