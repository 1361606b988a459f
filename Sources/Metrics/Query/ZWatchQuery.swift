/// A ZWatch `GET /zwatch/metrics` range query: one metric, label matchers, a time range and a
/// period; each series is averaged per period. All times in milliseconds.
///
/// ```swift
/// let q = ZWatchQuery(namespace: "ZStack/Host", metricName: "CPUAllUsedUtilization",
///                     matchers: [.equal("HostUuid", uuid)], start: t0, end: t0 + 3_600_000, period: 60_000)
/// let points = try await q.run(on: store)
/// ```
public struct ZWatchQuery: Sendable {
    /// The most points one series may produce (ZStack's limit).
    public static let maxPointsPerSeries: Int64 = 11_000

    public var namespace: String
    public var metricName: String
    public var matchers: [LabelMatcher]
    public var start: Int64
    public var end: Int64
    public var period: Int64

    public init(namespace: String, metricName: String, matchers: [LabelMatcher], start: Int64, end: Int64, period: Int64) {
        self.namespace = namespace
        self.metricName = metricName
        self.matchers = matchers
        self.start = start
        self.end = end
        self.period = period
    }

    /// Validates (start ≥ 0, end ≥ start, period > 0, at most `maxPointsPerSeries` periods), selects
    /// `[start, end]`, and averages each series per period (buckets aligned to multiples of
    /// `period` since the epoch, stamped with their start). Ordered by labels, then time.
    /// Throws `MetricsError.invalidQuery` naming the field at fault.
    public func run(on store: any MetricStore) async throws -> [ZWatchDataPoint] {
        try validate()
        let name = ZWatchName.seriesName(namespace: namespace, metricName: metricName)
        let series = try await store.select(matchers + [.equal(Labels.nameKey, name)], from: start, to: end)
        var result: [ZWatchDataPoint] = []
        for s in series.sorted(by: { $0.labels < $1.labels }) {
            let labels = s.labels.withoutName
            for p in downsample(s.points, step: period, .avg) {
                result.append(ZWatchDataPoint(value: p.value, time: p.timestamp, labels: labels))
            }
        }
        return result
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

/// One averaged point of one series, as ZWatch replies carry it.
public struct ZWatchDataPoint: Sendable, Equatable {
    public var value: Double
    /// Bucket start, ms since the epoch.
    public var time: Int64
    /// The series' labels without `__name__`.
    public var labels: [String: String]

    public init(value: Double, time: Int64, labels: [String: String]) {
        self.value = value
        self.time = time
        self.labels = labels
    }
}
