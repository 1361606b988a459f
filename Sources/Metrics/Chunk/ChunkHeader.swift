/// The header every chunk starts with: its time span and the aggregate of all its samples.
///
/// For an empty chunk (`count == 0`, only a fresh head snapshot) `minT`/`maxT` are 0 and the
/// aggregate is `count 0, sum 0, min/max/last NaN`.
public struct ChunkHeader: Sendable, Equatable {
    public var count: Int
    public var minT: Int64
    public var maxT: Int64
    public var aggregate: WindowAggregate

    public init(count: Int, minT: Int64, maxT: Int64, aggregate: WindowAggregate) {
        self.count = count
        self.minT = minT
        self.maxT = maxT
        self.aggregate = aggregate
    }
}

/// The first byte of a chunk (Docs/format/chunk-v2.md): high nibble 2 = chunk format v2, low
/// nibble the value mode.
enum ChunkFormat {
    /// Values are decimal mantissas at one scale, zigzag-varint deltas.
    static let decimal: UInt8 = 0x21
    /// Values are IEEE-754 bit patterns, byte-aligned XOR with the previous value.
    static let float: UInt8 = 0x22

    static let emptyAggregate = WindowAggregate(count: 0, sum: 0, min: .nan, max: .nan, last: .nan)
}

/// The decoded header fields plus where the sections are, shared by `Chunk` and `ChunkBuilder(reopening:)`.
struct ChunkLayout {
    var header: ChunkHeader
    var isFloat: Bool
    var scale: Int
    /// Decimal mode: mantissas of sum, min, max, last.
    var mSum: Int64 = 0, mMin: Int64 = 0, mMax: Int64 = 0, mLast: Int64 = 0
    /// Float mode: bit pattern of the last value.
    var lastBits: UInt64 = 0
    var timesStart: Int
    var timesEnd: Int
    /// Values run from `timesEnd` to the end of the bytes; empty for a constant decimal chunk.
    var valuesEnd: Int
    var isConstant: Bool { !isFloat && mMin == mMax }

    static func corrupt(_ reason: String) -> MetricsError { .corrupt(key: "chunk", reason: reason) }

    static func parse(_ buf: UnsafeBufferPointer<UInt8>) throws(MetricsError) -> ChunkLayout {
        var r = ByteReader(buf)
        guard let format = r.byte() else { throw corrupt("empty bytes (expected a format byte)") }
        guard format == ChunkFormat.decimal || format == ChunkFormat.float else {
            throw corrupt("unknown format byte 0x\(String(format, radix: 16)) (expected 0x21 or 0x22)")
        }
        let isFloat = format == ChunkFormat.float
        guard let count = r.count() else { throw corrupt("truncated sample count") }
        if count == 0 {
            guard r.isAtEnd else { throw corrupt("\(buf.count - r.position) bytes after an empty chunk's header") }
            return ChunkLayout(header: ChunkHeader(count: 0, minT: 0, maxT: 0, aggregate: ChunkFormat.emptyAggregate),
                               isFloat: isFloat, scale: 0, timesStart: r.position, timesEnd: r.position, valuesEnd: r.position)
        }
        guard let minT = r.varint(), let span = r.uvarint() else { throw corrupt("truncated time span") }
        let maxT = minT &+ Int64(bitPattern: span)
        var layout = ChunkLayout(header: ChunkHeader(count: count, minT: minT, maxT: maxT, aggregate: ChunkFormat.emptyAggregate),
                                 isFloat: isFloat, scale: 0, timesStart: 0, timesEnd: 0, valuesEnd: buf.count)
        if isFloat {
            guard let sum = r.bigEndian64(), let mn = r.bigEndian64(), let mx = r.bigEndian64(), let last = r.bigEndian64() else {
                throw corrupt("truncated float statistics")
            }
            layout.lastBits = last
            layout.header.aggregate = WindowAggregate(count: count, sum: Double(bitPattern: sum), min: Double(bitPattern: mn),
                                                      max: Double(bitPattern: mx), last: Double(bitPattern: last))
        } else {
            guard let scale = r.byte(), Int(scale) <= DecimalScale.maxScale else { throw corrupt("missing or bad decimal scale (0-9)") }
            guard let s = r.varint(), let mn = r.varint(), let mx = r.varint(), let l = r.varint() else {
                throw corrupt("truncated decimal statistics")
            }
            let sc = Int(scale)
            layout.scale = sc
            (layout.mSum, layout.mMin, layout.mMax, layout.mLast) = (s, mn, mx, l)
            layout.header.aggregate = WindowAggregate(count: count, sum: DecimalScale.value(s, scale: sc), min: DecimalScale.value(mn, scale: sc),
                                                      max: DecimalScale.value(mx, scale: sc), last: DecimalScale.value(l, scale: sc))
        }
        guard let timesLength = r.count(), timesLength <= buf.count - r.position else { throw corrupt("timestamp section runs past the end") }
        layout.timesStart = r.position
        layout.timesEnd = r.position + timesLength
        if layout.isConstant && layout.timesEnd != buf.count {
            throw corrupt("\(buf.count - layout.timesEnd) bytes after a constant chunk's timestamps")
        }
        return layout
    }
}
