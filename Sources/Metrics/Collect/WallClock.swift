import Synchronization

/// Wall time in milliseconds since the epoch, and sleeping until a wall time. Injected into
/// everything time-driven so tests can run hours of collection in milliseconds.
public protocol WallClock: Sendable {
    func now() -> Int64
    /// Returns once `now() >= deadline`; throws `CancellationError` when the task is cancelled.
    func sleep(until deadline: Int64) async throws
}

/// The machine's real-time clock.
public struct SystemWallClock: WallClock {
    public init() {}

    public func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func sleep(until deadline: Int64) async throws {
        let wait = deadline - now()
        if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) }
    }
}

/// A clock that moves only when a test calls `advance(to:)`; sleepers wake as their deadline passes.
public final class ManualWallClock: WallClock {
    private struct State {
        var now: Int64
        var sleepers: [(deadline: Int64, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private let state: Mutex<State>

    public init(start: Int64) { state = Mutex(State(now: start)) }

    public func now() -> Int64 { state.withLock { $0.now } }

    /// Number of tasks currently sleeping on this clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func sleep(until deadline: Int64) async throws {
        try Task.checkCancellation()
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.now >= deadline { return true }
                s.sleepers.append((deadline, c))
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has passed.
    public func advance(to time: Int64) {
        let woken = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.now = max(s.now, time)
            let due = s.sleepers.filter { $0.deadline <= s.now }
            s.sleepers.removeAll { $0.deadline <= s.now }
            return due.map(\.continuation)
        }
        for c in woken { c.resume() }
    }
}

#if canImport(Glibc)
import Glibc
#endif
