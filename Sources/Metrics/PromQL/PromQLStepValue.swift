/// Values while evaluating: every expression is computed at all evaluation times at once (a
/// range query's steps; one time for an instant query), so a selector is read from the store once.

/// One series' value at each evaluation time (`values[k]` for `times[k]`; nil where it has none).
struct StepSeries {
    var labels: Labels
    var values: [Double?]
}

enum StepValue {
    /// A scalar per evaluation time.
    case scalar([Double])
    /// Series with a value per evaluation time. `ordered`: the order is meaningful (topk/bottomk)
    /// and an instant query keeps it instead of sorting by labels.
    case vector([StepSeries], ordered: Bool)
    case string(String)
    /// Raw points of a range selector (only as an instant query's whole result).
    case matrix([SeriesPoints])
}

extension Labels {
    /// The labels without `__name__`.
    func droppingName() -> Labels {
        guard let i = pairs.firstIndex(where: { $0.name == Labels.nameKey }) else { return self }
        var kept = pairs
        kept.remove(at: i)
        return Labels(sortedPairs: kept)
    }

    /// Only the labels named in `names`.
    func keeping(_ names: [String]) -> Labels {
        var d: [String: String] = [:]
        for p in pairs where names.contains(p.name) { d[p.name] = p.value }
        return Labels(d)
    }

    /// The labels except those named in `names`.
    func removing(_ names: [String]) -> Labels {
        var d: [String: String] = [:]
        for p in pairs where !names.contains(p.name) { d[p.name] = p.value }
        return Labels(d)
    }
}

/// Joins series whose labels became equal (after dropping `__name__`); they may not both have a
/// value at the same time, as in Prometheus.
func mergeSameLabels(_ series: [StepSeries]) throws -> [StepSeries] {
    var index: [Labels: Int] = [:]
    var out: [StepSeries] = []
    out.reserveCapacity(series.count)
    for s in series {
        guard let i = index[s.labels] else {
            index[s.labels] = out.count
            out.append(s)
            continue
        }
        for (k, v) in s.values.enumerated() where v != nil {
            guard out[i].values[k] == nil else {
                throw PromQLError.execution(
                    "vector cannot contain metrics with the same labelset \(s.labels); "
                        + "aggregate them (sum by …) or keep __name__ apart")
            }
            out[i].values[k] = v
        }
    }
    return out
}
