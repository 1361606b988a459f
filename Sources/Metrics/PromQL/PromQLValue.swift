/// The result of a PromQL query, shaped like the Prometheus HTTP API's `resultType`s.
///
/// ```swift
/// let v = try await engine.instantQuery("sum(up)", at: 60_000)
/// if case .vector(let samples) = v { print(samples.first?.point.value ?? .nan) }
/// ```
public enum PromQLValue: Sendable, Equatable {
    /// A single number at the evaluation time.
    case scalar(Point)
    /// One sample per series at the evaluation time.
    case vector([InstantSample])
    /// Series with points over time: a range query's answer or an instant query of a range selector.
    case matrix([SeriesPoints])
    /// A string literal at the evaluation time.
    case string(String, at: Int64)
}

/// One series' value at an instant query's evaluation time.
public struct InstantSample: Sendable, Equatable {
    public var labels: Labels
    public var point: Point

    public init(labels: Labels, point: Point) {
        self.labels = labels
        self.point = point
    }
}
