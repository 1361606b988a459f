/// The payloads of WAL records (Docs/format/metric-store-v2.md, "WAL"):
///
/// - series:  `0x01` uvarint(id) canonical-labels…
/// - samples by series (written since format v2.1): `0x03` then runs to the end, one per stretch
///   of consecutive samples of one series: zigzag(id − previous id) uvarint(n)
///   zigzag(t₀ − previous t₀), then (zigzag dod, uvarint count) pairs covering the n − 1 time
///   deltas (dod = delta − previous delta, the first against 0), then the values: a byte s ≤ 9 and
///   n × zigzag(m − previous m) for decimal mantissas at scale s (`m / 10^s` is the value bit for
///   bit; the first against 0), or `0xFF` and n × f64 LE. "previous" id and t₀ start at 0 and
///   carry across runs.
/// - samples by time (older versions wrote it, still replayed): `0x02` then groups to the end:
///   zigzag(t − previous t) uvarint(n) and n times zigzag(id − previous id) value(f64 LE).
enum WALRecord {
    static let seriesType: UInt8 = 1
    static let timeGroupsType: UInt8 = 2
    static let seriesRunsType: UInt8 = 3
    /// The value-section marker of a run stored as raw doubles.
    static let floatRun: UInt8 = 0xFF

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
        var scratch: [Int64] = []
        let used = ids.withUnsafeBufferPointer { i in
            timestamps.withUnsafeBufferPointer { t in
                values.withUnsafeBufferPointer { v in encodeSamples(ids: i, timestamps: t, values: v, into: &out, scratch: &scratch) }
            }
        }
        out.removeLast(out.count - used)
    }

    /// Writes a samples record (`0x03`, by series runs) for the parallel buffers into `out`'s first
    /// bytes and returns its length. `out` and `scratch` are reusable scratch space: grown (never
    /// shrunk) to the worst case; bytes past the returned length are garbage.
    ///
    /// An import batch (each series' hour of 10 s points together) costs about 2–3 bytes per
    /// sample: a regular time grid is two pairs per run and two-decimal gauges are 1–3 byte deltas.
    static func encodeSamples(
        ids: UnsafeBufferPointer<UInt64>, timestamps: UnsafeBufferPointer<Int64>, values: UnsafeBufferPointer<Double>,
        into out: inout [UInt8], scratch: inout [Int64]
    ) -> Int {
        let n = ids.count
        // Worst case per sample: a run of its own (id, count, t0: 10 bytes each; scale 1; value 10)
        // or, inside a run, a time pair (20) and a value (10).
        let bound = 1 + n * 41
        if out.count < bound { out.append(contentsOf: repeatElement(0, count: bound - out.count)) }
        var longest = 0, i = 0
        while i < n {
            var j = i + 1
            while j < n && ids[j] == ids[i] { j += 1 }
            longest = max(longest, j - i)
            i = j
        }
        if scratch.count < longest { scratch.append(contentsOf: repeatElement(0, count: longest - scratch.count)) }
        return out.withUnsafeMutableBufferPointer { buf -> Int in
            scratch.withUnsafeMutableBufferPointer { mantissas -> Int in
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
                p[o] = seriesRunsType
                o += 1
                var prevID: UInt64 = 0
                var prevT0: Int64 = 0
                var i = 0
                while i < n {
                    let id = ids[i]
                    var j = i + 1
                    while j < n && ids[j] == id { j += 1 }
                    put(zigzag(Int64(bitPattern: id &- prevID)))
                    put(UInt64(j - i))
                    put(zigzag(timestamps[i] &- prevT0))
                    prevID = id
                    prevT0 = timestamps[i]
                    // Time deltas as (dod, count) pairs.
                    var last = timestamps[i], lastDelta: Int64 = 0
                    var pendingDod: Int64 = 0, pendingRun: UInt64 = 0
                    for k in (i + 1)..<max(i + 1, j) {
                        let delta = timestamps[k] &- last
                        let dod = delta &- lastDelta
                        if pendingRun > 0 && dod == pendingDod {
                            pendingRun += 1
                        } else {
                            if pendingRun > 0 { put(zigzag(pendingDod)); put(pendingRun) }
                            pendingDod = dod
                            pendingRun = 1
                        }
                        last = timestamps[k]
                        lastDelta = delta
                    }
                    if pendingRun > 0 { put(zigzag(pendingDod)); put(pendingRun) }
                    // Values: decimal mantissas at the run's smallest common scale, else doubles.
                    if let scale = decimalMantissas(UnsafeBufferPointer(rebasing: values[i..<j]), into: mantissas.baseAddress!) {
                        p[o] = UInt8(scale)
                        o += 1
                        var prev: Int64 = 0
                        for k in 0..<(j - i) {
                            let m = mantissas[k]
                            put(zigzag(m &- prev))
                            prev = m
                        }
                    } else {
                        p[o] = floatRun
                        o += 1
                        for k in i..<j {
                            UnsafeMutableRawPointer(p + o).storeBytes(of: values[k].bitPattern.littleEndian, as: UInt64.self)
                            o += 8
                        }
                    }
                    i = j
                }
                return o
            }
        }
    }

    /// 10^s for s in 0...9, exact.
    private static let pow10: (Double, Double, Double, Double, Double, Double, Double, Double, Double, Double) =
        (1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9)

    @inline(__always)
    private static func power(_ s: Int) -> Double {
        withUnsafeBytes(of: pow10) { $0.load(fromByteOffset: s &* 8, as: Double.self) }
    }

    /// The smallest scale s ≤ 9 at which every value is decimal (`Double(m) / 10^s` equals it bit
    /// for bit, |m| ≤ 2^53), with the mantissas written to `out`; nil when some value is not
    /// (NaN, ±Inf, -0.0, more digits). The same rule as `DecimalScale`: a value decimal at s stays
    /// decimal at every larger scale within 2^53, so earlier mantissas are just multiplied.
    @inline(__always)
    static func decimalMantissas(_ values: UnsafeBufferPointer<Double>, into out: UnsafeMutablePointer<Int64>) -> Int? {
        let limit = 9_007_199_254_740_992.0   // 2^53
        var scale = 0
        var factor = 1.0
        for k in 0..<values.count {
            let v = values[k]
            var x = v * factor
            if x.magnitude <= limit {
                let m = Int64(x.rounded())
                if (Double(m) / factor).bitPattern == v.bitPattern {
                    out[k] = m
                    continue
                }
            }
            // Needs a larger scale (or is not decimal at all).
            guard v.isFinite else { return nil }
            var s = scale + 1
            var found: Int64?
            while s <= DecimalScale.maxScale {
                let f = power(s)
                x = v * f
                guard x.magnitude <= limit else { return nil }
                let m = Int64(x.rounded())
                if (Double(m) / f).bitPattern == v.bitPattern { found = m; break }
                s += 1
            }
            guard let m = found else { return nil }
            let up = DecimalScale.pow10Int[s - scale]
            for e in 0..<k {
                let (scaled, overflow) = out[e].multipliedReportingOverflow(by: up)
                guard !overflow, scaled.magnitude <= UInt64(1) << 53 else { return nil }
                out[e] = scaled
            }
            out[k] = m
            scale = s
            factor = power(s)
        }
        return scale
    }

    /// Writes a by-time samples record (`0x02`, what versions before 2.1 logged) into `out`'s
    /// first bytes and returns its length; kept so tests can check such a WAL still replays.
    static func encodeTimeGroups(
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
            p[o] = timeGroupsType
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
        case seriesRunsType:
            var prevID: UInt64 = 0
            var prevT0: Int64 = 0
            var ts: [Int64] = []
            while !r.atEnd {
                let id = prevID &+ UInt64(bitPattern: unzigzag(try r.uvarint()))
                let n = try r.uvarint()
                guard n > 0, n <= UInt64(payload.count) else { throw r.error("bad run length \(n)") }
                let t0 = prevT0 &+ unzigzag(try r.uvarint())
                prevID = id
                prevT0 = t0
                ts.removeAll(keepingCapacity: true)
                ts.append(t0)
                var delta: Int64 = 0
                while UInt64(ts.count) < n {
                    let dod = unzigzag(try r.uvarint())
                    let count = try r.uvarint()
                    guard count > 0, count <= n - UInt64(ts.count) else { throw r.error("bad time pair count \(count)") }
                    for _ in 0..<count {
                        delta = delta &+ dod
                        ts.append(ts[ts.count - 1] &+ delta)
                    }
                }
                let scale = try r.byte()
                if scale == floatRun {
                    for t in ts { try sample(id, t, Double(bitPattern: try r.uint64LE())) }
                } else {
                    guard scale <= DecimalScale.maxScale else { throw r.error("bad value scale \(scale)") }
                    let f = DecimalScale.pow10[Int(scale)]
                    var m: Int64 = 0
                    for t in ts {
                        m = m &+ unzigzag(try r.uvarint())
                        try sample(id, t, Double(m) / f)
                    }
                }
            }
            return .samples
        case timeGroupsType:
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
