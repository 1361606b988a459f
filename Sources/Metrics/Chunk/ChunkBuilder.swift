import CPrefetch

/// The open chunk of one series (the head), appendable in place; what `bytes()` returns is what is stored.
///
/// Holds two small byte arrays (timestamp runs, values) and a few scalars — no `[Point]` buffer.
/// Values start in decimal mode (mantissas at the smallest common scale); a value that needs more
/// decimals rescales what is there, and a value that is not decimal (NaN, ±Inf, -0.0, too many
/// digits) re-encodes the chunk in float mode. Format: Docs/format/chunk-v2.md.
public struct ChunkBuilder: Sendable {
    private var times = TimestampRunWriter(first: 0)
    private var values: [UInt8] = []
    public private(set) var count: Int = 0
    private var first: Int64 = 0
    private var isFloat = false
    private var scale = 0
    private var mSum: Int64 = 0, mMin: Int64 = 0, mMax: Int64 = 0, mLast: Int64 = 0
    private var floatAggregate = ChunkFormat.emptyAggregate
    private var lastBits: UInt64 = 0
    /// Decimal mode: `values` is the first mantissa, full packed groups, then the deltas of the
    /// open group as zigzag varints from `pendingStart` (`pendingCount` of them, < 16).
    private var pendingStart = 0
    private var pendingCount = 0

    public init() {}

    /// Reopens stored chunk bytes (a head snapshot) to keep appending. Throws MetricsError.corrupt.
    public init(reopening bytes: [UInt8]) throws {
        let state = try bytes.withUnsafeBufferPointer { buf throws(MetricsError) -> ChunkBuilder in
            let layout = try ChunkLayout.parse(buf)
            var b = ChunkBuilder()
            let h = layout.header
            guard h.count > 0 else { return b }
            guard let times = TimestampRunReader.resumeState(UnsafeBufferPointer(rebasing: buf[layout.timesStart..<layout.timesEnd]),
                                                             first: h.minT, count: h.count),
                  times.last == h.maxT else {
                throw ChunkLayout.corrupt("timestamp section does not decode to \(h.count) times ending at maxT")
            }
            b.times = times
            b.count = h.count
            b.first = h.minT
            b.isFloat = layout.isFloat
            b.scale = layout.scale
            if layout.isFloat {
                b.floatAggregate = h.aggregate
                b.lastBits = layout.lastBits
                b.values = Array(buf[layout.timesEnd...])
            } else {
                (b.mSum, b.mMin, b.mMax, b.mLast) = (layout.mSum, layout.mMin, layout.mMax, layout.mLast)
                var mantissas: [Int64] = []
                mantissas.reserveCapacity(h.count)
                if layout.isConstant {
                    mantissas = Array(repeating: layout.mMin, count: h.count)
                } else {
                    var r = ByteReader(buf, from: layout.timesEnd)
                    guard DecimalSection.decode(&r, count: h.count, { mantissas.append($0) }), r.isAtEnd,
                          mantissas.last == layout.mLast else {
                        throw ChunkLayout.corrupt("decimal values do not decode to \(h.count) mantissas ending at the last value")
                    }
                }
                b.rebuildDecimal(mantissas)
            }
            return b
        }
        // Check the value section decodes, so a corrupt snapshot fails here rather than later.
        _ = try Chunk(state.bytes()).forEach { _, _ in }
        self = state
    }

    /// Time of the first sample; valid when count > 0.
    public var minT: Int64 { first }
    /// Time of the last sample; valid when count > 0.
    public var maxT: Int64 { times.last }

    /// count, sum, min, max, last of the samples so far; nil when empty.
    public var aggregate: WindowAggregate? {
        guard count > 0 else { return nil }
        if isFloat { return floatAggregate }
        return WindowAggregate(count: count, sum: DecimalScale.value(mSum, scale: scale), min: DecimalScale.value(mMin, scale: scale),
                               max: DecimalScale.value(mMax, scale: scale), last: DecimalScale.value(mLast, scale: scale))
    }

    /// Appends a sample; precondition: count == 0 || t > maxT (the engine handles order and duplicates).
    /// Amortised O(1); switching scale or to float mode may re-encode what is there.
    public mutating func append(_ t: Int64, _ v: Double) {
        if count == 0 {
            first = t
            times = TimestampRunWriter(first: t)
            values.removeAll(keepingCapacity: true)
            if let (s, m) = DecimalScale.smallestScale(of: v) {
                isFloat = false
                scale = s
                (mSum, mMin, mMax, mLast) = (m, m, m, m)
                ByteCoding.appendVarint(m, to: &values)
                pendingStart = values.count
                pendingCount = 0
            } else {
                isFloat = true
                floatAggregate = WindowAggregate(v)
                lastBits = v.bitPattern
                ByteCoding.appendBigEndian(lastBits, to: &values)
            }
            count = 1
            return
        }
        precondition(t > times.last, "ChunkBuilder.append: time \(t) is not after the last time \(times.last)")
        times.append(t)
        if !isFloat {
            if let m = DecimalScale.mantissa(v, scale: scale), appendDecimal(m) {
                count += 1
                return
            }
            if let (s, m) = DecimalScale.smallestScale(of: v, from: scale + 1), rescale(to: s), appendDecimal(m) {
                count += 1
                return
            }
            switchToFloat()
        }
        appendFloat(v)
        count += 1
    }

    /// Adds a mantissa at the current scale; false (nothing changed) when the sum would overflow.
    @inline(__always)
    private mutating func appendDecimal(_ m: Int64) -> Bool {
        let (sum, overflow) = mSum.addingReportingOverflow(m)
        guard !overflow else { return false }
        mSum = sum
        ensureRoom()
        ByteCoding.appendVarint(m &- mLast, to: &values)
        pendingCount += 1
        if pendingCount == DeltaPacking.groupSize { packPending() }
        mLast = m
        if m < mMin { mMin = m }
        if m > mMax { mMax = m }
        return true
    }

    @inline(__always)
    private mutating func appendFloat(_ v: Double) {
        let bits = v.bitPattern
        ensureRoom()
        FloatXOR.append(bits ^ lastBits, to: &values)
        lastBits = bits
        floatAggregate.add(v)
    }

    /// Multiplies every stored mantissa by 10^(s - scale); false (nothing changed) when one would
    /// leave ±2^53 or the sum would overflow.
    private mutating func rescale(to s: Int) -> Bool {
        let factor = DecimalScale.pow10Int[s - scale]
        let (newMin, o1) = mMin.multipliedReportingOverflow(by: factor)
        let (newMax, o2) = mMax.multipliedReportingOverflow(by: factor)
        let (newSum, o3) = mSum.multipliedReportingOverflow(by: factor)
        guard !o1, !o2, !o3, newMin.magnitude <= DecimalScale.maxMantissa.magnitude,
              newMax.magnitude <= DecimalScale.maxMantissa.magnitude else { return false }
        var mantissas = decimalMantissas()
        for k in mantissas.indices { mantissas[k] &*= factor }
        rebuildDecimal(mantissas)
        (mMin, mMax, mSum, mLast) = (newMin, newMax, newSum, mLast &* factor)
        scale = s
        return true
    }

    /// Re-encodes the decimal values stored so far as float values.
    private mutating func switchToFloat() {
        let decoded = decimalMantissas().map { DecimalScale.value($0, scale: scale) }
        values.removeAll(keepingCapacity: true)
        isFloat = true
        lastBits = decoded[0].bitPattern
        ByteCoding.appendBigEndian(lastBits, to: &values)
        floatAggregate = WindowAggregate(decoded[0])
        for v in decoded.dropFirst() { appendFloat(v) }
    }

    /// The chunk as stored (header + payload).
    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        guard count > 0 else { return [ChunkFormat.decimal, 0] }
        let timesCount = times.encodedCount
        let constant = !isFloat && mMin == mMax
        out.reserveCapacity(64 + timesCount + (constant ? 0 : values.count))
        out.append(isFloat ? ChunkFormat.float : ChunkFormat.decimal)
        ByteCoding.appendUVarint(UInt64(count), to: &out)
        ByteCoding.appendVarint(first, to: &out)
        ByteCoding.appendUVarint(UInt64(bitPattern: times.last &- first), to: &out)
        if isFloat {
            for v in [floatAggregate.sum, floatAggregate.min, floatAggregate.max] { ByteCoding.appendBigEndian(v.bitPattern, to: &out) }
            ByteCoding.appendBigEndian(lastBits, to: &out)
        } else {
            out.append(UInt8(scale))
            for m in [mSum, mMin, mMax, mLast] { ByteCoding.appendVarint(m, to: &out) }
        }
        ByteCoding.appendUVarint(UInt64(timesCount), to: &out)
        out.append(contentsOf: times.encoded())
        if isFloat {
            out.append(contentsOf: values)
        } else if !constant {
            out.append(contentsOf: values[..<pendingStart])
            if pendingCount > 0 { DeltaPacking.appendGroup(pendingDeltas(), to: &out) }
        }
        return out
    }

    /// Hints the CPU to fetch the memory the next `append` to the builder at `builder` touches in
    /// its values buffer: the buffer's header (reference count, count, capacity) and the bytes at
    /// the open delta group, where the append writes. An append otherwise waits for both, one after
    /// the other: buffers lie scattered over a heap of GBs at millions of series.
    ///
    /// Reads the buffer's address from the builder's memory without touching the buffer (an
    /// `[UInt8]` is one pointer to its storage object, whose elements start 32 bytes in). Only
    /// hints follow from it, and a hint never faults, so a wrong guess costs a wasted fetch at most;
    /// `builder` itself must point at live memory the size of a `ChunkBuilder` (for a nil head,
    /// whatever bytes it holds are harmless).
    /// `offsets` is `appendPrefetchOffsets`, read once by the caller (a `static let` costs a
    /// `swift_once` call per use inside a loop).
    @inline(__always)
    static func prefetchForAppend(at builder: UnsafeRawPointer, offsets: (values: Int, open: Int)) {
        let storage = builder.load(fromByteOffset: offsets.values, as: UInt.self)
        let open = builder.load(fromByteOffset: offsets.open, as: Int.self)
        let header = UnsafeRawPointer(bitPattern: storage)
        stratus_prefetch_for_write(header)
        stratus_prefetch_for_write(header.map { $0 + 32 + Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: open)) })
    }

    /// Where a builder holds its values buffer and the open group's byte offset.
    static let appendPrefetchOffsets = (values: MemoryLayout<ChunkBuilder>.offset(of: \ChunkBuilder.values)!,
                                        open: MemoryLayout<ChunkBuilder>.offset(of: \ChunkBuilder.pendingStart)!)

    /// Grows `values` by 1.25x instead of the standard doubling: a head lives for up to 360
    /// samples, and doubling would leave up to half the buffer unused in every series' memory.
    @inline(__always)
    private mutating func ensureRoom() {
        if values.capacity - values.count < 16 { values.reserveCapacity(values.count + values.count / 4 + 32) }
    }

    /// Packs the 16 open deltas into a group.
    private mutating func packPending() {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: DeltaPacking.groupSize) { deltas in
            var n = 0
            values.withUnsafeBufferPointer { buf in
                var r = ByteReader(buf, from: pendingStart)
                while n < deltas.count, let u = r.uvarint() { deltas[n] = u; n += 1 }
            }
            values.removeSubrange(pendingStart...)
            DeltaPacking.appendGroup(deltas[..<n], to: &values)
        }
        pendingStart = values.count
        pendingCount = 0
    }

    /// The zigzag deltas of the open group.
    private func pendingDeltas() -> [UInt64] {
        values.withUnsafeBufferPointer { buf in
            var r = ByteReader(buf, from: pendingStart)
            var out: [UInt64] = []
            out.reserveCapacity(pendingCount)
            while let u = r.uvarint() { out.append(u) }
            return out
        }
    }

    /// Every stored mantissa (decimal mode).
    private func decimalMantissas() -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(count)
        let full = count - pendingCount
        values.withUnsafeBufferPointer { buf in
            var r = ByteReader(buf, to: pendingStart)
            _ = DecimalSection.decode(&r, count: full) { out.append($0) }
        }
        var m = out.last ?? 0
        for u in pendingDeltas() {
            m &+= ByteCoding.unzigzag(u)
            out.append(m)
        }
        return out
    }

    /// Re-encodes `mantissas` (all of them, decimal mode) into `values`.
    private mutating func rebuildDecimal(_ mantissas: [Int64]) {
        var out: [UInt8] = []
        out.reserveCapacity(16 + mantissas.count * 3 / 2)
        guard let first = mantissas.first else { values = out; pendingStart = 0; pendingCount = 0; return }
        ByteCoding.appendVarint(first, to: &out)
        var deltas: [UInt64] = []
        deltas.reserveCapacity(mantissas.count)
        for k in mantissas.indices.dropFirst() { deltas.append(ByteCoding.zigzag(mantissas[k] &- mantissas[k - 1])) }
        let full = deltas.count / DeltaPacking.groupSize * DeltaPacking.groupSize
        DeltaPacking.append(Array(deltas[..<full]), to: &out)
        pendingStart = out.count
        pendingCount = deltas.count - full
        for u in deltas[full...] { ByteCoding.appendUVarint(u, to: &out) }
        values = out
    }

    /// Bytes of memory this builder holds (buffers' capacity + inline fields), for the <= 1 KiB/series budget.
    public var memoryFootprint: Int {
        // Each non-empty array buffer also carries a 32-byte header (object header, count, capacity).
        func buffer(_ capacity: Int) -> Int { capacity > 0 ? capacity + 32 : 0 }
        return MemoryLayout<ChunkBuilder>.size + buffer(values.capacity) + buffer(times.capacity)
    }
}

/// Byte-aligned XOR of consecutive IEEE-754 bit patterns: per value a token byte, then the
/// non-zero middle bytes of `xor`. Token 0x00 = same bits as before; otherwise
/// `leadingZeroBytes << 4 | significantBytes` (0-7, 1-8) followed by that many bytes, big-endian.
enum FloatXOR {
    @inline(__always)
    static func append(_ xor: UInt64, to out: inout [UInt8]) {
        guard xor != 0 else { out.append(0); return }
        let lead = xor.leadingZeroBitCount >> 3
        let trail = xor.trailingZeroBitCount >> 3
        let n = 8 - lead - trail
        out.append(UInt8(lead << 4 | n))
        let v = xor >> UInt64(trail * 8)
        var shift = (n - 1) * 8
        while shift >= 0 {
            out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift)))
            shift -= 8
        }
    }

    /// The next xor; nil on a malformed token or truncation.
    @inline(__always)
    static func read(_ r: inout ByteReader) -> UInt64? {
        guard let token = r.byte() else { return nil }
        if token == 0 { return 0 }
        let lead = Int(token >> 4)
        let n = Int(token & 0x0F)
        guard n >= 1, lead + n <= 8, r.end - r.position >= n else { return nil }
        var v: UInt64 = 0
        for k in 0..<n { v = v << 8 | UInt64(r.base[r.position + k]) }
        r.position += n
        guard v != 0 else { return nil }
        return v << UInt64((8 - lead - n) * 8)
    }
}
