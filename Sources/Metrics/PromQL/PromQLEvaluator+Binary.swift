import Foundation

extension BinaryOperator {
    /// The result of `l op r` and whether a comparison holds (always true for arithmetic).
    /// Comparisons yield the left value; NaN compares unequal to everything.
    func apply(_ l: Double, _ r: Double) -> (value: Double, keep: Bool) {
        switch self {
        case .add: (l + r, true)
        case .sub: (l - r, true)
        case .mul: (l * r, true)
        case .div: (l / r, true)
        case .mod: (fmod(l, r), true)
        case .pow: (Foundation.pow(l, r), true)
        case .eq: (l, l == r)
        case .ne: (l, l != r)
        case .gt: (l, l > r)
        case .lt: (l, l < r)
        case .ge: (l, l >= r)
        case .le: (l, l <= r)
        }
    }
}

extension PromQLEvaluator {
    func binary(_ op: BinaryOperator, _ lhs: StepValue, _ rhs: StepValue, matching: VectorMatching, returnBool: Bool) throws -> StepValue {
        switch (lhs, rhs) {
        case let (.scalar(l), .scalar(r)):
            return .scalar(zip(l, r).map { a, b in
                let (v, keep) = op.apply(a, b)
                return op.isComparison ? (keep ? 1 : 0) : v
            })
        case let (.vector(series, ordered), .scalar(s)):
            return .vector(try vectorScalar(op, series, s, scalarOnLeft: false, returnBool: returnBool), ordered: ordered)
        case let (.scalar(s), .vector(series, ordered)):
            return .vector(try vectorScalar(op, series, s, scalarOnLeft: true, returnBool: returnBool), ordered: ordered)
        case let (.vector(l, _), .vector(r, _)):
            return .vector(try vectorVector(op, l, r, matching: matching, returnBool: returnBool), ordered: false)
        default:
            throw PromQLError.execution("binary operator \(op.rawValue) needs scalars or instant vectors")
        }
    }

    private func vectorScalar(
        _ op: BinaryOperator, _ series: [StepSeries], _ scalar: [Double], scalarOnLeft: Bool, returnBool: Bool
    ) throws -> [StepSeries] {
        let dropName = !op.isComparison || returnBool
        var out: [StepSeries] = []
        out.reserveCapacity(series.count)
        for s in series {
            var any = false
            let values: [Double?] = s.values.enumerated().map { k, value in
                guard let v = value else { return nil }
                var (result, keep) = scalarOnLeft ? op.apply(scalar[k], v) : op.apply(v, scalar[k])
                // A comparison keeps the vector's value, on whichever side it is.
                if op.isComparison { result = v }
                if returnBool { (result, keep) = (keep ? 1 : 0, true) }
                guard keep else { return nil }
                any = true
                return result
            }
            if any { out.append(StepSeries(labels: dropName ? s.labels.droppingName() : s.labels, values: values)) }
        }
        return dropName ? try mergeSameLabels(out) : out
    }

    /// One-to-one matching: series pair up when their labels (without `__name__`, or only the
    /// `on` labels, or all but the `ignoring` ones) are equal at the same time.
    private func vectorVector(
        _ op: BinaryOperator, _ lhs: [StepSeries], _ rhs: [StepSeries], matching: VectorMatching, returnBool: Bool
    ) throws -> [StepSeries] {
        func signature(_ l: Labels) -> Labels {
            if let on = matching.on { return l.keeping(on) }
            return l.removing(matching.ignoring + [Labels.nameKey])
        }
        func resultLabels(_ l: Labels) -> Labels {
            var r = !op.isComparison || returnBool ? l.droppingName() : l
            if let on = matching.on { r = r.keeping(on) } else if !matching.ignoring.isEmpty { r = r.removing(matching.ignoring) }
            return r
        }
        var rightBySignature: [Labels: [Int]] = [:]
        for (i, s) in rhs.enumerated() { rightBySignature[signature(s.labels), default: []].append(i) }
        // Duplicates on the right at one time are an error even when nothing on the left matches.
        for (sig, members) in rightBySignature where members.count > 1 {
            for k in times.indices where members.lazy.filter({ rhs[$0].values[k] != nil }).count > 1 {
                throw PromQLError.execution(
                    "found duplicate series for the match group \(sig) on the right hand-side of the operation; "
                        + "many-to-many matching not allowed: matching labels must be unique on one side")
            }
        }
        var matchedAt: [Labels: [Bool]] = [:]
        var out: [StepSeries] = []
        for l in lhs {
            let sig = signature(l.labels)
            guard let candidates = rightBySignature[sig] else { continue }
            var values = [Double?](repeating: nil, count: times.count)
            var any = false
            for k in times.indices {
                guard let lv = l.values[k],
                      let r = candidates.first(where: { rhs[$0].values[k] != nil }), let rv = rhs[r].values[k]
                else { continue }
                var (result, keep) = op.apply(lv, rv)
                if returnBool { (result, keep) = (keep ? 1 : 0, true) }
                guard keep else { continue }
                if matchedAt[sig, default: [Bool](repeating: false, count: times.count)][k] {
                    throw PromQLError.execution(
                        "multiple matches for labels \(sig): many-to-one matching must be explicit (group_left/group_right are not supported)")
                }
                matchedAt[sig, default: [Bool](repeating: false, count: times.count)][k] = true
                values[k] = result
                any = true
            }
            if any { out.append(StepSeries(labels: resultLabels(l.labels), values: values)) }
        }
        return try mergeSameLabels(out)
    }
}
