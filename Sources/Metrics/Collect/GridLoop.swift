/// Calls `body` with each multiple of `interval` as `clock` reaches it, until the task is cancelled
/// (then it throws `CancellationError`). With `startNow`, the first call comes at once, stamped with
/// the current slot. A call that overruns makes the loop skip the missed slots rather than pile them
/// up; `onSkip` hears how many.
public func runOnGrid(clock: any WallClock, interval: Int64, startNow: Bool,
                      onSkip: (Int64) -> Void = { _ in },
                      _ body: (Int64) async throws -> Void) async throws {
    precondition(interval > 0, "interval must be positive")
    let current = clock.now() / interval * interval
    var next = current + interval
    if startNow { try await body(current) }
    while !Task.isCancelled {
        try await clock.sleep(until: next)
        try await body(next)
        next += interval
        let now = clock.now()
        if next <= now {
            let skipped = (now - next) / interval + 1
            onSkip(skipped)
            next += skipped * interval
        }
    }
    throw CancellationError()
}
