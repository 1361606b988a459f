import Foundation
import Synchronization

/// The format-v2 keys the rollup builder and retention read and write (Docs/format/chunk-v2.md,
/// layout in the TSDB brief). Integers are big-endian so byte order is numeric order; times are
/// non-negative ms, stored as their u64 bit pattern.
enum RollupKeys {
    static let chunkPrefix = UInt8(ascii: "C")
    static let labelsPrefix = UInt8(ascii: "I")
    static let queuePrefix = UInt8(ascii: "Q")
    static let rollupPrefix = UInt8(ascii: "R")
    static let hour: Int64 = 3_600_000

    static func append(_ v: UInt64, to out: inout [UInt8]) { ByteCoding.appendBigEndian(v, to: &out) }
    static func append(_ v: Int64, to out: inout [UInt8]) { ByteCoding.appendBigEndian(UInt64(bitPattern: v), to: &out) }

    /// `C` + id: every chunk of a series.
    static func chunks(_ id: UInt64) -> [UInt8] { var k = [chunkPrefix]; append(id, to: &k); return k }
    /// `C` + id + maxT.
    static func chunk(_ id: UInt64, maxT: Int64) -> [UInt8] { var k = chunks(id); append(maxT, to: &k); return k }
    /// `Q` + hour + id.
    static func queue(hour: Int64, series id: UInt64) -> [UInt8] {
        var k = [queuePrefix]; append(hour, to: &k); append(id, to: &k); return k
    }
    /// The value of a `Q` entry: 8 bytes unique to this queueing (a process-wide counter seeded with
    /// the wall clock in microseconds), so a rollup pass that read an entry can tell whether it was
    /// queued again since (`RollupBuilder.buildPending`). Stores written before it hold empty values.
    static func queueStamp() -> [UInt8] {
        BigEndian.bytes(queueSequence.add(1, ordering: .relaxed).newValue)
    }
    private static let queueSequence = Atomic<UInt64>(UInt64(Date().timeIntervalSince1970 * 1e6) << 8)

    /// `R` + res + id: every rollup value of a series at one resolution.
    static func rollups(_ resolution: RollupResolution, _ id: UInt64) -> [UInt8] {
        var k = [rollupPrefix, resolution.rawValue]; append(id, to: &k); return k
    }
    /// `R` + res + id + windowEnd.
    static func rollup(_ resolution: RollupResolution, _ id: UInt64, windowEnd: Int64) -> [UInt8] {
        var k = rollups(resolution, id); append(windowEnd, to: &k); return k
    }

    /// The 8-byte big-endian integer at `offset` of `key`.
    static func int64(_ key: [UInt8], at offset: Int) -> Int64 {
        Int64(bitPattern: BigEndian.uint64(key[offset...]))
    }

    /// `ceil(t / r) * r`: the end of the left-open bucket `(b - r, b]` holding `t`. Clamped to
    /// stay representable for times near Int64.max.
    static func bucketEnd(_ t: Int64, _ r: Int64) -> Int64 {
        let t = Swift.min(t, Int64(1) << 62)
        let q = t / r
        return (t % r > 0 ? q + 1 : q) * r
    }

    static func hex(_ key: [UInt8]) -> String { MetricKey.hex(key) }
}
