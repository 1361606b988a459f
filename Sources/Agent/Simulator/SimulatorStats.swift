import Synchronization

/// Counters the send workers and the round loop share.
final class SimStats: Sendable {
    struct Counters {
        var batches = 0
        var samples = 0
        var rejected = 0
        var errors = 0
        var lastError: String?
        var vmReports = 0
        /// Slowest push round trip (ms) since the last `takeSlowest`, and over the whole run.
        var slowestMs: Int64 = 0
        var slowestEverMs: Int64 = 0
    }

    private let counters = Mutex(Counters())

    func pushed(samples: Int, rejected: Int, ms: Int64) {
        counters.withLock {
            $0.batches += 1; $0.samples += samples; $0.rejected += rejected
            $0.slowestMs = max($0.slowestMs, ms)
            $0.slowestEverMs = max($0.slowestEverMs, ms)
        }
    }

    /// The slowest push since the last call, reset.
    func takeSlowest() -> Int64 {
        counters.withLock { c in
            defer { c.slowestMs = 0 }
            return c.slowestMs
        }
    }

    func reportedVMs() { counters.withLock { $0.vmReports += 1 } }

    func failed(_ why: String) {
        counters.withLock { $0.errors += 1; $0.lastError = why }
    }

    var snapshot: Counters { counters.withLock { $0 } }

    /// The last error, cleared (so each progress line shows a new one at most once).
    func takeLastError() -> String? {
        counters.withLock { c in
            defer { c.lastError = nil }
            return c.lastError
        }
    }
}

/// What a simulator run did, printed at the end as one JSON line (`summary {...}`).
public struct SimulatorSummary: Codable, Sendable, Equatable {
    public var hosts = 0
    public var vms = 0
    public var runningVMs = 0
    public var rounds = 0
    /// Rounds not generated because the loop was late by more than an interval.
    public var skippedRounds = 0
    /// Batches the manager answered 2xx.
    public var batches = 0
    /// Samples the manager accepted.
    public var samples = 0
    public var rejected = 0
    /// Failed requests (transport errors, non-2xx answers).
    public var errors = 0
    /// Batches dropped unsent because the send queue was full.
    public var dropped = 0
    /// Jobs waiting or in flight when a round was due: the first round after the first, the last round.
    public var backlogStart = 0
    public var backlogEnd = 0
    public var backlogMax = 0
    /// The slowest push round trip (request to reply, ms) of the run.
    public var slowestPushMs: Int64 = 0
    public var stateChanges = 0
    public var vmReports = 0
    /// Seconds spent registering hosts and reporting VMs before the first round.
    public var setupSeconds = 0.0
    /// Seconds from the first round to the end.
    public var runSeconds = 0.0

    public init() {}
}
