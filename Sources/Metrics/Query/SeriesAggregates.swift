/// One aggregate (count, sum, min, max, last) per series over one time range, keyed by the store's
/// series reference instead of labels: what `SeriesAggregatingStore.aggregateSeries` returns.
///
/// `refs` ascend; `aggregates[k]` belongs to `refs[k]`.
public struct SeriesAggregates: Sendable, Equatable {
    public var refs: [SeriesRef]
    public var aggregates: [WindowAggregate]

    public init(refs: [SeriesRef] = [], aggregates: [WindowAggregate] = []) {
        precondition(refs.count == aggregates.count, "SeriesAggregates: \(refs.count) refs but \(aggregates.count) aggregates")
        self.refs = refs
        self.aggregates = aggregates
    }

    public var count: Int { refs.count }
    public var isEmpty: Bool { refs.isEmpty }
}

/// A store that reduces each matching series' samples in a range to one `WindowAggregate` and
/// names the series by a stable `SeriesRef` rather than by labels, so a caller that looks at the
/// same series every few seconds (the alarm evaluator: 100,000 series every 10 s) resolves labels
/// once, keeps what it derived from them by ref, and asks for labels again only for refs it has
/// not seen. Nothing is sorted by labels and no raw point is returned.
///
/// A ref is never reused for other labels by the same store (even across restarts), so a caller
/// may cache per ref for as long as it keeps using the store.
public protocol SeriesAggregatingStore: MetricStore {
    /// For each series matching all `matchers` with at least one sample in `[from, to]` (both
    /// inclusive): its ref and the aggregate of those samples, refs ascending. Equals
    /// `WindowAggregate.of(points)` over `select(matchers, from:, to:)` for the same series (up to
    /// float summation order in `sum`); an empty result when `from > to`.
    func aggregateSeries(_ matchers: [LabelMatcher], from: Int64, to: Int64) async throws -> SeriesAggregates

    /// The labels (with `__name__`) of each ref, in the same order; nil for a ref the store does
    /// not hold (never handed out, or the series was removed, e.g. by retention).
    func seriesLabels(_ refs: [SeriesRef]) async throws -> [Labels?]
}
