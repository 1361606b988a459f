/// Byte-aligned integer encodings shared by the chunk and rollup codecs: LEB128 varints and
/// zigzag signed varints (small magnitudes of either sign take one byte), big-endian u64.
enum ByteCoding {
    /// Maps a signed integer to an unsigned one so that small magnitudes stay small: 0, -1, 1, -2… → 0, 1, 2, 3…
    @inline(__always)
    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    @inline(__always)
    static func unzigzag(_ u: UInt64) -> Int64 { Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1) }

    /// Appends `v` as an unsigned LEB128 varint (1-10 bytes).
    @inline(__always)
    static func appendUVarint(_ v: UInt64, to out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Appends `v` zigzag-encoded as a varint.
    @inline(__always)
    static func appendVarint(_ v: Int64, to out: inout [UInt8]) { appendUVarint(zigzag(v), to: &out) }

    /// Appends the 8 big-endian bytes of `v`.
    @inline(__always)
    static func appendBigEndian(_ v: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    /// The size in bytes of `v` as an unsigned varint.
    static func uvarintSize(_ v: UInt64) -> Int { v == 0 ? 1 : (64 - v.leadingZeroBitCount + 6) / 7 }
}

/// A cursor over bytes for decoding: every read returns nil (instead of trapping) when the bytes
/// end early or a varint is overlong, so corrupt input becomes a `MetricsError.corrupt`.
struct ByteReader {
    let base: UnsafeBufferPointer<UInt8>
    var position: Int
    let end: Int

    init(_ base: UnsafeBufferPointer<UInt8>, from position: Int = 0, to end: Int? = nil) {
        self.base = base
        self.position = position
        self.end = Swift.min(end ?? base.count, base.count)
    }

    var isAtEnd: Bool { position >= end }

    @inline(__always)
    mutating func byte() -> UInt8? {
        guard position < end else { return nil }
        defer { position += 1 }
        return base[position]
    }

    @inline(__always)
    mutating func uvarint() -> UInt64? {
        guard position < end else { return nil }
        let first = base[position]
        position += 1
        if first < 0x80 { return UInt64(first) }
        var result = UInt64(first & 0x7F)
        var shift: UInt64 = 7
        while position < end {
            let b = base[position]
            position += 1
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }

    @inline(__always)
    mutating func varint() -> Int64? {
        guard let u = uvarint() else { return nil }
        return ByteCoding.unzigzag(u)
    }

    /// A varint that must fit a non-negative `Int` (counts, lengths).
    @inline(__always)
    mutating func count() -> Int? {
        guard let u = uvarint(), u <= UInt64(Int.max) else { return nil }
        return Int(u)
    }

    @inline(__always)
    mutating func bigEndian64() -> UInt64? {
        guard end - position >= 8 else { return nil }
        var v: UInt64 = 0
        for k in 0..<8 { v = v << 8 | UInt64(base[position + k]) }
        position += 8
        return v
    }
}
