/// One parsed input line: where its series text is (a cache key for the series reference, so a
/// repeated label set is parsed once) and its samples.
public struct ImportedLine: Sendable {
    /// Byte range of the series part (`name{…}` or the JSON `metric` object) within the line.
    public var seriesKey: Range<Int> = 0..<0
    public var timestamps: [Int64] = []
    public var values: [Double] = []

    public init() {}

    mutating func reset() {
        seriesKey = 0..<0
        timestamps.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }
}

/// A line format `stratus import` reads. Parsers are stateless and never crash on bad input:
/// each problem is an `ImportRejection` naming the line and what to fix.
public protocol ImportLineParser: Sendable {
    /// Parses `line` into `out` (reset first). Returns false for lines that carry no data
    /// (blank, comments); throws the rejection for a malformed line.
    func parse(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int, into out: inout ImportedLine) throws(ImportRejection) -> Bool
    /// The labels of a series key that `parse` located (called once per distinct key).
    func labels(_ seriesKey: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(ImportRejection) -> Labels
}

extension ImportLineParser {
    /// Parses one line given as text; for tests and tools. Nil for lines without data.
    public func parse(line text: String, lineNumber: Int = 1) throws(ImportRejection) -> [Sample]? {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { (b) throws(ImportRejection) -> [Sample]? in
            let line = UnsafeBufferPointer(b)
            var out = ImportedLine()
            guard try parse(line, lineNumber: lineNumber, into: &out) else { return nil }
            let labels = try self.labels(UnsafeBufferPointer(rebasing: line[out.seriesKey]), lineNumber: lineNumber)
            return zip(out.timestamps, out.values).map { Sample(labels: labels, timestamp: $0, value: $1) }
        }
    }
}

/// The input formats `stratus import` understands.
public enum ImportFormat: String, Sendable, CaseIterable {
    /// VictoriaMetrics JSON lines, as `/api/v1/export` writes them.
    case vmJSON = "vm-json"
    /// Prometheus text exposition with millisecond timestamps.
    case prometheus

    /// The parser for this format.
    public var parser: any ImportLineParser {
        switch self {
        case .vmJSON: VMJSONLineParser()
        case .prometheus: PrometheusTextParser()
        }
    }

    /// The format a file name's extension names (`.json`, `.jsonl`, `.ndjson` → vm-json; `.prom`,
    /// `.txt` → prometheus), or nil.
    public static func byExtension(_ path: String) -> ImportFormat? {
        let lower = path.lowercased()
        for ext in [".json", ".jsonl", ".ndjson"] where lower.hasSuffix(ext) { return .vmJSON }
        for ext in [".prom", ".txt"] where lower.hasSuffix(ext) { return .prometheus }
        return nil
    }

    /// Guesses the format from a file name (`.json`, `.jsonl`, `.ndjson` → vm-json; `.prom`,
    /// `.txt` → prometheus), else from the first non-blank byte of `head` (`{` → vm-json).
    public static func detect(path: String, head: [UInt8]) -> ImportFormat {
        if let known = byExtension(path) { return known }
        let first = head.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
        return first == UInt8(ascii: "{") ? .vmJSON : .prometheus
    }
}
