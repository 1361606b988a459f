import StratusMetrics

/// What one instance's samples in the period `(now - period, now]` come to, as the state machine
/// needs it: how many there are, whether every one breaches, and the newest value.
///
/// NaN samples never breach (so one NaN keeps an instance out of `Alarm`).
public struct AlarmEvidence: Sendable, Equatable {
    /// Samples in the period.
    public var count: Int
    /// True when `count > 0` and every sample breaches the threshold.
    public var allBreach: Bool
    /// The newest sample's value (nil when `count == 0`).
    public var last: Double?

    public init(count: Int, allBreach: Bool, last: Double?) {
        self.count = count
        self.allBreach = count > 0 && allBreach
        self.last = count > 0 ? last : nil
    }

    /// No sample in the period.
    public static let empty = AlarmEvidence(count: 0, allBreach: false, last: nil)

    /// The evidence of `points` (in time order) that lie in `(now - periodMs, now]`; points outside
    /// are ignored, so a caller may pass a wider window.
    public init(points: some Collection<Point>, from now: Int64, periodMs: Int64,
                _ op: ComparisonOperator, threshold: Double) {
        var count = 0
        var all = true
        var last: Double?
        let lo = now - periodMs
        for p in points where p.timestamp > lo && p.timestamp <= now {
            count += 1
            if all && !op.breaches(p.value, threshold: threshold) { all = false }
            last = p.value
        }
        self.init(count: count, allBreach: all, last: last)
    }

    /// The evidence of a window aggregate (count, sum, min, max, last). Every sample breaches a
    /// `>`/`>=` threshold when the minimum does, a `<`/`<=` one when the maximum does; a NaN sample
    /// makes `sum` NaN (min/max skip NaN), and so counts as not breaching.
    public init(_ aggregate: WindowAggregate, _ op: ComparisonOperator, threshold: Double) {
        let extreme: Double
        switch op {
        case .greaterThan, .greaterThanOrEqualTo: extreme = aggregate.min
        case .lessThan, .lessThanOrEqualTo: extreme = aggregate.max
        }
        let all = !aggregate.sum.isNaN && op.breaches(extreme, threshold: threshold)
        self.init(count: aggregate.count, allBreach: all, last: aggregate.last)
    }
}
