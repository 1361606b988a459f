/// The timestamp section of a chunk (and the bucket ends of a rollup value): after the first time,
/// which the caller stores, run-length encoded delta-of-deltas, i.e. pairs
/// `(zigzag varint dod, uvarint run)` meaning "the next `run` deltas each differ from the delta
/// before them by `dod`". The first delta's dod is relative to 0. A regular grid costs two pairs.
/// All arithmetic wraps, so any strictly increasing Int64 sequence round-trips.
struct TimestampRunWriter: Sendable {
    /// Finished pairs; the open pair lives in `pendingDod`/`pendingRun`.
    private(set) var bytes: [UInt8] = []
    private(set) var last: Int64 = 0
    private(set) var lastDelta: Int64 = 0
    private var pendingDod: Int64 = 0
    private var pendingRun: UInt64 = 0

    /// Starts after the first time `first`.
    init(first: Int64) { last = first }

    /// Resumes from decoded state (see `TimestampRunReader.resumeState`).
    init(bytes: [UInt8], last: Int64, lastDelta: Int64, pendingDod: Int64, pendingRun: UInt64) {
        self.bytes = bytes
        self.last = last
        self.lastDelta = lastDelta
        self.pendingDod = pendingDod
        self.pendingRun = pendingRun
    }

    @inline(__always)
    mutating func append(_ t: Int64) {
        let delta = t &- last
        let dod = delta &- lastDelta
        if pendingRun > 0 && dod == pendingDod {
            pendingRun += 1
        } else {
            flushPending()
            pendingDod = dod
            pendingRun = 1
        }
        last = t
        lastDelta = delta
    }

    private mutating func flushPending() {
        guard pendingRun > 0 else { return }
        ByteCoding.appendVarint(pendingDod, to: &bytes)
        ByteCoding.appendUVarint(pendingRun, to: &bytes)
    }

    /// The finished pairs and the open one: the section as stored.
    func encoded() -> [UInt8] {
        var copy = self
        copy.flushPending()
        return copy.bytes
    }

    /// Size of `encoded()` without building it.
    var encodedCount: Int {
        pendingRun > 0
            ? bytes.count + ByteCoding.uvarintSize(ByteCoding.zigzag(pendingDod)) + ByteCoding.uvarintSize(pendingRun)
            : bytes.count
    }

    var capacity: Int { bytes.capacity }
}

/// Decodes a `TimestampRunWriter` section one time at a time.
struct TimestampRunReader {
    var reader: ByteReader
    private(set) var t: Int64
    private(set) var delta: Int64 = 0
    private var dod: Int64 = 0
    private var run: UInt64 = 0

    init(_ reader: ByteReader, first: Int64) {
        self.reader = reader
        self.t = first
    }

    /// Advances to the next time; nil when the section is truncated or malformed.
    @inline(__always)
    mutating func next() -> Int64? {
        if run == 0 {
            guard let d = reader.varint(), let r = reader.uvarint(), r > 0 else { return nil }
            dod = d
            run = r
        }
        run -= 1
        delta &+= dod
        t &+= delta
        return t
    }

    /// Decodes all `count - 1` remaining times and returns what a writer needs to keep
    /// appending: the section bytes without the last pair, and that pair.
    static func resumeState(_ section: UnsafeBufferPointer<UInt8>, first: Int64, count: Int)
        -> TimestampRunWriter?
    {
        guard count > 1 else {
            return section.isEmpty ? TimestampRunWriter(first: first) : nil
        }
        var r = ByteReader(section)
        var t = first
        var delta: Int64 = 0
        var remaining = UInt64(count - 1)
        var lastPairStart = 0
        var lastDod: Int64 = 0
        var lastRun: UInt64 = 0
        while remaining > 0 {
            lastPairStart = r.position
            guard let d = r.varint(), let run = r.uvarint(), run > 0, run <= remaining else { return nil }
            for _ in 0..<run {
                delta &+= d
                t &+= delta
            }
            remaining -= run
            lastDod = d
            lastRun = run
        }
        guard r.isAtEnd else { return nil }
        return TimestampRunWriter(bytes: Array(section[0..<lastPairStart]), last: t, lastDelta: delta,
                                  pendingDod: lastDod, pendingRun: lastRun)
    }
}
