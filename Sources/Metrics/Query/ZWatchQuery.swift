/// A ZWatch `GET /zwatch/metrics` query: one metric, label matchers, a time range, a period,
/// value conditions and post-processing functions. All times in milliseconds.
///
/// It is a Prometheus range query, as ZStack runs it: for every `t = start + k·period <= end`, each
/// series' samples in the window `(t - period, t]` are averaged (`avg_over_time(m[period])`), and
/// the point is stamped `t`. Windows with no sample produce no point. Then `valueConditions` keep
/// the points that satisfy all of them, and `functions` transform the list in order.
///
/// ```swift
/// let q = ZWatchQuery(namespace: "ZStack/Host", metricName: "CPUAllUsedUtilization",
///                     matchers: [.equal("HostUuid", uuid)], start: t0, end: t0 + 3_600_000, period: 60_000,
///                     valueConditions: [try ZWatchValueCondition.parse("value>80")],
///                     functions: [try ZWatchFunction.parse("top(num=5)")])
/// let points = try await q.run(on: store)
/// ```
public struct ZWatchQuery: Sendable {
    /// The most periods one query may span (ZStack's and Prometheus' 11,000-point limit).
    public static let maxPointsPerSeries: Int64 = 11_000

    public var namespace: String
    public var metricName: String
    public var matchers: [LabelMatcher]
    public var start: Int64
    public var end: Int64
    public var period: Int64
    /// Every condition must hold for a point to be kept (`value>80&value<=95`).
    public var valueConditions: [ZWatchValueCondition]
    /// Applied in order after the value conditions.
    public var functions: [ZWatchFunction]

    public init(namespace: String, metricName: String, matchers: [LabelMatcher], start: Int64, end: Int64, period: Int64,
                valueConditions: [ZWatchValueCondition] = [], functions: [ZWatchFunction] = []) {
        self.namespace = namespace
        self.metricName = metricName
        self.matchers = matchers
        self.start = start
        self.end = end
        self.period = period
        self.valueConditions = valueConditions
        self.functions = functions
    }

    /// Validates, averages every matching series per window, then filters and applies the
    /// functions. Without functions the points are ordered by labels, then time.
    /// Throws `MetricsError.invalidQuery` naming the field at fault.
    public func run(on store: any MetricStore) async throws -> [ZWatchDataPoint] {
        try validate()
        let name = ZWatchName.seriesName(namespace: namespace, metricName: metricName)
        let all = matchers + [.equal(Labels.nameKey, name)]
        let windows: [SeriesWindows]
        if let fast = store as? any AggregatingStore {
            windows = try await fast.aggregateWindows(all, start: start, end: end, step: period, window: period)
        } else {
            // The first window is (start - period, start]; select is inclusive on both ends.
            let raw = try await store.select(all, from: start - period + 1, to: end)
            windows = aggregateWindows(raw, start: start, end: end, step: period, window: period)
        }
        var points: [ZWatchDataPoint] = []
        for s in windows.sorted(by: { $0.labels < $1.labels }) {
            let labels = s.labels.withoutName
            for (k, w) in s.windows.enumerated() {
                guard let w else { continue }
                points.append(ZWatchDataPoint(value: w.average, time: start + Int64(k) * period, labels: labels))
            }
        }
        points = points.filter { p in valueConditions.allSatisfy { $0.matches(p.value) } }
        for f in functions { points = f.apply(points) }
        return points
    }

    /// Throws `MetricsError.invalidQuery` for the first field out of range.
    public func validate() throws {
        guard !namespace.isEmpty else { throw MetricsError.invalidQuery(field: "namespace", reason: "must not be empty, e.g. ZStack/VM") }
        guard !metricName.isEmpty else { throw MetricsError.invalidQuery(field: "metricName", reason: "must not be empty, e.g. CPUUsedUtilization") }
        guard start >= 0 else {
            throw MetricsError.invalidQuery(field: "startTime", reason: "must be ≥ 0 (ms since 1970), got \(start)")
        }
        guard end >= start else {
            throw MetricsError.invalidQuery(field: "endTime", reason: "end \(end) is before start \(start)")
        }
        guard period > 0 else {
            throw MetricsError.invalidQuery(field: "period", reason: "must be > 0, got \(period)")
        }
        let points = (end - start) / period
        guard points <= Self.maxPointsPerSeries else {
            throw MetricsError.invalidQuery(
                field: "period",
                reason: "\(points) points per series exceeds \(Self.maxPointsPerSeries); raise the period to at least \((end - start) / Self.maxPointsPerSeries + 1) ms or narrow the time range")
        }
    }
}

/// One point of a ZWatch reply: a window average (or what a function made of it).
public struct ZWatchDataPoint: Sendable, Equatable {
    public var value: Double
    /// The window's end, ms since the epoch: the point averages `(time - period, time]`.
    public var time: Int64
    /// The series' labels without `__name__` (after `average`/`sum`, only the groupBy labels).
    public var labels: [String: String]

    public init(value: Double, time: Int64, labels: [String: String]) {
        self.value = value
        self.time = time
        self.labels = labels
    }
}
