/// Deltas of counters that only grow (bytes, packets, requests, CPU nanoseconds), between two
/// reads, keyed by a free-form name (`block:vda:rd.reqs`, `cpu.time`, …).
///
/// Each read records every counter it saw with `delta(_:_:now:)` (or `rebase(_:_:now:)`), then
/// calls `finishRead()`: counters not seen in that read are forgotten (a device that went away),
/// counters seen for the first time have no delta yet (a device that appeared). A counter whose
/// value went down was reset (a VM restart, a driver reload, a 32-bit wrap: no wrap is assumed):
/// it is re-based and gives no delta for that read. Each counter keeps the wall time of its own
/// last read, so a device that appears mid-way gets its own elapsed time.
struct CounterRates: Sendable {
    /// One counter's value and the wall time (ms) it was read at.
    struct Reading: Sendable, Equatable {
        var value: Double
        var at: Int64
    }

    /// A counter's growth between two reads.
    struct Delta: Sendable, Equatable {
        var value: Double
        var elapsedMs: Int64

        /// The growth per second.
        var perSecond: Double { value / (Double(elapsedMs) / 1000) }
    }

    private var previous: [String: Reading] = [:]
    private var current: [String: Reading] = [:]

    /// Counters kept from the last finished read.
    var trackedCount: Int { previous.count }

    /// The value `key` had at the last finished read.
    func previousValue(_ key: String) -> Double? { previous[key]?.value }

    /// Records `value` for `key` read at `now` and returns its growth since the last finished
    /// read; nil on a first read, a value that went down (re-based) or when no time passed.
    mutating func delta(_ key: String, _ value: Double, now: Int64) -> Delta? {
        current[key] = Reading(value: value, at: now)
        guard let before = previous[key], value >= before.value, now > before.at else { return nil }
        return Delta(value: value - before.value, elapsedMs: now - before.at)
    }

    /// Records `value` for `key` as the new base without a delta (e.g. the whole VM restarted).
    mutating func rebase(_ key: String, _ value: Double, now: Int64) {
        current[key] = Reading(value: value, at: now)
    }

    /// Ends a read: what it recorded becomes the base of the next one; the rest is forgotten.
    mutating func finishRead() {
        previous = current
        current = [:]
    }
}
