/// Ingest lag (the time a sample became queryable minus its timestamp, in ms) as a log-linear
/// histogram over a sliding window: the window is split into `slotCount` slots of equal length,
/// each with its own counts; a quantile reads every slot still inside the window.
///
/// Buckets: 0 ms, then eight linear sub-buckets per power of two, up to 2⁴⁰ ms: a quantile is its
/// bucket's upper bound, at most 12.5 % above the true value (512 ms wide between 4 and 8 s, so a
/// p99 of 4.5 s reads 4,607 ms, not 5,119 ms as with four sub-buckets, where the 5 s target sits).
/// Not thread-safe by itself (the ingest service keeps it behind a `Mutex`).
public struct IngestLagStats: Sendable {
    /// log2 of the sub-buckets per power of two.
    static let subBits = 3
    static let subCount = 1 << subBits
    static let bucketCount = 1 + 41 * subCount

    private struct Slot {
        var start: Int64 = .min
        var counts = [UInt64](repeating: 0, count: IngestLagStats.bucketCount)
        var max: Int64 = 0
    }

    /// Length of the window in ms.
    public let window: Int64
    private let slotLength: Int64
    private var slots: [Slot]

    public init(window: Int64 = 60_000, slotCount: Int = 6) {
        precondition(window > 0 && slotCount > 0, "window and slotCount must be positive")
        self.window = window
        self.slotLength = max(1, window / Int64(slotCount))
        self.slots = Array(repeating: Slot(), count: slotCount)
    }

    /// The bucket a lag of `ms` falls in.
    @inline(__always)
    public static func bucket(_ ms: Int64) -> Int {
        if ms <= 0 { return 0 }
        let v = UInt64(ms)
        let e = 63 - v.leadingZeroBitCount          // 2^e <= v < 2^(e+1)
        if e < subBits { return 1 + e * subCount }
        return min(bucketCount - 1, 1 + e * subCount + Int((v >> (e - subBits)) & UInt64(subCount - 1)))
    }

    /// The largest lag a bucket holds (its upper bound), in ms.
    public static func upperBound(_ bucket: Int) -> Int64 {
        if bucket == 0 { return 0 }
        let e = (bucket - 1) / subCount, sub = (bucket - 1) % subCount
        if e < subBits { return (Int64(1) << (e + 1)) - 1 }
        return (Int64(1) << e) + Int64(sub + 1) * (Int64(1) << (e - subBits)) - 1
    }

    private mutating func slot(at now: Int64) -> Int {
        let start = now / slotLength * slotLength
        let i = Int((start / slotLength) % Int64(slots.count))
        if slots[i].start != start {
            slots[i] = Slot(start: start)
        }
        return i
    }

    /// Records `count` samples with lag `ms`, seen at `now`.
    public mutating func record(_ ms: Int64, count: UInt64 = 1, at now: Int64) {
        let i = slot(at: now)
        slots[i].counts[Self.bucket(ms)] += count
        if ms > slots[i].max { slots[i].max = ms }
    }

    /// Adds a batch's bucket counts (from `bucket(_:)`) and its largest lag, seen at `now`.
    public mutating func record(buckets: [UInt64], max batchMax: Int64, at now: Int64) {
        let i = slot(at: now)
        for b in 0..<min(buckets.count, Self.bucketCount) where buckets[b] != 0 { slots[i].counts[b] += buckets[b] }
        if batchMax > slots[i].max { slots[i].max = batchMax }
    }

    /// Quantiles over the window ending at `now`.
    public func summary(at now: Int64) -> (p50: Int64, p99: Int64, max: Int64, count: UInt64) {
        var total = [UInt64](repeating: 0, count: Self.bucketCount)
        var mx: Int64 = 0
        for s in slots where s.start != .min && s.start > now - window {
            for b in 0..<Self.bucketCount { total[b] += s.counts[b] }
            mx = Swift.max(mx, s.max)
        }
        let n = total.reduce(0, +)
        guard n > 0 else { return (0, 0, 0, 0) }
        func quantile(_ q: Double) -> Int64 {
            let rank = UInt64((Double(n) * q).rounded(.up))
            var seen: UInt64 = 0
            for b in 0..<Self.bucketCount {
                seen += total[b]
                if seen >= max(rank, 1) { return Swift.min(Self.upperBound(b), mx) }
            }
            return mx
        }
        return (quantile(0.5), quantile(0.99), mx, n)
    }
}
