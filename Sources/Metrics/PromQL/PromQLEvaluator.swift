/// Evaluates a parsed expression at all evaluation times of one query. One instance per query;
/// it is confined to the task running that query.
final class PromQLEvaluator {
    let store: any MetricStore
    /// The evaluation times, `start, start + step, …, end`.
    let times: [Int64]
    let start: Int64
    let end: Int64
    let step: Int64
    let lookbackDelta: Int64
    let maxSamples: Int
    /// Samples loaded from the store so far, checked against `maxSamples`.
    private(set) var loadedSamples = 0

    init(store: any MetricStore, start: Int64, end: Int64, step: Int64, lookbackDelta: Int64, maxSamples: Int) {
        self.store = store
        self.start = start
        self.end = end
        self.step = step
        self.lookbackDelta = lookbackDelta
        self.maxSamples = maxSamples
        times = Array(evaluationTimes(start: start, end: end, step: step))
    }

    func evaluate(_ e: Expr) async throws -> StepValue {
        switch e {
        case let .number(v): return .scalar(Array(repeating: v, count: times.count))
        case let .string(s): return .string(s)
        case let .paren(inner): return try await evaluate(inner)
        case let .vector(selector): return .vector(try await instantSelector(selector), ordered: false)
        case let .matrix(selector, range): return .matrix(try await rawRange(selector, range: range))
        case let .negate(inner): return try negate(try await evaluate(inner))
        case let .call(f, args): return try await call(f, args)
        case let .aggregate(op, parameter, inner, grouping):
            return try await aggregate(op, parameter: parameter, inner, grouping)
        case let .binary(op, lhs, rhs, matching, returnBool):
            return try binary(op, try await evaluate(lhs), try await evaluate(rhs), matching: matching, returnBool: returnBool)
        }
    }

    // MARK: Store access

    /// Every series matching `matchers` with points in `[from, to]`, counted against `maxSamples`.
    func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) async throws -> [SeriesPoints] {
        let series: [SeriesPoints]
        do {
            series = try await store.select(matchers, from: from, to: to)
        } catch let error as PromQLError {
            throw error
        } catch {
            throw PromQLError.execution("reading series \(matchers) failed: \(error)")
        }
        try count(series.reduce(0) { $0 + $1.points.count })
        return series
    }

    func count(_ samples: Int) throws {
        loadedSamples += samples
        if loadedSamples > maxSamples { throw PromQLError.tooManySamples(limit: maxSamples) }
    }

    // MARK: Selectors

    /// `name{…}`: at each time t the latest sample in `(t - lookbackDelta, t]` (shifted by offset).
    private func instantSelector(_ selector: VectorSelector) async throws -> [StepSeries] {
        let series = try await select(
            selector.matchers, from: start - selector.offset - lookbackDelta + 1, to: end - selector.offset)
        var out: [StepSeries] = []
        out.reserveCapacity(series.count)
        for s in series {
            let pts = s.points
            var values = [Double?](repeating: nil, count: times.count)
            var next = 0  // first point after the current time
            var any = false
            for (k, t) in times.enumerated() {
                let at = t - selector.offset
                while next < pts.count && pts[next].timestamp <= at { next += 1 }
                if next > 0 && pts[next - 1].timestamp > at - lookbackDelta {
                    values[k] = pts[next - 1].value
                    any = true
                }
            }
            if any { out.append(StepSeries(labels: s.labels, values: values)) }
        }
        return out
    }

    /// `name{…}[range]` as a result: the raw points in `(t - range, t]` at the (single) time t.
    private func rawRange(_ selector: VectorSelector, range: Int64) async throws -> [SeriesPoints] {
        guard times.count == 1 else {
            throw PromQLError.execution("a range vector cannot be the result of a range query; wrap it in a function like rate(…)")
        }
        let at = times[0] - selector.offset
        return try await select(selector.matchers, from: at - range + 1, to: at).filter { !$0.points.isEmpty }
    }

    /// Calls `body` for each series and time with the points in the window `(t - range, t]`
    /// (shifted by offset), sliding two pointers over points read once for the whole query.
    func slidingWindows(
        _ selector: VectorSelector, range: Int64,
        _ body: (_ window: ArraySlice<Point>, _ windowEnd: Int64) -> Double?
    ) async throws -> [StepSeries] {
        let series = try await select(selector.matchers, from: start - selector.offset - range + 1, to: end - selector.offset)
        var out: [StepSeries] = []
        out.reserveCapacity(series.count)
        for s in series {
            let pts = s.points
            var values = [Double?](repeating: nil, count: times.count)
            var lo = 0
            var hi = 0
            var any = false
            for (k, t) in times.enumerated() {
                let at = t - selector.offset
                while hi < pts.count && pts[hi].timestamp <= at { hi += 1 }
                while lo < hi && pts[lo].timestamp <= at - range { lo += 1 }
                if let v = body(pts[lo..<hi], at) {
                    values[k] = v
                    any = true
                }
            }
            if any { out.append(StepSeries(labels: s.labels, values: values)) }
        }
        return out
    }

    /// `*_over_time(selector[range])`: from the store's own window aggregates when it is an
    /// `AggregatingStore` (chunk statistics and rollups), else from raw points.
    func windowAggregates(_ selector: VectorSelector, range: Int64) async throws -> [SeriesWindows] {
        let from = start - selector.offset
        let to = end - selector.offset
        if let aggregating = store as? any AggregatingStore {
            let windows: [SeriesWindows]
            do {
                // One evaluation time (an instant query): any step gives the same windows; the
                // range as step lets the store answer from rollups as coarse as the window.
                let storeStep = times.count == 1 ? Swift.max(step, range) : step
                windows = try await aggregating.aggregateWindows(
                    selector.matchers, start: from, end: to, step: storeStep, window: range)
            } catch let error as PromQLError {
                throw error
            } catch {
                throw PromQLError.execution("aggregating series \(selector.matchers) failed: \(error)")
            }
            try count(windows.reduce(0) { n, s in n + s.windows.reduce(0) { $0 + ($1 == nil ? 0 : 1) } })
            return windows
        }
        let raw = try await select(selector.matchers, from: from - range + 1, to: to)
        return aggregateWindows(raw, start: from, end: to, step: step, window: range)
    }
}
