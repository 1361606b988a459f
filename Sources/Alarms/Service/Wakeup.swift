import StratusMetrics
import Synchronization

/// A poke-able sleep for one waiting loop: `wait(until:clock:)` returns at the deadline or as soon
/// as `poke()` is called (a poke that comes while nobody waits is remembered for the next wait).
public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    /// Wakes the waiter now, or makes its next wait return at once.
    public func poke() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when poked (or already poked since the last wait) or when the task is cancelled.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.pending || Task.isCancelled {
                        s.pending = false
                        return true
                    }
                    s.waiter = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            state.withLock { s -> CheckedContinuation<Void, Never>? in
                let w = s.waiter
                s.waiter = nil
                return w
            }?.resume()
        }
    }

    /// Returns at `deadline` on `clock`, when poked, or when cancelled (then it throws).
    ///
    /// The timer is a separate task that pokes: a clock whose sleep ignores cancellation (the
    /// manual test clock) then only causes a harmless extra wake-up later.
    public func wait(until deadline: Int64, clock: any WallClock) async throws {
        if clock.now() < deadline {
            let timer = Task { [weak self] in
                try? await clock.sleep(until: deadline)
                if !Task.isCancelled { self?.poke() }
            }
            await wait()
            timer.cancel()
        } else {
            // Consume a pending poke so it does not cause an empty round later.
            state.withLock { $0.pending = false }
        }
        try Task.checkCancellation()
    }
}
