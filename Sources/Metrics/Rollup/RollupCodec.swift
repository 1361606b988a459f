/// The resolutions rollups are kept at; the raw value is the `res` byte of an `R` key.
public enum RollupResolution: UInt8, Sendable, CaseIterable {
    case minute = 1, fiveMinutes = 2, hour = 3

    /// The bucket width.
    public var milliseconds: Int64 {
        switch self {
        case .minute: 60_000
        case .fiveMinutes: 300_000
        case .hour: 3_600_000
        }
    }

    /// The span of buckets one `R` value holds: 1 m → the hour's 60, 5 m → a day's 288,
    /// 1 h → 30 days' 720. A bucket ending at b is stored under window end `ceil(b / span) * span`.
    public var windowMilliseconds: Int64 {
        switch self {
        case .minute: 3_600_000
        case .fiveMinutes: 86_400_000
        case .hour: 30 * 86_400_000
        }
    }
}

/// One rollup bucket: the aggregate of the raw samples in (end - resolution, end].
public struct RollupBucket: Sendable, Equatable {
    public var end: Int64
    public var aggregate: WindowAggregate

    public init(end: Int64, aggregate: WindowAggregate) {
        self.end = end
        self.aggregate = aggregate
    }
}

/// The bytes of an `R` value: buckets stored column by column (Docs/format/chunk-v2.md).
///
/// `uvarint n`, then for n > 0: `zigzag first end`, `uvarint length` + end runs (as chunk
/// timestamps), n zigzag count deltas (bit-packed groups, `DeltaPacking`), and the sum, min, max
/// and last columns, each a tag byte and values: tag 0-9 = decimal mantissas at that scale (first
/// as a varint, then zigzag deltas in bit-packed groups), 0x80|scale =
/// every value the same decimal (one mantissa), 0xFF = IEEE-754 (8 bytes, then XOR tokens).
public enum RollupCodec {
    static let floatColumn: UInt8 = 0xFF
    static let constantColumn: UInt8 = 0x80

    /// Encodes buckets whose ends are strictly increasing.
    public static func encode(_ buckets: [RollupBucket]) -> [UInt8] {
        var out: [UInt8] = []
        ByteCoding.appendUVarint(UInt64(buckets.count), to: &out)
        guard let first = buckets.first else { return out }
        out.reserveCapacity(16 + buckets.count * 12)
        ByteCoding.appendVarint(first.end, to: &out)
        var ends = TimestampRunWriter(first: first.end)
        for b in buckets.dropFirst() {
            precondition(b.end > ends.last, "RollupCodec.encode: bucket ends must be strictly increasing")
            ends.append(b.end)
        }
        let endBytes = ends.encoded()
        ByteCoding.appendUVarint(UInt64(endBytes.count), to: &out)
        out.append(contentsOf: endBytes)
        var previousCount: Int64 = 0
        var countDeltas: [UInt64] = []
        countDeltas.reserveCapacity(buckets.count)
        for b in buckets {
            countDeltas.append(ByteCoding.zigzag(Int64(b.aggregate.count) &- previousCount))
            previousCount = Int64(b.aggregate.count)
        }
        DeltaPacking.append(countDeltas, to: &out)
        appendColumn(buckets.map(\.aggregate.sum), to: &out)
        appendColumn(buckets.map(\.aggregate.min), to: &out)
        appendColumn(buckets.map(\.aggregate.max), to: &out)
        appendColumn(buckets.map(\.aggregate.last), to: &out)
        return out
    }

    /// Decodes `encode`'s bytes. Throws `MetricsError.corrupt` when they are malformed.
    public static func decode(_ bytes: [UInt8]) throws -> [RollupBucket] {
        try bytes.withUnsafeBufferPointer { buf throws(MetricsError) -> [RollupBucket] in
            var r = ByteReader(buf)
            // Every bucket takes at least 1/16 byte (the count deltas: one width byte per group of 16).
            guard let n = r.count(), n <= buf.count * DeltaPacking.groupSize else { throw corrupt("bad bucket count") }
            guard n > 0 else {
                guard r.isAtEnd else { throw corrupt("bytes after an empty rollup") }
                return []
            }
            guard let firstEnd = r.varint(), let endsLength = r.count(), endsLength <= buf.count - r.position else {
                throw corrupt("truncated bucket ends")
            }
            var ends = TimestampRunReader(ByteReader(buf, from: r.position, to: r.position + endsLength), first: firstEnd)
            r.position += endsLength
            var buckets: [RollupBucket] = []
            buckets.reserveCapacity(n)
            var counts: [Int64] = []
            counts.reserveCapacity(n)
            var count: Int64 = 0
            var remaining = n
            while remaining > 0 {
                let k = Swift.min(DeltaPacking.groupSize, remaining)
                guard DeltaPacking.readGroup(&r, k, { u in count &+= ByteCoding.unzigzag(u); counts.append(count) }) else {
                    throw corrupt("truncated counts")
                }
                remaining -= k
            }
            var end = firstEnd
            for i in 0..<n {
                if i > 0 {
                    guard let e = ends.next() else { throw corrupt("bucket ends stop before bucket \(i)") }
                    end = e
                }
                guard counts[i] > 0 else { throw corrupt("bucket \(i) has count \(counts[i])") }
                buckets.append(RollupBucket(end: end, aggregate: WindowAggregate(count: Int(counts[i]), sum: 0, min: 0, max: 0, last: 0)))
            }
            guard ends.reader.isAtEnd else { throw corrupt("extra bytes after bucket ends") }
            try readColumn(&r, n) { i, v in buckets[i].aggregate.sum = v }
            try readColumn(&r, n) { i, v in buckets[i].aggregate.min = v }
            try readColumn(&r, n) { i, v in buckets[i].aggregate.max = v }
            try readColumn(&r, n) { i, v in buckets[i].aggregate.last = v }
            guard r.isAtEnd else { throw corrupt("\(buf.count - r.position) extra bytes after the columns") }
            return buckets
        }
    }

    private static func corrupt(_ reason: String) -> MetricsError { .corrupt(key: "rollup", reason: reason) }

    /// The smallest scale at which every value is decimal, with the mantissas; nil when one is not.
    private static func decimalColumn(_ values: [Double]) -> (scale: Int, mantissas: [Int64])? {
        var scale = 0
        for v in values {
            if DecimalScale.mantissa(v, scale: scale) != nil { continue }
            guard let (s, _) = DecimalScale.smallestScale(of: v, from: scale + 1) else { return nil }
            scale = s
        }
        var mantissas: [Int64] = []
        mantissas.reserveCapacity(values.count)
        for v in values {
            guard let m = DecimalScale.mantissa(v, scale: scale) else { return nil }
            mantissas.append(m)
        }
        return (scale, mantissas)
    }

    private static func appendColumn(_ values: [Double], to out: inout [UInt8]) {
        if let (scale, mantissas) = decimalColumn(values) {
            if mantissas.allSatisfy({ $0 == mantissas[0] }) {
                out.append(constantColumn | UInt8(scale))
                ByteCoding.appendVarint(mantissas[0], to: &out)
                return
            }
            out.append(UInt8(scale))
            ByteCoding.appendVarint(mantissas[0], to: &out)
            var deltas: [UInt64] = []
            deltas.reserveCapacity(mantissas.count)
            for k in mantissas.indices.dropFirst() { deltas.append(ByteCoding.zigzag(mantissas[k] &- mantissas[k - 1])) }
            DeltaPacking.append(deltas, to: &out)
        } else {
            out.append(floatColumn)
            var previous: UInt64 = values[0].bitPattern
            ByteCoding.appendBigEndian(previous, to: &out)
            for v in values.dropFirst() {
                FloatXOR.append(v.bitPattern ^ previous, to: &out)
                previous = v.bitPattern
            }
        }
    }

    private static func readColumn(_ r: inout ByteReader, _ n: Int, _ set: (Int, Double) -> Void) throws(MetricsError) {
        guard let tag = r.byte() else { throw corrupt("missing column tag") }
        if tag == floatColumn {
            guard var bits = r.bigEndian64() else { throw corrupt("truncated float column") }
            set(0, Double(bitPattern: bits))
            for i in 1..<n {
                guard let x = FloatXOR.read(&r) else { throw corrupt("bad float value \(i)") }
                bits ^= x
                set(i, Double(bitPattern: bits))
            }
        } else if tag & constantColumn != 0 {
            let scale = Int(tag & ~constantColumn)
            guard scale <= DecimalScale.maxScale, let m = r.varint() else { throw corrupt("bad constant column") }
            let v = DecimalScale.value(m, scale: scale)
            for i in 0..<n { set(i, v) }
        } else {
            let scale = Int(tag)
            guard scale <= DecimalScale.maxScale else { throw corrupt("bad column tag \(tag)") }
            var i = 0
            guard DecimalSection.decode(&r, count: n, { m in set(i, DecimalScale.value(m, scale: scale)); i += 1 }) else {
                throw corrupt("truncated decimal column")
            }
        }
    }
}
