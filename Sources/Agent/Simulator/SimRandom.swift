/// Seeded randomness for the simulator. The fleet's shape comes from a `SimSplitMix` stream; every
/// per-round value comes from `SimNoise`, a hash of (seed, key, round), so a value does not depend on
/// the order hosts are generated in or on how many other hosts exist.
public struct SimSplitMix: Sendable {
    public private(set) var state: UInt64

    public init(_ seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SimNoise.mix(state)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }

    /// Uniform in `0..<n`.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }

    /// A ZStack-style uuid: 32 lowercase hex digits.
    public mutating func uuid() -> String {
        Self.hex16(next()) + Self.hex16(next())
    }

    static func hex16(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Stateless noise: `unit(seed, key, round)` is uniform in [0, 1), the same for the same inputs.
public enum SimNoise {
    /// SplitMix64's finaliser.
    @inline(__always)
    public static func mix(_ x0: UInt64) -> UInt64 {
        var z = x0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    @inline(__always)
    public static func unit(_ seed: UInt64, _ key: UInt64, _ round: Int64) -> Double {
        let h = mix(seed &+ key &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(bitPattern: round) &* 0xD1B5_4A32_D192_ED03)
        return Double(h >> 11) / Double(UInt64(1) << 53)
    }

    /// Uniform in [-1, 1).
    @inline(__always)
    public static func signed(_ seed: UInt64, _ key: UInt64, _ round: Int64) -> Double {
        unit(seed, key, round) * 2 - 1
    }

    /// A key for (entity, channel), so that every metric of every VM or host draws its own noise.
    @inline(__always)
    public static func key(_ entity: Int, _ channel: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: entity) &* 1_000_003 &+ UInt64(truncatingIfNeeded: channel) &* 0x632B_E59B_D9B4_E019
    }
}
