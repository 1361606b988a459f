/// A stored chunk: header read eagerly, samples decoded on demand.
///
/// ```swift
/// let chunk = try Chunk(bytes)
/// if window contains chunk.header.minT...chunk.header.maxT { use(chunk.header.aggregate) }
/// else { try chunk.forEach { t, v in … } }
/// ```
public struct Chunk: Sendable {
    private let bytes: [UInt8]
    private let isFloat: Bool
    private let scale: Int
    private let constant: Double?
    private let timesStart: Int
    private let timesEnd: Int

    /// Parses the header. Throws `MetricsError.corrupt` on bad bytes (truncated, bad format byte).
    public init(_ bytes: [UInt8]) throws {
        let layout = try bytes.withUnsafeBufferPointer { buf throws(MetricsError) in try ChunkLayout.parse(buf) }
        self.bytes = bytes
        header = layout.header
        isFloat = layout.isFloat
        scale = layout.scale
        constant = layout.header.count > 0 && layout.isConstant ? layout.header.aggregate.min : nil
        timesStart = layout.timesStart
        timesEnd = layout.timesEnd
    }

    public let header: ChunkHeader

    /// The stored bytes.
    public var encoded: [UInt8] { bytes }

    /// Calls body for each sample in time order, decoding as it goes (no array allocation).
    public func forEach(_ body: (Int64, Double) throws -> Void) throws {
        let count = header.count
        guard count > 0 else { return }
        let (isFloat, scale, constant, timesStart, timesEnd) = (self.isFloat, self.scale, self.constant, self.timesStart, self.timesEnd)
        let header = self.header
        try bytes.withUnsafeBufferPointer { buf in
            var times = TimestampRunReader(ByteReader(buf, from: timesStart, to: timesEnd), first: header.minT)
            var vals = ByteReader(buf, from: timesEnd)
            var t = header.minT
            if let constant {
                try body(t, constant)
                for _ in 1..<count {
                    guard let next = times.next() else { throw Self.corrupt("timestamps end before sample \(count)") }
                    t = next
                    try body(t, constant)
                }
            } else if isFloat {
                guard var bits = vals.bigEndian64() else { throw Self.corrupt("missing first value") }
                try body(t, Double(bitPattern: bits))
                for i in 1..<count {
                    guard let next = times.next() else { throw Self.corrupt("timestamps end before sample \(count)") }
                    guard let xor = FloatXOR.read(&vals) else { throw Self.corrupt("bad float value \(i)") }
                    t = next
                    bits ^= xor
                    try body(t, Double(bitPattern: bits))
                }
            } else {
                let divisor = DecimalScale.pow10[scale]
                guard var m = vals.varint() else { throw Self.corrupt("missing first mantissa") }
                try body(t, Double(m) / divisor)
                var remaining = count - 1
                while remaining > 0 {
                    let k = Swift.min(DeltaPacking.groupSize, remaining)
                    let ok = try DeltaPacking.readGroup(&vals, k) { u in
                        guard let next = times.next() else { throw Self.corrupt("timestamps end before sample \(count)") }
                        t = next
                        m &+= ByteCoding.unzigzag(u)
                        try body(t, Double(m) / divisor)
                    }
                    guard ok else { throw Self.corrupt("truncated or bad value group at sample \(count - remaining)") }
                    remaining -= k
                }
            }
            guard t == header.maxT, times.reader.isAtEnd, constant != nil || vals.isAtEnd else {
                throw Self.corrupt("sections do not end together (last time \(t), maxT \(header.maxT))")
            }
        }
    }

    /// All samples in time order.
    public func points() throws -> [Point] {
        var out: [Point] = []
        out.reserveCapacity(header.count)
        try forEach { t, v in out.append(Point(timestamp: t, value: v)) }
        return out
    }

    /// Decodes into caller-owned arrays (appends).
    public func decode(timestamps: inout [Int64], values: inout [Double]) throws {
        timestamps.reserveCapacity(timestamps.count + header.count)
        values.reserveCapacity(values.count + header.count)
        try forEach { t, v in
            timestamps.append(t)
            values.append(v)
        }
    }

    private static func corrupt(_ reason: String) -> MetricsError { ChunkLayout.corrupt(reason) }
}
