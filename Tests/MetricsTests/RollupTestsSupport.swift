import Foundation
@testable import StratusMetrics

/// A small deterministic RNG (SplitMix64) so a property-test seed rebuilds the same series.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SplitMix64 {
    /// A number in `0..<n`.
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Shapes of value sequences the codec must round-trip bit for bit.
enum ValueShape: CaseIterable, Sendable {
    case decimals, cpuGauge, counterResets, specials, extremes, randomBits, rescaleThenFloat, constant, hugeIntegers

    func values(_ n: Int, _ rng: inout SplitMix64) -> [Double] {
        switch self {
        case .decimals:
            let places = Int.random(in: 0...9, using: &rng)
            let scale = pow(10.0, Double(places))
            var m = Int64.random(in: -1_000_000...1_000_000, using: &rng)
            return (0..<n).map { _ in m += Int64.random(in: -5000...5000, using: &rng); return Double(m) / scale }
        case .cpuGauge:
            return (0..<n).map { i in
                let base = 40 + 30 * sin(Double(i) / 500) + Double.random(in: -5...5, using: &rng)
                return (min(100, max(0, base)) * 100).rounded() / 100
            }
        case .counterResets:
            var c: Int64 = 0
            return (0..<n).map { _ in
                if Int.random(in: 0..<50, using: &rng) == 0 { c = 0 } else { c += Int64.random(in: 0...100_000, using: &rng) }
                return Double(c)
            }
        case .specials:
            let pool: [Double] = [.nan, -.nan, Double(nan: 0x1234, signaling: false), Double(nan: 7, signaling: true),
                                  .infinity, -.infinity, -0.0, 0.0, 1.5, -2.25, 3]
            return (0..<n).map { _ in pool.randomElement(using: &rng)! }
        case .extremes:
            let pool: [Double] = [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
                                  1e300, -1e-300, 9_007_199_254_740_994, 123_456_789.123456789, 1e-9, 0.000000001, 5e-10]
            return (0..<n).map { _ in Bool.random(using: &rng) ? pool.randomElement(using: &rng)! : Double.random(in: -1e20...1e20, using: &rng) }
        case .randomBits:
            return (0..<n).map { _ in Double(bitPattern: rng.next()) }
        case .rescaleThenFloat:
            // Integers, then more and more decimals (rescaling), then a NaN late (switch to float).
            return (0..<n).map { i in
                let places = min(9, i / max(1, n / 12))
                let v = Double(Int64.random(in: -99_999...99_999, using: &rng)) / pow(10.0, Double(places))
                return i == n - 2 ? .nan : v
            }
        case .constant:
            let v = [0.0, 1, 42.5, -7][Int.random(in: 0..<4, using: &rng)]
            return Array(repeating: v, count: n)
        case .hugeIntegers:
            // Mantissas near 2^53 (and sums that overflow Int64 after ~1024 samples).
            return (0..<n).map { _ in Double(Int64.random(in: (1 << 52)...(1 << 53), using: &rng)) * (Bool.random(using: &rng) ? 1 : -1) }
        }
    }
}

/// Shapes of strictly increasing timestamp sequences.
enum TimeShape: CaseIterable, Sendable {
    case grid, jitter, irregular, negativeToPositive, hugeGaps

    func times(_ n: Int, _ rng: inout SplitMix64) -> [Int64] {
        var t: Int64
        var out: [Int64] = []
        out.reserveCapacity(n)
        switch self {
        case .grid:
            t = 1_700_000_000_000 / 10_000 * 10_000
            for _ in 0..<n { out.append(t); t += 10_000 }
        case .jitter:
            t = 1_700_000_000_123
            for _ in 0..<n { out.append(t); t += 10_000 + Int64.random(in: -30...30, using: &rng) }
        case .irregular:
            t = Int64.random(in: 0...1_800_000_000_000, using: &rng)
            for _ in 0..<n { out.append(t); t += Int64.random(in: 1...(Bool.random(using: &rng) ? 10 : 10_000_000), using: &rng) }
        case .negativeToPositive:
            t = -Int64(n) * 5_000
            for _ in 0..<n { out.append(t); t += Int64.random(in: 1...10_000, using: &rng) }
        case .hugeGaps:
            // Deltas near Int64's range: dod arithmetic must wrap correctly.
            t = Int64.min + Int64.random(in: 0...1000, using: &rng)
            // n steps of up to (2^64 - 2000) / n in total never wrap past Int64.max.
            let gap = (UInt64.max - 2000) / UInt64(max(n, 1))
            for _ in 0..<n { out.append(t); t = t &+ Int64(bitPattern: UInt64.random(in: 1...gap, using: &rng)) }
        }
        return out
    }
}

/// A generated series: seed → points.
func generatedPoints(seed: UInt64, count: Int, values: ValueShape, times: TimeShape) -> [Point] {
    var rng = SplitMix64(seed: seed)
    let ts = times.times(count, &rng)
    let vs = values.values(count, &rng)
    return zip(ts, vs).map { Point(timestamp: $0, value: $1) }
}

/// Points as comparable bit patterns (NaN payloads and -0.0 included).
func pointBits(_ points: [Point]) -> [[UInt64]] { points.map { [UInt64(bitPattern: $0.timestamp), $0.value.bitPattern] } }

/// Whether two sums agree: equal bits, or both NaN, or within rounding of the magnitudes summed
/// (decimal chunks and rollups store the exact decimal sum; `WindowAggregate.of` adds left to right).
func sumsAgree(_ a: Double, _ b: Double, magnitude: Double) -> Bool {
    if a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) { return true }
    if !a.isFinite || !b.isFinite { return a == b }
    return abs(a - b) <= 1e-12 * max(1, magnitude)
}

/// count, min, max and last bit for bit, sum by `sumsAgree`.
func aggregatesAgree(_ a: WindowAggregate, _ b: WindowAggregate, values: [Double]) -> Bool {
    a.count == b.count && a.min.bitPattern == b.min.bitPattern && a.max.bitPattern == b.max.bitPattern
        && a.last.bitPattern == b.last.bitPattern
        && sumsAgree(a.sum, b.sum, magnitude: values.reduce(0) { $0 + abs($1) })
}

/// Helpers that write the format-v2 keys the way the engine does.
enum V2Keys {
    static func be(_ v: Int64) -> [UInt8] { BigEndian.bytes(UInt64(bitPattern: v)) }
    static func chunk(_ id: UInt64, maxT: Int64) -> [UInt8] { [UInt8(ascii: "C")] + BigEndian.bytes(id) + be(maxT) }
    static func queue(hour: Int64, _ id: UInt64) -> [UInt8] { [UInt8(ascii: "Q")] + be(hour) + BigEndian.bytes(id) }
    static func labels(_ id: UInt64) -> [UInt8] { [UInt8(ascii: "I")] + BigEndian.bytes(id) }
    static func hourEnd(_ t: Int64) -> Int64 { (t + 3_599_999) / 3_600_000 * 3_600_000 }

    /// Writes `points` (time order, t >= 0) of series `id` as chunks cut at hour partitions and
    /// every `maxSamples`, each with its `Q` entry, plus the series' `I` key.
    static func writeChunks(_ db: RocksDB, id: UInt64, _ points: [Point], maxSamples: Int = 360) throws {
        let batch = RocksWriteBatch()
        batch.put(labels(id), Array("series-\(id)".utf8))
        var current: [Point] = []
        func cut() {
            guard let last = current.last else { return }
            batch.put(chunk(id, maxT: last.timestamp), ChunkCodec.encode(current))
            batch.put(queue(hour: hourEnd(last.timestamp), id), [])
            current.removeAll()
        }
        for p in points {
            if let last = current.last, hourEnd(last.timestamp) != hourEnd(p.timestamp) || current.count == maxSamples { cut() }
            current.append(p)
        }
        cut()
        try db.write(batch, sync: false)
    }

    /// Every chunk of the database: (series, decoded chunk).
    static func allChunks(_ db: RocksDB) throws -> [(id: UInt64, key: [UInt8], chunk: Chunk)] {
        var out: [(UInt64, [UInt8], Chunk)] = []
        try db.scan(prefix: [UInt8(ascii: "C")]) { k, v in
            out.append((BigEndian.uint64(k[1...]), k, try Chunk(v)))
            return true
        }
        return out
    }

    static func keys(_ db: RocksDB, prefix: UInt8) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        try db.scan(prefix: [prefix]) { k, _ in out.append(k); return true }
        return out
    }
}
