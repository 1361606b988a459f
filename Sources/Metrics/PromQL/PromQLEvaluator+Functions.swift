extension PromQLEvaluator {
    func call(_ f: PromQLFunction, _ args: [Expr]) async throws -> StepValue {
        switch f {
        case .time:
            return .scalar(times.map { Double($0) / 1000 })
        case .vector:
            let s = try scalarValues(try await evaluate(args[0]))
            return .vector([StepSeries(labels: Labels([:]), values: s.map { $0 })], ordered: false)
        case .scalar:
            let series = try vectorSeries(try await evaluate(args[0]))
            let values: [Double] = times.indices.map { k in
                var found: Double?
                var n = 0
                for s in series {
                    if let v = s.values[k] {
                        found = v
                        n += 1
                    }
                }
                return n == 1 ? found! : .nan
            }
            return .scalar(values)
        case .rate, .increase, .delta:
            let (selector, range) = try rangeArgument(args[0], f)
            let series = try await slidingWindows(selector, range: range) { window, at in
                PromQLRate.extrapolated(
                    window, rangeStart: at - range, rangeEnd: at, range: range, isCounter: f != .delta, isRate: f == .rate)
            }
            return .vector(try mergeSameLabels(series.map { StepSeries(labels: $0.labels.droppingName(), values: $0.values) }), ordered: false)
        case .irate, .idelta:
            let (selector, range) = try rangeArgument(args[0], f)
            let series = try await slidingWindows(selector, range: range) { window, _ in
                PromQLRate.instant(window, isRate: f == .irate)
            }
            return .vector(try mergeSameLabels(series.map { StepSeries(labels: $0.labels.droppingName(), values: $0.values) }), ordered: false)
        case .avgOverTime, .minOverTime, .maxOverTime, .sumOverTime, .countOverTime, .lastOverTime:
            let (selector, range) = try rangeArgument(args[0], f)
            let function = f.windowFunction!
            let windows = try await windowAggregates(selector, range: range)
            let series = windows.map { w in
                StepSeries(
                    labels: f == .lastOverTime ? w.labels : w.labels.droppingName(),
                    values: w.windows.map { $0?.value(function) })
            }
            // The store's series are distinct; without `__name__` they stay so when they shared one.
            let distinct = f == .lastOverTime || windows.allSatisfy { $0.labels.name == windows[0].labels.name }
            return .vector(distinct ? series : try mergeSameLabels(series), ordered: false)
        case .abs, .ceil, .floor, .sqrt, .exp, .ln, .log2, .log10:
            let math = f.mathFunction!
            let series = try vectorSeries(try await evaluate(args[0]))
            return .vector(
                try mergeSameLabels(series.map { StepSeries(labels: $0.labels.droppingName(), values: $0.values.map { $0.map(math) }) }),
                ordered: false)
        }
    }

    func negate(_ value: StepValue) throws -> StepValue {
        switch value {
        case let .scalar(v): return .scalar(v.map { -$0 })
        case let .vector(series, _):
            return .vector(
                try mergeSameLabels(series.map { StepSeries(labels: $0.labels.droppingName(), values: $0.values.map { $0.map { -$0 } }) }),
                ordered: false)
        default: throw PromQLError.execution("unary minus needs a scalar or an instant vector")
        }
    }

    // MARK: Argument helpers

    private func rangeArgument(_ e: Expr, _ f: PromQLFunction) throws -> (VectorSelector, Int64) {
        switch e {
        case let .matrix(selector, range): return (selector, range)
        case let .paren(inner): return try rangeArgument(inner, f)
        default: throw PromQLError.execution("\(f.rawValue) needs a range vector selector like name[5m]")
        }
    }

    func scalarValues(_ v: StepValue) throws -> [Double] {
        guard case let .scalar(values) = v else { throw PromQLError.execution("expected a scalar") }
        return values
    }

    func vectorSeries(_ v: StepValue) throws -> [StepSeries] {
        guard case let .vector(series, _) = v else { throw PromQLError.execution("expected an instant vector") }
        return series
    }
}
