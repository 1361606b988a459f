/// How `downsample` folds the points of one bucket into one value.
public enum RangeFunction: String, Sendable, CaseIterable {
    case avg, min, max, sum, count
    /// The value of the latest point in the bucket.
    case last
}

/// Folds `points` into buckets of `step` milliseconds aligned to multiples of `step` since the
/// epoch. A bucket's time is its start; empty buckets are omitted; the result is in time order.
/// `step` must be > 0 (callers validate user input first, as `ZWatchQuery.run` does).
///
/// ```swift
/// downsample([Point(timestamp: 10_000, value: 1), Point(timestamp: 70_000, value: 3)], step: 60_000, .avg)
/// // [Point(timestamp: 0, value: 1), Point(timestamp: 60_000, value: 3)]
/// ```
public func downsample(_ points: [Point], step: Int64, _ function: RangeFunction) -> [Point] {
    precondition(step > 0, "downsample step must be > 0, got \(step)")
    var buckets: [Int64: Accumulator] = [:]
    for p in points {
        // Floor to the bucket start, also for timestamps before 1970.
        let start = p.timestamp - ((p.timestamp % step) + step) % step
        buckets[start, default: Accumulator()].add(p)
    }
    return buckets.sorted { $0.key < $1.key }.map { Point(timestamp: $0.key, value: $0.value.result(function)) }
}

/// Running aggregates of one bucket.
private struct Accumulator {
    var count = 0
    var sum = 0.0
    var min = Double.infinity
    var max = -Double.infinity
    var last: Point?

    mutating func add(_ p: Point) {
        count += 1
        sum += p.value
        min = Swift.min(min, p.value)
        max = Swift.max(max, p.value)
        if last.map({ p.timestamp >= $0.timestamp }) ?? true { last = p }
    }

    func result(_ function: RangeFunction) -> Double {
        switch function {
        case .avg: sum / Double(count)
        case .min: min
        case .max: max
        case .sum: sum
        case .count: Double(count)
        case .last: last!.value
        }
    }
}
