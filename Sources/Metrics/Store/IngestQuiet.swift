import Foundation
import Synchronization

/// Lets the store's paced background work (checkpoints, the sealing thread, the rollup pass) run in
/// the gaps between ingest bursts instead of inside them.
///
/// Agents collect on the same grid (timestamps snap to 10 s), so a fleet's samples arrive as one
/// burst a round: at 10,000 hosts ~4 M samples in the first ~3 s of every 10 s. The p99 ingest lag
/// is how fast that burst is absorbed, and every slice of background work run inside it (CPU and
/// the store lock) made it slower. A background slice therefore waits, after its rest, until no
/// append has arrived for `gap`. When arrivals never pause (agents not on a common grid) a wait
/// gives up after `limit`, and slices then stop waiting for `backoff`, so the work is never held up
/// for long.
///
/// `limit` is longer than a collection round (10 s by default): a burst lasts as long as the p99
/// lag, and with a 5 s limit a burst of just over 5 s made the waits give up and background work
/// run inside the next minute's bursts, which lengthened them further.
///
/// Arrivals that never pause are of two kinds, told apart by the samples' own times. Agents off a
/// common grid send on time: the backoff lets background work run beside them. A backlog (the
/// store fell behind its agents: the batches' newest samples are older than `lateAfter`) is
/// different: background work run inside it slows the ingest further, and at 10,000 hosts after
/// an hour boundary that fed on itself (scale run O: waits gave up, the rollup pass ran beside the
/// pushes for a minute at a time, and the p99 lag climbed from 8 s to 27 s). While the ingest is
/// behind, a wait that gives up starts no backoff: each slice waits its `limit` again, so the
/// background work yields until the backlog is absorbed, for at most `backlogDeferral`; a backlog
/// that outlasts that gets the backoff as before (memory and the WAL must not grow without end).
final class IngestQuiet: Sendable {
    /// Quiet means no append for this long (ns).
    let gap: UInt64
    /// The longest one slice waits for quiet (ns).
    let limit: UInt64
    /// After a wait gave up, slices do not wait for this long (ns).
    let backoff: UInt64
    /// Uptime (ns) of the last append.
    private let lastAppend = Atomic<UInt64>(0)
    /// Uptime (ns) before which slices do not wait (a wait gave up).
    private let noWaitUntil = Atomic<UInt64>(0)
    /// Waits that gave up at `limit` since the store opened (`TSDBStats.quietWaitsGivenUp`).
    private let givenUp = Atomic<Int>(0)
    /// A batch whose newest sample is older than this (ms, by the wall clock) arrived late.
    let lateAfter: Int64
    /// The longest a backlog holds background work off (ns), from its first give-up.
    let backlogDeferral: UInt64
    /// Uptime (ns) of the last late batch; 0 when none came.
    private let lastLate = Atomic<UInt64>(0)
    /// Uptime (ns) of the first give-up of the current backlog; 0 when none.
    private let backlogSince = Atomic<UInt64>(0)
    /// Waits that gave up inside a backlog and started no backoff (`TSDBStats.quietWaitsDeferredToBacklog`).
    private let deferred = Atomic<Int>(0)

    init(gap: Double = 0.25, limit: Double = 12, backoff: Double = 60, lateAfter: Double = 10, backlogDeferral: Double = 300) {
        self.gap = UInt64(gap * 1e9)
        self.limit = UInt64(limit * 1e9)
        self.backoff = UInt64(backoff * 1e9)
        self.lateAfter = Int64(lateAfter * 1000)
        self.backlogDeferral = UInt64(backlogDeferral * 1e9)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Records an append (called by every append, outside the store lock).
    func noteAppend() { lastAppend.store(Self.now(), ordering: .relaxed) }

    /// Records the newest sample time (ms) of a batch just appended, against the wall clock `wallNow` (ms).
    func noteNewest(_ newest: Int64, wallNow: Int64) {
        if wallNow &- newest > lateAfter { lastLate.store(Self.now(), ordering: .relaxed) }
    }

    /// True when a late batch arrived less than a second before `now` (or after it): the store is
    /// behind its agents.
    func isBehind(at now: UInt64 = IngestQuiet.now()) -> Bool {
        let late = lastLate.load(ordering: .relaxed)
        return late != 0 && now < late &+ 1_000_000_000
    }

    /// Waits that gave up inside a backlog and started no backoff, since the store opened.
    var waitsDeferredToBacklog: Int { deferred.load(ordering: .relaxed) }

    /// Whether a wait giving up at `now` defers to a backlog (starts no backoff): the ingest is
    /// behind and its backlog has held background work off for less than `backlogDeferral`.
    private func defersToBacklog(at now: UInt64) -> Bool {
        guard isBehind(at: now) else {
            backlogSince.store(0, ordering: .relaxed)
            return false
        }
        var since = backlogSince.load(ordering: .relaxed)
        if since == 0 {
            since = now
            backlogSince.store(now, ordering: .relaxed)
        }
        return now &- since < backlogDeferral
    }

    /// Nanoseconds from `now` until quiet if no append arrives meanwhile; 0 when it is quiet then.
    func untilQuiet(at now: UInt64) -> UInt64 {
        let quietAt = lastAppend.load(ordering: .relaxed) &+ gap
        return now >= quietAt ? 0 : quietAt - now
    }

    /// `wait` for async callers, without holding a thread: returns once quiet, after `limit`
    /// (ns), or on cancellation. Gives up without counting or backing off: its caller (an alarm
    /// round) has its own deadline.
    func lull(limit: UInt64) async {
        let deadline = Self.now() &+ limit
        while !Task.isCancelled {
            let now = Self.now(), left = untilQuiet(at: now)
            if left == 0 || now >= deadline { return }
            try? await Task.sleep(nanoseconds: min(left, deadline - now, 50_000_000))
        }
    }

    /// Waits that gave up at `limit` since the store opened.
    var waitsGivenUp: Int { givenUp.load(ordering: .relaxed) }

    /// Returns once no append has arrived for `gap`, or after `limit` (then, unless the ingest is
    /// in a backlog, stops waiting for `backoff`). Returns at once when `stop` says so (the store is closing).
    func wait(stop: () -> Bool = { false }) {
        let start = Self.now()
        guard start >= noWaitUntil.load(ordering: .relaxed) else { return }
        while !stop() {
            let now = Self.now(), left = untilQuiet(at: now)
            if left == 0 {
                // A gap: whatever backlog there was is absorbed.
                backlogSince.store(0, ordering: .relaxed)
                return
            }
            if now - start >= limit {
                if defersToBacklog(at: now) {
                    deferred.add(1, ordering: .relaxed)
                    return
                }
                noWaitUntil.store(now + backoff, ordering: .relaxed)
                givenUp.add(1, ordering: .relaxed)
                return
            }
            Thread.sleep(forTimeInterval: Double(min(left, start + limit - now, 50_000_000)) / 1e9)
        }
    }
}
