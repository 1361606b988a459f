/// Count of one kind of refusal with the first few examples, so a summary stays short.
public struct RejectionTally: Sendable, Equatable {
    /// How many were refused for this reason (lines for parse errors, samples for store refusals).
    public var count = 0
    /// 1-based input line numbers of the first refusals (parse errors only).
    public var firstLines: [Int] = []
    /// The first refusals' messages.
    public var firstMessages: [String] = []

    public static let examples = 3

    public init() {}

    mutating func add(count n: Int = 1, line: Int?, message: String) {
        count += n
        if firstMessages.count < Self.examples {
            firstMessages.append(message)
            if let line { firstLines.append(line) }
        }
    }

    mutating func merge(_ o: RejectionTally) {
        count += o.count
        for (k, m) in o.firstMessages.enumerated() where firstMessages.count < Self.examples {
            firstMessages.append(m)
            if k < o.firstLines.count { firstLines.append(o.firstLines[k]) }
        }
    }
}

/// What an import read, stored and refused.
public struct ImportSummary: Sendable, Equatable {
    /// Samples the store accepted.
    public var accepted = 0
    /// Lines read (data, comments and blank lines).
    public var lines = 0
    /// Bytes read.
    public var bytes: Int64 = 0
    /// Malformed lines by kind; their samples never reached the store.
    public var parseRejections: [ImportRejectionKind: RejectionTally] = [:]
    /// Samples the store refused by reason (from `WriteReport`, and series it would not create).
    public var storeRejections: [SampleRejection.Reason: RejectionTally] = [:]
    /// Wall time in seconds.
    public var elapsed: Double = 0

    public init() {}

    /// Lines refused by the parsers.
    public var rejectedLines: Int { parseRejections.values.reduce(0) { $0 + $1.count } }
    /// Samples refused by the store.
    public var rejectedSamples: Int { storeRejections.values.reduce(0) { $0 + $1.count } }
    /// Accepted samples per second of wall time.
    public var samplesPerSecond: Double { elapsed > 0 ? Double(accepted) / elapsed : 0 }

    /// Adds another input's figures (elapsed adds up too).
    public mutating func merge(_ o: ImportSummary) {
        accepted += o.accepted
        lines += o.lines
        bytes += o.bytes
        elapsed += o.elapsed
        for (k, t) in o.parseRejections { parseRejections[k, default: RejectionTally()].merge(t) }
        for (k, t) in o.storeRejections { storeRejections[k, default: RejectionTally()].merge(t) }
    }

    /// The summary as the lines `stratus import` prints.
    public func report(label: String = "total") -> [String] {
        var out: [String] = []
        let rate = Int(samplesPerSecond.rounded())
        out.append("\(label): \(accepted) samples accepted, \(rejectedLines) lines rejected, \(rejectedSamples) samples refused by the store; \(lines) lines, \(bytes) bytes in \(String(format2: elapsed)) s (\(rate) samples/s)")
        for (kind, t) in parseRejections.sorted(by: { $0.key < $1.key }) {
            let more = t.count > t.firstLines.count ? ", …" : ""
            out.append("  rejected \(kind.rawValue): \(t.count) lines (lines \(t.firstLines.map(String.init).joined(separator: ", "))\(more))")
            if let m = t.firstMessages.first { out.append("    first: \(m)") }
        }
        for (reason, t) in storeRejections.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            out.append("  refused by the store, \(reason.rawValue): \(t.count) samples")
            if let m = t.firstMessages.first { out.append("    first: \(m)") }
        }
        return out
    }
}

extension String {
    /// `12.34`: two decimals without Foundation.
    init(format2 v: Double) {
        let c = Int((v * 100).rounded())
        let frac = abs(c % 100)
        self = "\(c / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}

/// Where an import is, for the progress bar.
public struct ImportProgress: Sendable {
    /// Bytes read so far.
    public var bytesRead: Int64
    /// Input size when known (a regular file), nil for pipes and stdin.
    public var totalBytes: Int64?
    /// Samples handed to the store so far.
    public var samples: Int
    /// Seconds since this input started.
    public var elapsed: Double
    /// True for the last report of an input.
    public var done: Bool
}
