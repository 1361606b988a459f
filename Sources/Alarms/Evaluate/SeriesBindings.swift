import StratusMetrics

/// What each series (by the store's `SeriesRef`) of one rule group and period binds to: the
/// positions of the `Any` rules it matches and its instance key. Built from labels the first time
/// a ref shows up and reused while the plan holds, so a steady round decodes no labels, matches no
/// rule and builds no `k=v,k=v` string; only refs not seen in the previous round are resolved.
///
/// Holds exactly the refs of the last round's result (ascending), so `bindings(at: k)` is the
/// bindings of `found.refs[k]` after `update`. A ref that leaves and later comes back is resolved
/// again; refs are never reused for other labels by a store, so an entry never goes stale.
struct SeriesBindings {
    struct Binding {
        /// Position of the rule in its group's `AlarmRuleIndex.rules`.
        var rule: Int
        var key: String
    }

    private(set) var refs: [SeriesRef] = []
    /// Bindings of `refs[k]`: `entries[ends[k - 1] ..< ends[k]]` (from 0 for k = 0). A ref that
    /// matches no rule keeps an empty range, so it is not resolved again every round.
    private var ends: [Int] = []
    private var entries: [Binding] = []

    /// The bindings of the `k`-th ref.
    func bindings(at k: Int) -> ArraySlice<Binding> {
        entries[(k == 0 ? 0 : ends[k - 1])..<ends[k]]
    }

    /// Refs of `found` (ascending) that are not bound yet.
    func unknown(in found: [SeriesRef]) -> [SeriesRef] {
        var out: [SeriesRef] = []
        var j = 0
        for r in found {
            while j < refs.count && refs[j] < r { j += 1 }
            if j == refs.count || refs[j] != r { out.append(r) }
        }
        return out
    }

    /// Makes the refs exactly `found` (ascending): known refs keep their bindings, the `unknown`
    /// ones (ascending, as `unknown(in:)` returned them) get `resolve(labels[k])`; a nil label (the
    /// series went away meanwhile) binds to nothing.
    mutating func update(to found: [SeriesRef], unknown: [SeriesRef], labels: [Labels?], resolve: (Labels) -> [Binding]) {
        if unknown.isEmpty && found.count == refs.count { return }  // every ref known, none gone: same set
        var newRefs: [SeriesRef] = [], newEnds: [Int] = [], newEntries: [Binding] = []
        newRefs.reserveCapacity(found.count)
        newEnds.reserveCapacity(found.count)
        newEntries.reserveCapacity(max(entries.count, found.count))
        var j = 0, u = 0
        for r in found {
            while j < refs.count && refs[j] < r { j += 1 }
            if j < refs.count && refs[j] == r {
                newEntries.append(contentsOf: bindings(at: j))
            } else {
                precondition(u < unknown.count && unknown[u] == r, "SeriesBindings.update: ref \(r.id) is neither known nor resolved")
                if let l = labels[u] { newEntries.append(contentsOf: resolve(l)) }
                u += 1
            }
            newRefs.append(r)
            newEnds.append(newEntries.count)
        }
        (refs, ends, entries) = (newRefs, newEnds, newEntries)
    }
}
