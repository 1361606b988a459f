/// The agent protocol's compact batch (`AgentProtocol.refBatchContentType`): one entry per sample,
/// naming its series by the ref the manager answered for it earlier (`AgentPushReply.refs`), or
/// by its text the first time (and again after the manager forgot the refs, e.g. it restarted and
/// answered 409). The manager then neither inflates, scans nor hashes ~120 bytes of text per
/// sample: it reads a varint and checks the ref belongs to the pushing host.
///
/// Bytes: `STB1`, then entries until the end of the body:
/// - uvarint ref: the series' ref from an earlier reply; 0 = the series text follows as
///   uvarint length + bytes (`name{k="v",…}` exactly as in the text format);
/// - varint timestamp (zigzag ms), as a delta from the previous entry's (the first from 0);
/// - the value's IEEE-754 bit pattern, 8 bytes big-endian.
///
/// ```swift
/// var batch = AgentRefBatchEncoder()
/// batch.append(seriesText: text, value: 12.5, timestamp: stamp)   // first push of a series
/// batch.append(ref: 42, value: 13.0, timestamp: stamp + 10_000)    // later ones
/// // POST batch.bytes with Content-Type AgentProtocol.refBatchContentType
/// ```
public struct AgentRefBatchEncoder: Sendable {
    public static let magic: [UInt8] = Array("STB1".utf8)

    /// The body so far.
    public private(set) var bytes: [UInt8]
    /// Entries so far.
    public private(set) var count = 0
    /// Entries that carry their series text; the reply's `refs` answers them in this order.
    public private(set) var textCount = 0
    private var lastTimestamp: Int64 = 0

    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(contentsOf: Self.magic)
    }

    /// Appends a sample of a series the manager gave `ref` for (`ref` > 0).
    public mutating func append(ref: UInt64, value: Double, timestamp: Int64) {
        precondition(ref > 0, "ref 0 means 'text follows': use append(seriesText:value:timestamp:)")
        ByteCoding.appendUVarint(ref, to: &bytes)
        appendPoint(value, timestamp)
    }

    /// Appends a sample naming its series by text (`name{k="v",…}`, as `AgentBatchEncoder.seriesText` makes it).
    public mutating func append(seriesText: [UInt8], value: Double, timestamp: Int64) {
        bytes.append(0)
        ByteCoding.appendUVarint(UInt64(seriesText.count), to: &bytes)
        bytes.append(contentsOf: seriesText)
        textCount += 1
        appendPoint(value, timestamp)
    }

    @inline(__always)
    private mutating func appendPoint(_ value: Double, _ timestamp: Int64) {
        ByteCoding.appendVarint(timestamp &- lastTimestamp, to: &bytes)
        lastTimestamp = timestamp
        ByteCoding.appendBigEndian(value.bitPattern, to: &bytes)
        count += 1
    }
}

/// A decoded compact batch: per entry its ref (0: the text at `textRanges`, in entry order), time and value.
struct AgentRefBatch {
    var refs: [UInt64] = []
    var timestamps: [Int64] = []
    var values: [Double] = []
    /// For the entries with ref 0, in order: the entry index and where its text lies in the body.
    var textEntries: [Int] = []
    var textRanges: [Range<Int>] = []

    /// Reads `body`; throws `MetricsError.invalidSample` naming the byte where it went wrong.
    static func decode(_ body: UnsafeBufferPointer<UInt8>) throws(MetricsError) -> AgentRefBatch {
        let magic = AgentRefBatchEncoder.magic
        guard body.count >= magic.count, body.prefix(magic.count).elementsEqual(magic) else {
            throw .invalidSample("agent batch", reason: "a \(AgentProtocol.refBatchContentType) body starts with 'STB1'; send that format or \(AgentProtocol.contentType)")
        }
        var batch = AgentRefBatch()
        let expected = body.count / 10 + 1
        batch.refs.reserveCapacity(expected)
        batch.timestamps.reserveCapacity(expected)
        batch.values.reserveCapacity(expected)
        var r = ByteReader(body, from: magic.count)
        var t: Int64 = 0
        while !r.isAtEnd {
            let at = r.position
            func bad(_ what: String) -> MetricsError {
                .invalidSample("agent batch", reason: "entry \(batch.refs.count + 1) (byte \(at)): \(what); the body is not a valid STB1 batch")
            }
            guard let ref = r.uvarint() else { throw bad("truncated or overlong ref") }
            if ref == 0 {
                guard let length = r.count(), length > 0, length <= r.end - r.position else { throw bad("series text length past the end") }
                batch.textEntries.append(batch.refs.count)
                batch.textRanges.append(r.position..<(r.position + length))
                r.position += length
            }
            guard let delta = r.varint() else { throw bad("truncated timestamp") }
            guard let bits = r.bigEndian64() else { throw bad("truncated value") }
            t &+= delta
            batch.refs.append(ref)
            batch.timestamps.append(t)
            batch.values.append(Double(bitPattern: bits))
        }
        return batch
    }
}
