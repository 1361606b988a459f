/// Rollup buckets computed from raw points.
enum RollupBuckets {
    /// The buckets `(b - r, b]` of `points` (time order) at `resolution`: count, min, max and last
    /// as `WindowAggregate.add` gives them, and the sum exact when the values are decimal
    /// (`DecimalScale.sum`), so the sum column stays a column of small mantissas.
    static func compute(_ points: [Point], _ resolution: RollupResolution) -> [RollupBucket] {
        let r = resolution.milliseconds
        var out: [RollupBucket] = []
        var values: [Double] = []
        var current: RollupBucket?
        func flush() {
            guard var b = current else { return }
            b.aggregate.sum = DecimalScale.sum(values)
            out.append(b)
        }
        for p in points {
            let end = RollupKeys.bucketEnd(p.timestamp, r)
            if current?.end == end {
                current!.aggregate.add(p.value)
                values.append(p.value)
            } else {
                flush()
                current = RollupBucket(end: end, aggregate: WindowAggregate(p.value))
                values.removeAll(keepingCapacity: true)
                values.append(p.value)
            }
        }
        flush()
        return out
    }
}
