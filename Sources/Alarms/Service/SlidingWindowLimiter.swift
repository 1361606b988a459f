/// At most `limit` events per `window` ms per key (a sliding window over the event times). Pure value.
///
/// The dispatcher keys DingTalk robots by webhook URL, so two endpoints on one robot share its 20/min.
public struct SlidingWindowLimiter: Sendable, Equatable {
    public let limit: Int
    public let window: Int64
    private var events: [String: [Int64]] = [:]

    public init(limit: Int, window: Int64) {
        self.limit = max(1, limit)
        self.window = window
    }

    /// Events of `key` still inside the window at `now`.
    public mutating func used(_ key: String, now: Int64) -> Int {
        prune(key, now: now)
        return events[key]?.count ?? 0
    }

    /// Takes up to `wanted` slots at `now`; returns how many were granted (0 when the window is full).
    public mutating func reserve(_ key: String, wanted: Int, now: Int64) -> Int {
        prune(key, now: now)
        let granted = max(0, min(wanted, limit - (events[key]?.count ?? 0)))
        if granted > 0 { events[key, default: []].append(contentsOf: repeatElement(now, count: granted)) }
        return granted
    }

    /// When the next slot frees for `key` (`now` when one is free already).
    public mutating func nextFree(_ key: String, now: Int64) -> Int64 {
        prune(key, now: now)
        guard let times = events[key], times.count >= limit else { return now }
        return times[times.count - limit] + window
    }

    private mutating func prune(_ key: String, now: Int64) {
        guard var times = events[key] else { return }
        let firstInside = times.firstIndex { $0 + window > now } ?? times.count
        if firstInside > 0 {
            times.removeFirst(firstInside)
            events[key] = times.isEmpty ? nil : times
        }
    }
}
