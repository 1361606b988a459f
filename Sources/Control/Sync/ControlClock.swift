import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Wall time in milliseconds since the epoch and sleeping until a wall time, injected into the
/// time-driven parts of Control (host monitoring, event reconciliation) so tests can step hours
/// of pings in milliseconds. Same shape as StratusMetrics' `WallClock` (Control does not import
/// Metrics).
public protocol ControlClock: Sendable {
    func now() -> Int64
    /// Returns once `now() >= deadline`; throws `CancellationError` when the task is cancelled.
    func sleep(until deadline: Int64) async throws
}

/// The machine's real-time clock.
public struct SystemControlClock: ControlClock {
    public init() {}

    public func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func sleep(until deadline: Int64) async throws {
        let wait = deadline - now()
        if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) } else { try Task.checkCancellation() }
    }
}

/// Runs `body` in its own task and waits for it at most `milliseconds` on `clock`. Returns nil when
/// the deadline passed first; `body` is then left to finish on its own (a blocking libvirt call
/// cannot be interrupted), and its result is dropped.
func withDeadline<T: Sendable>(_ milliseconds: Int64, clock: any ControlClock,
                               _ body: @escaping @Sendable () async -> T) async -> T? {
    let slot = ContinuationSlot<T?>()
    return await withCheckedContinuation { continuation in
        slot.set(continuation)
        let timer = Task {
            try? await clock.sleep(until: clock.now() + milliseconds)
            if !Task.isCancelled { slot.resume(with: nil) }
        }
        Task {
            let value = await body()
            slot.resume(with: value)
            timer.cancel()
        }
    }
}

/// A continuation resumed by whichever of several racers comes first; later ones are ignored.
private final class ContinuationSlot<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, Never>?>(nil)

    func set(_ c: CheckedContinuation<T, Never>) { continuation.withLock { $0 = c } }

    func resume(with value: T) {
        let c = continuation.withLock { c -> CheckedContinuation<T, Never>? in
            defer { c = nil }
            return c
        }
        c?.resume(returning: value)
    }
}
