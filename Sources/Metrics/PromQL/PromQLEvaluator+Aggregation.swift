extension PromQLEvaluator {
    func aggregate(_ op: AggregationOperator, parameter: Expr?, _ inner: Expr, _ grouping: Grouping) async throws -> StepValue {
        let series = try vectorSeries(try await evaluate(inner))
        // Group index of each input series, groups in order of first appearance.
        var groupIndex: [Labels: Int] = [:]
        var groupLabels: [Labels] = []
        let groupOf: [Int] = series.map { s in
            let key = grouping.without
                ? s.labels.removing(grouping.labels + [Labels.nameKey])
                : s.labels.keeping(grouping.labels)
            if let g = groupIndex[key] { return g }
            groupIndex[key] = groupLabels.count
            groupLabels.append(key)
            return groupLabels.count - 1
        }
        if op == .topk || op == .bottomk {
            let k = try scalarValues(try await evaluate(parameter!))
            return .vector(try selectK(series, groupOf: groupOf, groups: groupLabels.count, k: k, top: op == .topk), ordered: true)
        }
        let steps = times.count
        var counts = [[Int]](repeating: [Int](repeating: 0, count: steps), count: groupLabels.count)
        var values = [[Double]](repeating: [Double](repeating: 0, count: steps), count: groupLabels.count)
        for (i, s) in series.enumerated() {
            let g = groupOf[i]
            for k in 0..<steps {
                guard let v = s.values[k] else { continue }
                let n = counts[g][k]
                counts[g][k] = n + 1
                switch op {
                case .sum, .avg: values[g][k] += v
                case .min: if n == 0 || v < values[g][k] || values[g][k].isNaN { values[g][k] = v }
                case .max: if n == 0 || v > values[g][k] || values[g][k].isNaN { values[g][k] = v }
                case .count, .group, .topk, .bottomk: break
                }
            }
        }
        let out: [StepSeries] = groupLabels.indices.map { g in
            StepSeries(labels: groupLabels[g], values: (0..<steps).map { k in
                let n = counts[g][k]
                guard n > 0 else { return nil }
                switch op {
                case .avg: return values[g][k] / Double(n)
                case .count: return Double(n)
                case .group: return 1
                default: return values[g][k]
                }
            })
        }
        return .vector(out, ordered: false)
    }

    /// topk/bottomk: per group and time the `k` largest (smallest) values, NaN last; among equal
    /// values the series met first wins, as Prometheus' heap keeps it. Series keep all labels.
    private func selectK(_ series: [StepSeries], groupOf: [Int], groups: Int, k: [Double], top: Bool) throws -> [StepSeries] {
        var outIndex: [Int: Int] = [:]  // input series -> output position
        var out: [StepSeries] = []
        for step in times.indices {
            let kv = k[step]
            guard !kv.isNaN else { throw PromQLError.execution("the k parameter of topk/bottomk is NaN") }
            guard kv >= 1 else { continue }
            let limit = kv >= Double(series.count) ? series.count : Int(kv)
            var members = [[(index: Int, value: Double)]](repeating: [], count: groups)
            for (i, s) in series.enumerated() {
                if let v = s.values[step] { members[groupOf[i]].append((i, v)) }
            }
            for group in members {
                let ranked = group.enumerated().sorted { a, b in
                    let (x, y) = (a.element.value, b.element.value)
                    if x.isNaN != y.isNaN { return y.isNaN }
                    if x != y && !x.isNaN { return top ? x > y : x < y }
                    return a.offset < b.offset
                }
                for (_, member) in ranked.prefix(limit) {
                    if outIndex[member.index] == nil {
                        outIndex[member.index] = out.count
                        out.append(StepSeries(labels: series[member.index].labels, values: [Double?](repeating: nil, count: times.count)))
                    }
                    out[outIndex[member.index]!].values[step] = member.value
                }
            }
        }
        return out
    }
}
