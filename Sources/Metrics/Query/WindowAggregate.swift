/// count, sum, min, max and last of the samples in one window: what `avg/min/max/sum/count/last_over_time`
/// need, and what chunk headers and rollup buckets store, so whole chunks and buckets combine
/// without decoding.
///
/// NaN follows Prometheus: it propagates through `sum` (and so `avg`), while `min` and `max`
/// skip it unless every sample is NaN.
public struct WindowAggregate: Sendable, Equatable {
    public var count: Int
    public var sum: Double
    public var min: Double
    public var max: Double
    /// The value of the latest sample.
    public var last: Double

    public init(count: Int, sum: Double, min: Double, max: Double, last: Double) {
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
        self.last = last
    }

    /// The aggregate of one sample.
    public init(_ value: Double) {
        self.init(count: 1, sum: value, min: value, max: value, last: value)
    }

    /// The aggregate of `points` in order, or nil when there are none.
    public static func of<C: Collection>(_ points: C) -> WindowAggregate? where C.Element == Point {
        var it = points.makeIterator()
        guard let first = it.next() else { return nil }
        var a = WindowAggregate(first.value)
        while let p = it.next() { a.add(p.value) }
        return a
    }

    /// Adds a sample that comes after every sample already in.
    public mutating func add(_ value: Double) {
        count += 1
        sum += value
        if value < min || min.isNaN { min = value }
        if value > max || max.isNaN { max = value }
        last = value
    }

    /// Adds an aggregate of samples that all come after every sample already in.
    public mutating func merge(_ later: WindowAggregate) {
        count += later.count
        sum += later.sum
        if later.min < min || min.isNaN { min = later.min }
        if later.max > max || max.isNaN { max = later.max }
        last = later.last
    }

    /// `sum / count`.
    public var average: Double { sum / Double(count) }

    /// The value `function` asks for.
    public func value(_ function: RangeFunction) -> Double {
        switch function {
        case .avg: average
        case .min: min
        case .max: max
        case .sum: sum
        case .count: Double(count)
        case .last: last
        }
    }
}

/// One series and its aggregate per evaluation time (`windows[k]` for `start + k·step`; nil where
/// the window holds no sample).
public struct SeriesWindows: Sendable, Equatable {
    public var labels: Labels
    public var windows: [WindowAggregate?]

    public init(labels: Labels, windows: [WindowAggregate?]) {
        self.labels = labels
        self.windows = windows
    }
}

/// A store that answers window aggregates itself, from chunk statistics and rollups, without
/// returning every raw sample. Its answers equal `aggregateWindows(_:start:end:step:window:)`
/// over the raw samples (up to float summation order); the conformance suite checks that.
public protocol AggregatingStore: MetricStore {
    /// For each series matching `matchers` with a sample in some window: the aggregate of its
    /// samples in `(t - window, t]` for every `t = start + k·step <= end`, as PromQL's
    /// `*_over_time(x[window])` sees them. Series are sorted by labels.
    func aggregateWindows(
        _ matchers: [LabelMatcher], start: Int64, end: Int64, step: Int64, window: Int64
    ) async throws -> [SeriesWindows]
}

/// The evaluation times of a range query: `start, start + step, …` up to and including `end`.
public func evaluationTimes(start: Int64, end: Int64, step: Int64) -> StrideThrough<Int64> {
    Swift.stride(from: start, through: end, by: Int(step))
}

/// The reference answer from raw points: for every `t = start + k·step <= end`, the aggregate of
/// `points` in `(t - window, t]`. Points must be in time order. Series with no sample in any
/// window are left out.
public func aggregateWindows(
    _ series: [SeriesPoints], start: Int64, end: Int64, step: Int64, window: Int64
) -> [SeriesWindows] {
    precondition(step > 0 && window > 0, "step and window must be positive")
    var result: [SeriesWindows] = []
    for s in series {
        var windows: [WindowAggregate?] = []
        var any = false
        // Two pointers: [lo, hi) is the slice of points inside (t - window, t].
        var lo = 0
        var hi = 0
        let pts = s.points
        for t in evaluationTimes(start: start, end: end, step: step) {
            while hi < pts.count && pts[hi].timestamp <= t { hi += 1 }
            while lo < hi && pts[lo].timestamp <= t - window { lo += 1 }
            let a = WindowAggregate.of(pts[lo..<hi])
            if a != nil { any = true }
            windows.append(a)
        }
        if any { result.append(SeriesWindows(labels: s.labels, windows: windows)) }
    }
    return result
}
