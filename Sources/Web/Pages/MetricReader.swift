import StratusMetrics

/// Reads what the pages show from the metric store: latest values per resource and chart series.
struct MetricReader: Sendable {
    let store: any MetricStore
    let clock: any WallClock
    /// Collection interval in ms: "latest" looks back three of these.
    let interval: Int64

    /// The latest value of `namespace`/`metricName` for every series, keyed by the label `key`.
    func latest(_ namespace: String, _ metricName: String, by key: String) async throws -> [String: Double] {
        let now = clock.now()
        let series = try await store.select(
            [.equal(Labels.nameKey, ZWatchName.seriesName(namespace: namespace, metricName: metricName))],
            from: now - 3 * interval, to: now)
        var out: [String: Double] = [:]
        for s in series {
            if let k = s.labels[key], let last = s.points.last { out[k] = last.value }
        }
        return out
    }

    /// Series of one metric for one resource, downsampled to `step` averages, one per label set.
    func series(_ namespace: String, _ metricName: String, label: String, value: String,
                from: Int64, to: Int64, step: Int64) async throws -> [SeriesPoints] {
        let matchers = [LabelMatcher.equal(Labels.nameKey, ZWatchName.seriesName(namespace: namespace, metricName: metricName)),
                        .equal(label, value)]
        return try await store.select(matchers, from: from, to: to).map {
            SeriesPoints(labels: $0.labels, points: downsample($0.points, step: step, .avg))
        }
    }
}

/// The time ranges the detail pages offer.
enum ChartRange: String, CaseIterable {
    case m15 = "15m", h1 = "1h", h6 = "6h", h24 = "24h", d7 = "7d"

    var milliseconds: Int64 {
        switch self {
        case .m15: 15 * 60_000
        case .h1: 3600_000
        case .h6: 6 * 3600_000
        case .h24: 24 * 3600_000
        case .d7: 7 * 24 * 3600_000
        }
    }

    /// A step giving at most ~360 points, never finer than the collection interval.
    func step(interval: Int64) -> Int64 { max(interval, milliseconds / 360) }
}
