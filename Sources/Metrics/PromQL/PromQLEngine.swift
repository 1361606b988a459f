/// Evaluates the PromQL subset over any `MetricStore`, with Prometheus' semantics: selectors with
/// lookback, rate/irate/increase, `*_over_time`, sum/avg/min/max/count/topk/bottomk by/without,
/// arithmetic and comparisons. A range selector is read once for the whole query and its windows
/// slide over it; `*_over_time` uses an `AggregatingStore`'s own window aggregates when it has them.
///
/// ```swift
/// let engine = PromQLEngine(store: store)
/// let top = try await engine.instantQuery("topk(5, avg_over_time(ZStack:VM::CPUUsedUtilization[1h]))", at: now)
/// let cpu = try await engine.rangeQuery("avg_over_time(ZStack:VM::CPUUsedUtilization[5m])",
///                                        start: now - 86_400_000, end: now, step: 300_000)
/// ```
public struct PromQLEngine: Sendable {
    public let store: any MetricStore
    /// How far back an instant selector looks for the latest sample (ms).
    public let lookbackDelta: Int64
    /// The most samples one query may load; beyond it the query fails with `tooManySamples`.
    public let maxSamples: Int

    public init(store: any MetricStore, lookbackDelta: Int64 = 300_000, maxSamples: Int = 50_000_000) {
        self.store = store
        self.lookbackDelta = lookbackDelta
        self.maxSamples = maxSamples
    }

    /// Evaluates `query` at `time` (ms): a scalar, a vector (sorted by labels, or by value for
    /// topk/bottomk), a matrix for a bare range selector, or a string.
    public func instantQuery(_ query: String, at time: Int64) async throws -> PromQLValue {
        let expr = try PromQLParser.parse(query)
        let evaluator = makeEvaluator(start: time, end: time, step: 1)
        switch try await evaluator.evaluate(expr) {
        case let .scalar(v): return .scalar(Point(timestamp: time, value: v[0]))
        case let .string(s): return .string(s, at: time)
        case let .matrix(series): return .matrix(series)
        case let .vector(series, ordered):
            var samples = series.compactMap { s in
                s.values[0].map { InstantSample(labels: s.labels, point: Point(timestamp: time, value: $0)) }
            }
            if !ordered { samples.sort { $0.labels < $1.labels } }
            return .vector(samples)
        }
    }

    /// Evaluates `query` at every `t = start + k·step <= end` (ms): series sorted by labels with
    /// a point at each time they have a value; a scalar becomes one series without labels.
    public func rangeQuery(_ query: String, start: Int64, end: Int64, step: Int64) async throws -> PromQLValue {
        guard step > 0 else { throw PromQLError.execution("the step of a range query must be > 0, got \(step) ms") }
        guard end >= start else {
            throw PromQLError.execution("the end of a range query (\(end)) is before its start (\(start))")
        }
        let expr = try PromQLParser.parse(query)
        switch expr.type {
        case .scalar, .vector: break
        case .matrix, .string:
            throw PromQLError.parse(
                position: 0, message: "invalid expression type \"\(expr.type.rawValue)\" for range query, must be scalar or instant vector")
        }
        let evaluator = makeEvaluator(start: start, end: end, step: step)
        let times = evaluator.times
        switch try await evaluator.evaluate(expr) {
        case let .scalar(v):
            return .matrix([SeriesPoints(labels: Labels([:]), points: zip(times, v).map { Point(timestamp: $0, value: $1) })])
        case let .vector(series, _):
            let matrix = series.compactMap { s -> SeriesPoints? in
                let points = zip(times, s.values).compactMap { t, v in v.map { Point(timestamp: t, value: $0) } }
                return points.isEmpty ? nil : SeriesPoints(labels: s.labels, points: points)
            }
            return .matrix(matrix.sorted { $0.labels < $1.labels })
        case .string, .matrix:
            throw PromQLError.execution("a range query must evaluate to a scalar or an instant vector")
        }
    }

    /// Parses a series selector (`name{label="value"}` or `{__name__=~"…"}`) into its matchers,
    /// for `/api/v1/series` `match[]` and validation.
    public static func parseSelector(_ text: String) throws -> [LabelMatcher] {
        guard case let .vector(selector) = try PromQLParser.parse(text) else {
            throw PromQLError.parse(position: 0, message: "expected a series selector like name{label=\"value\"}")
        }
        return selector.matchers
    }

    private func makeEvaluator(start: Int64, end: Int64, step: Int64) -> PromQLEvaluator {
        PromQLEvaluator(
            store: store, start: start, end: end, step: step, lookbackDelta: lookbackDelta, maxSamples: maxSamples)
    }
}
