/// Prometheus text exposition with timestamps: `name{k="v",…} value timestamp_ms`.
/// `#` lines (HELP, TYPE, comments) and blank lines carry no data; label values may hold
/// `\\`, `\"` and `\n` escapes; values may be `NaN`, `+Inf`, `-Inf`. A line without a timestamp
/// is refused (an import has no "now" to give it).
public struct PrometheusTextParser: ImportLineParser {
    public init() {}

    /// Calls `body` with each line of `text` (without its `\n` and a `\r` before it), the line's
    /// offset in `text` and its 1-based number, until `body` returns false. Returns false then.
    @inlinable
    public static func forEachLine(_ text: UnsafeBufferPointer<UInt8>,
                                   _ body: (_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ number: Int) throws -> Bool) rethrows -> Bool {
        var i = 0, number = 0
        let n = text.count
        while i < n {
            var j = i
            while j < n && text[j] != 0x0A { j += 1 }
            number += 1
            var end = j
            if end > i && text[end - 1] == 0x0D { end -= 1 }
            guard try body(UnsafeBufferPointer(rebasing: text[i..<end]), i, number) else { return false }
            i = j + 1
        }
        return true
    }

    public func parse(_ b: UnsafeBufferPointer<UInt8>, lineNumber: Int, into out: inout ImportedLine) throws(ImportRejection) -> Bool {
        out.reset()
        let n = b.count
        var i = 0
        while i < n, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
        if i == n || b[i] == UInt8(ascii: "#") { return false }
        func reject(_ kind: ImportRejectionKind, _ reason: String) -> ImportRejection {
            ImportRejection(line: lineNumber, kind: kind, reason: reason)
        }
        let seriesStart = i
        guard Self.isNameStart(b[i]) else {
            if b[i] == UInt8(ascii: "{") { throw reject(.missingField, "the series has no metric name before '{'") }
            throw reject(.syntax, "expected a metric name at column \(i + 1)")
        }
        while i < n, Self.isNameChar(b[i]) { i += 1 }
        if i < n, b[i] == UInt8(ascii: "{") {
            i += 1
            var inQuotes = false
            var closed = false
            while i < n {
                let c = b[i]
                if inQuotes {
                    if c == UInt8(ascii: "\\") { i += 1 } else if c == UInt8(ascii: "\"") { inQuotes = false }
                } else if c == UInt8(ascii: "\"") {
                    inQuotes = true
                } else if c == UInt8(ascii: "}") {
                    closed = true
                    i += 1
                    break
                }
                i += 1
            }
            guard closed else { throw reject(.syntax, "the label set is not closed with '}'") }
        }
        out.seriesKey = seriesStart..<i
        guard i < n, b[i] == 0x20 || b[i] == 0x09 else {
            throw reject(i < n ? .syntax : .badValue, i < n ? "expected a space after the series at column \(i + 1)" : "the line has no value")
        }
        while i < n, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
        let valueStart = i
        while i < n, b[i] != 0x20 && b[i] != 0x09 { i += 1 }
        let valueBytes = UnsafeBufferPointer(rebasing: b[valueStart..<i])
        guard !valueBytes.isEmpty else { throw reject(.badValue, "the line has no value") }
        guard let value = ImportNumbers.double(valueBytes) else {
            throw reject(.badValue, "'\(String(decoding: valueBytes, as: UTF8.self))' is not a number (nor NaN, +Inf, -Inf)")
        }
        while i < n, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
        let tsStart = i
        while i < n, b[i] != 0x20 && b[i] != 0x09 { i += 1 }
        let tsBytes = UnsafeBufferPointer(rebasing: b[tsStart..<i])
        guard !tsBytes.isEmpty else {
            throw reject(.missingField, "the sample has no timestamp; import needs `name{…} value timestamp_ms`")
        }
        guard let ts = ImportNumbers.timestamp(tsBytes) else {
            throw reject(.badTimestamp, "'\(String(decoding: tsBytes, as: UTF8.self))' is not a timestamp in milliseconds >= 0")
        }
        while i < n, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
        guard i == n else { throw reject(.syntax, "unexpected text after the timestamp at column \(i + 1)") }
        out.timestamps.append(ts)
        out.values.append(value)
        return true
    }

    public func labels(_ b: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(ImportRejection) -> Labels {
        func reject(_ kind: ImportRejectionKind, _ reason: String) -> ImportRejection {
            ImportRejection(line: lineNumber, kind: kind, reason: reason)
        }
        let n = b.count
        var i = 0
        while i < n, Self.isNameChar(b[i]) { i += 1 }
        var dict: [String: String] = [Labels.nameKey: String(decoding: UnsafeBufferPointer(rebasing: b[0..<i]), as: UTF8.self)]
        guard i < n else { return try Self.validated(dict, lineNumber: lineNumber) }
        i += 1  // '{'
        while true {
            while i < n, b[i] == 0x20 || b[i] == 0x09 || b[i] == UInt8(ascii: ",") { i += 1 }
            guard i < n else { throw reject(.syntax, "the label set is not closed with '}'") }
            if b[i] == UInt8(ascii: "}") { break }
            let nameStart = i
            while i < n, Self.isNameChar(b[i]) { i += 1 }
            let name = String(decoding: UnsafeBufferPointer(rebasing: b[nameStart..<i]), as: UTF8.self)
            while i < n, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
            guard !name.isEmpty, i < n, b[i] == UInt8(ascii: "=") else {
                throw reject(.syntax, "expected label=\"value\" at column \(i + 1) of the series")
            }
            i += 1
            while i < n, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
            guard i < n, b[i] == UInt8(ascii: "\"") else { throw reject(.syntax, "label '\(name)' has no quoted value") }
            i += 1
            var value: [UInt8] = []
            var closed = false
            while i < n {
                let c = b[i]
                if c == UInt8(ascii: "\\"), i + 1 < n {
                    switch b[i + 1] {
                    case UInt8(ascii: "n"): value.append(0x0A)
                    case UInt8(ascii: "\\"): value.append(UInt8(ascii: "\\"))
                    case UInt8(ascii: "\""): value.append(UInt8(ascii: "\""))
                    default: throw reject(.syntax, "label '\(name)' has an unknown escape '\\\(Character(UnicodeScalar(b[i + 1])))' (use \\\\, \\\" or \\n)")
                    }
                    i += 2
                    continue
                }
                if c == UInt8(ascii: "\"") { closed = true; i += 1; break }
                value.append(c)
                i += 1
            }
            guard closed else { throw reject(.syntax, "label '\(name)' value is not closed with '\"'") }
            guard dict.updateValue(String(decoding: value, as: UTF8.self), forKey: name) == nil else {
                throw reject(.invalidLabels, "label '\(name)' appears twice")
            }
        }
        return try Self.validated(dict, lineNumber: lineNumber)
    }

    /// Applies the store's label rules so a bad label set is one rejection here, not a failed batch.
    static func validated(_ dict: [String: String], lineNumber: Int) throws(ImportRejection) -> Labels {
        let labels = Labels(dict)
        do {
            try SampleValidator.validate(Sample(labels: labels, timestamp: 0, value: 0))
        } catch let e as MetricsError {
            if case let .invalidSample(_, reason) = e {
                throw ImportRejection(line: lineNumber, kind: labels.name.isEmpty ? .missingField : .invalidLabels, reason: "\(labels): \(reason)")
            }
            throw ImportRejection(line: lineNumber, kind: .invalidLabels, reason: e.description)
        } catch {
            throw ImportRejection(line: lineNumber, kind: .invalidLabels, reason: "\(error)")
        }
        return labels
    }

    static func isNameStart(_ c: UInt8) -> Bool {
        (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") || c == UInt8(ascii: "_") || c == UInt8(ascii: ":")
    }

    static func isNameChar(_ c: UInt8) -> Bool { isNameStart(c) || (c &- 48) < 10 }
}
