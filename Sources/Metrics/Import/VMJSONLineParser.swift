/// VictoriaMetrics JSON lines, one series per line, as `/api/v1/export` writes and
/// `/api/v1/import` reads them:
/// `{"metric":{"__name__":"x","k":"v"},"values":[1,2.5],"timestamps":[1700000000000,1700000010000]}`.
/// Values may also be `null`-free JSON numbers, or `"NaN"`, `"+Inf"`, `"-Inf"` (quoted or bare).
/// Hand-written byte scanner: no Foundation JSON, no String per number.
public struct VMJSONLineParser: ImportLineParser {
    public init() {}

    public func parse(_ b: UnsafeBufferPointer<UInt8>, lineNumber: Int, into out: inout ImportedLine) throws(ImportRejection) -> Bool {
        out.reset()
        var s = JSONScanner(b, lineNumber: lineNumber)
        s.skipSpace()
        if s.atEnd { return false }
        try s.expect(UInt8(ascii: "{"), "a JSON object")
        var sawMetric = false, sawValues = false, sawTimestamps = false
        s.skipSpace()
        if s.peek == UInt8(ascii: "}") { s.i += 1 } else {
            while true {
                s.skipSpace()
                let key = try s.string()
                s.skipSpace()
                try s.expect(UInt8(ascii: ":"), "':' after a key")
                s.skipSpace()
                switch key {
                case "metric":
                    let start = s.i
                    guard s.peek == UInt8(ascii: "{") else { throw s.reject(.syntax, "\"metric\" must be an object of label names to values") }
                    try s.skipValue()
                    out.seriesKey = start..<s.i
                    sawMetric = true
                case "values":
                    try s.array { (s) throws(ImportRejection) in out.values.append(try s.value()) }
                    sawValues = true
                case "timestamps":
                    try s.array { (s) throws(ImportRejection) in out.timestamps.append(try s.timestamp()) }
                    sawTimestamps = true
                default:
                    try s.skipValue()
                }
                s.skipSpace()
                if s.peek == UInt8(ascii: ",") { s.i += 1; continue }
                try s.expect(UInt8(ascii: "}"), "',' or '}'")
                break
            }
        }
        s.skipSpace()
        guard s.atEnd else { throw s.reject(.syntax, "unexpected text after the object at column \(s.i + 1)") }
        for (seen, field) in [(sawMetric, "metric"), (sawValues, "values"), (sawTimestamps, "timestamps")] where !seen {
            throw s.reject(.missingField, "the object has no \"\(field)\"")
        }
        guard out.values.count == out.timestamps.count else {
            throw s.reject(.lengthMismatch, "\(out.values.count) values but \(out.timestamps.count) timestamps")
        }
        return true
    }

    public func labels(_ b: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(ImportRejection) -> Labels {
        var s = JSONScanner(b, lineNumber: lineNumber)
        var dict: [String: String] = [:]
        try s.expect(UInt8(ascii: "{"), "an object")
        s.skipSpace()
        if s.peek == UInt8(ascii: "}") { s.i += 1 } else {
            while true {
                s.skipSpace()
                let name = try s.string()
                s.skipSpace()
                try s.expect(UInt8(ascii: ":"), "':' after a label name")
                s.skipSpace()
                guard s.peek == UInt8(ascii: "\"") else { throw s.reject(.invalidLabels, "label '\(name)' must have a string value") }
                let value = try s.string()
                guard dict.updateValue(value, forKey: name) == nil else { throw s.reject(.invalidLabels, "label '\(name)' appears twice") }
                s.skipSpace()
                if s.peek == UInt8(ascii: ",") { s.i += 1; continue }
                try s.expect(UInt8(ascii: "}"), "',' or '}'")
                break
            }
        }
        guard dict[Labels.nameKey] != nil else {
            throw s.reject(.missingField, "\"metric\" has no \"__name__\"")
        }
        return try PrometheusTextParser.validated(dict, lineNumber: lineNumber)
    }
}

/// A cursor over one JSON line's bytes.
struct JSONScanner {
    let b: UnsafeBufferPointer<UInt8>
    let lineNumber: Int
    var i = 0

    init(_ b: UnsafeBufferPointer<UInt8>, lineNumber: Int) {
        self.b = b
        self.lineNumber = lineNumber
    }

    var atEnd: Bool { i >= b.count }
    var peek: UInt8 { i < b.count ? b[i] : 0 }

    func reject(_ kind: ImportRejectionKind, _ reason: String) -> ImportRejection {
        ImportRejection(line: lineNumber, kind: kind, reason: reason)
    }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    mutating func expect(_ c: UInt8, _ what: String) throws(ImportRejection) {
        guard i < b.count, b[i] == c else {
            throw reject(.syntax, atEnd ? "the line ends early; expected \(what)" : "expected \(what) at column \(i + 1)")
        }
        i += 1
    }

    /// A JSON string with its escapes decoded.
    mutating func string() throws(ImportRejection) -> String {
        try expect(UInt8(ascii: "\""), "a string")
        let start = i
        while i < b.count, b[i] != UInt8(ascii: "\""), b[i] != UInt8(ascii: "\\") { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: "\"") {
            defer { i += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        }
        var bytes = Array(b[start..<i])
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; return String(decoding: bytes, as: UTF8.self) }
            if c != UInt8(ascii: "\\") { bytes.append(c); i += 1; continue }
            guard i + 1 < b.count else { break }
            let e = b[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                        throw reject(.syntax, "unpaired surrogate \\u\(String(scalar, radix: 16)) in a string")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw reject(.syntax, "bad surrogate pair in a string") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw reject(.syntax, "\\u escape is not a character") }
                bytes.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw reject(.syntax, "unknown escape '\\\(Character(UnicodeScalar(e)))' in a string")
            }
        }
        throw reject(.syntax, "a string is not closed with '\"'")
    }

    private mutating func hex4() throws(ImportRejection) -> UInt32 {
        guard i + 4 <= b.count else { throw reject(.syntax, "short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i] | 0x20
            let d: UInt32
            if c &- 48 < 10 { d = UInt32(c &- 48) } else if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f") { d = UInt32(c - 87) } else {
                throw reject(.syntax, "bad hex digit in a \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    /// `[ item, item, … ]`, calling `item` at each element.
    mutating func array(_ item: (inout JSONScanner) throws(ImportRejection) -> Void) throws(ImportRejection) {
        try expect(UInt8(ascii: "["), "an array")
        skipSpace()
        if peek == UInt8(ascii: "]") { i += 1; return }
        while true {
            skipSpace()
            try item(&self)
            skipSpace()
            if peek == UInt8(ascii: ",") { i += 1; continue }
            try expect(UInt8(ascii: "]"), "',' or ']'")
            return
        }
    }

    /// The bytes of a bare token (number, true, NaN…) up to the next delimiter.
    private mutating func token() -> UnsafeBufferPointer<UInt8> {
        let start = i
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}") || c == 0x20 || c == 0x09 { break }
            i += 1
        }
        return UnsafeBufferPointer(rebasing: b[start..<i])
    }

    mutating func value() throws(ImportRejection) -> Double {
        if peek == UInt8(ascii: "\"") {
            let text = try string()
            var bytes = Array(text.utf8)
            if let v = bytes.withUnsafeMutableBufferPointer({ ImportNumbers.double(UnsafeBufferPointer($0)) }) { return v }
            throw reject(.badValue, "value \"\(text)\" is not a number (nor NaN, +Inf, -Inf)")
        }
        let t = token()
        guard let v = ImportNumbers.double(t) else {
            throw reject(.badValue, t.isEmpty ? "expected a value at column \(i + 1)" : "value '\(String(decoding: t, as: UTF8.self))' is not a number")
        }
        return v
    }

    mutating func timestamp() throws(ImportRejection) -> Int64 {
        let t = token()
        guard let v = ImportNumbers.timestamp(t) else {
            throw reject(.badTimestamp, t.isEmpty ? "expected a timestamp at column \(i + 1)" : "timestamp '\(String(decoding: t, as: UTF8.self))' is not milliseconds >= 0")
        }
        return v
    }

    /// Skips any JSON value (object, array, string, literal), checking brackets balance.
    mutating func skipValue() throws(ImportRejection) {
        skipSpace()
        switch peek {
        case UInt8(ascii: "\""):
            _ = try string()
        case UInt8(ascii: "{"):
            i += 1
            skipSpace()
            if peek == UInt8(ascii: "}") { i += 1; return }
            while true {
                skipSpace()
                _ = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"), "':' after a key")
                try skipValue()
                skipSpace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "}"), "',' or '}'")
                return
            }
        case UInt8(ascii: "["):
            try array { (s) throws(ImportRejection) in try s.skipValue() }
        default:
            guard !token().isEmpty else { throw reject(.syntax, atEnd ? "the line ends early; expected a value" : "expected a value at column \(i + 1)") }
        }
    }
}
