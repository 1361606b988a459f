/// A source of samples run on the collection grid.
///
/// `collect(stamp:now:)` reads its source once. `stamp` is the grid time the samples carry
/// (snapped to the interval so timestamps compress well); `now` is the wall time of the read, which
/// rate computations use for the elapsed time between two reads. A counter's first read emits nothing.
public protocol Collector: Sendable {
    /// A short name for logs, e.g. `host:<uuid>` or `vms@test:///…`.
    var name: String { get }
    func collect(stamp: Int64, now: Int64) async throws -> [Sample]
}
