/// The payloads of WAL records (Docs/format/metric-store-v2.md, "WAL"):
///
/// - series:  `0x01` uvarint(id) canonical-labels…
/// - samples: `0x02` then groups to the end: zigzag(t − previous t) uvarint(n) and n times
///   zigzag(id − previous id) value(8 bytes, IEEE-754 little-endian). "previous" starts at 0 and
///   carries across groups; consecutive samples with the same timestamp share a group.
enum WALRecord {
    static let seriesType: UInt8 = 1
    static let samplesType: UInt8 = 2

    /// A series record.
    static func series(id: UInt64, labels: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [seriesType]
        out.reserveCapacity(labels.count + 10)
        putUVarint(id, &out)
        out.append(contentsOf: labels)
        return out
    }

    /// Appends a samples record for the parallel arrays to `out` (cleared first).
    static func samples(ids: [UInt64], timestamps: [Int64], values: [Double], into out: inout [UInt8]) {
        let used = ids.withUnsafeBufferPointer { i in
            timestamps.withUnsafeBufferPointer { t in values.withUnsafeBufferPointer { v in encodeSamples(ids: i, timestamps: t, values: v, into: &out) } }
        }
        out.removeLast(out.count - used)
    }

    /// Writes a samples record for the parallel buffers into `out`'s first bytes and returns its
    /// length. `out` is scratch space: grown (never shrunk) to the worst case, bytes past the
    /// returned length are garbage.
    static func encodeSamples(
        ids: UnsafeBufferPointer<UInt64>, timestamps: UnsafeBufferPointer<Int64>, values: UnsafeBufferPointer<Double>,
        into out: inout [UInt8]
    ) -> Int {
        let n = ids.count
        // Worst case per sample: a group of its own (time delta + count, 10 bytes each), the id delta and the value.
        let bound = 1 + n * 38
        if out.count < bound { out.append(contentsOf: repeatElement(0, count: bound - out.count)) }
        return out.withUnsafeMutableBufferPointer { buf -> Int in
            let p = buf.baseAddress!
            var o = 0
            @inline(__always) func put(_ value: UInt64) {
                var v = value
                while v >= 0x80 {
                    p[o] = UInt8(truncatingIfNeeded: v) | 0x80
                    o += 1
                    v >>= 7
                }
                p[o] = UInt8(truncatingIfNeeded: v)
                o += 1
            }
            p[o] = samplesType
            o += 1
            var prevT: Int64 = 0
            var prevID: UInt64 = 0
            var i = 0
            while i < n {
                let t = timestamps[i]
                var j = i + 1
                while j < n && timestamps[j] == t { j += 1 }
                put(zigzag(t &- prevT))
                put(UInt64(j - i))
                for k in i..<j {
                    put(zigzag(Int64(bitPattern: ids[k] &- prevID)))
                    prevID = ids[k]
                    UnsafeMutableRawPointer(p + o).storeBytes(of: values[k].bitPattern.littleEndian, as: UInt64.self)
                    o += 8
                }
                prevT = t
                i = j
            }
            return o
        }
    }

    /// A decoded record.
    enum Decoded {
        case series(id: UInt64, labels: [UInt8])
        case samples
    }

    /// Decodes `payload`; for a samples record calls `sample` for each sample in order.
    /// Throws `MetricsError.corrupt` (with `location`) on malformed bytes.
    static func decode(_ payload: ArraySlice<UInt8>, location: String, sample: (UInt64, Int64, Double) throws -> Void) throws -> Decoded {
        var r = Reader(bytes: payload, location: location)
        let type = try r.byte()
        switch type {
        case seriesType:
            let id = try r.uvarint()
            return .series(id: id, labels: Array(payload[r.index...]))
        case samplesType:
            var prevT: Int64 = 0
            var prevID: UInt64 = 0
            while !r.atEnd {
                let t = prevT &+ unzigzag(try r.uvarint())
                let n = try r.uvarint()
                guard n > 0, n <= UInt64(payload.count) else { throw r.error("bad group size \(n)") }
                for _ in 0..<n {
                    let id = prevID &+ UInt64(bitPattern: unzigzag(try r.uvarint()))
                    let v = Double(bitPattern: try r.uint64LE())
                    try sample(id, t, v)
                    prevID = id
                }
                prevT = t
            }
            return .samples
        default:
            throw r.error("unknown record type \(type)")
        }
    }

    @inline(__always) static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    @inline(__always) static func unzigzag(_ u: UInt64) -> Int64 { Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1) }

    @inline(__always) static func putUVarint(_ value: UInt64, _ out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    struct Reader {
        let bytes: ArraySlice<UInt8>
        var index: Int
        let location: String

        init(bytes: ArraySlice<UInt8>, location: String) {
            self.bytes = bytes
            self.index = bytes.startIndex
            self.location = location
        }

        var atEnd: Bool { index >= bytes.endIndex }

        func error(_ reason: String) -> MetricsError {
            MetricsError.corrupt(key: location, reason: "WAL record: \(reason) at byte \(index - bytes.startIndex)")
        }

        mutating func byte() throws -> UInt8 {
            guard index < bytes.endIndex else { throw error("truncated") }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func uvarint() throws -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = try byte()
                guard shift < 64 else { throw error("varint too long") }
                v |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
        }

        mutating func uint64LE() throws -> UInt64 {
            guard bytes.endIndex - index >= 8 else { throw error("truncated value") }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(bytes[index + k]) << UInt64(8 * k) }
            index += 8
            return v
        }
    }
}
