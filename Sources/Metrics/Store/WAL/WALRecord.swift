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
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(1 + ids.count * 11)
        out.append(samplesType)
        var prevT: Int64 = 0
        var prevID: UInt64 = 0
        var i = 0
        let n = ids.count
        while i < n {
            let t = timestamps[i]
            var j = i + 1
            while j < n && timestamps[j] == t { j += 1 }
            putUVarint(zigzag(t &- prevT), &out)
            putUVarint(UInt64(j - i), &out)
            for k in i..<j {
                putUVarint(zigzag(Int64(bitPattern: ids[k] &- prevID)), &out)
                prevID = ids[k]
                let bits = values[k].bitPattern
                for s in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(s))) }
            }
            prevT = t
            i = j
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
