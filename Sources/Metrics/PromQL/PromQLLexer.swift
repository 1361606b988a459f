/// Tokens of the PromQL subset; positions are byte offsets into the query text.
enum TokenKind: Equatable {
    case number(Double)
    case string(String)
    case identifier(String)
    case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket, comma, colon, at
    /// `+ - * / % ^ == != > < >= <=`.
    case op(BinaryOperator)
    /// `=`, `=~`, `!~` (label matchers only).
    case assign, regexMatch, regexNoMatch
    case eof

    var text: String {
        switch self {
        case let .number(v): "number \(v)"
        case let .string(s): "string \"\(s)\""
        case let .identifier(s): "identifier \"\(s)\""
        case .leftParen: "\"(\""
        case .rightParen: "\")\""
        case .leftBrace: "\"{\""
        case .rightBrace: "\"}\""
        case .leftBracket: "\"[\""
        case .rightBracket: "\"]\""
        case .comma: "\",\""
        case .colon: "\":\""
        case .at: "\"@\""
        case let .op(o): "\"\(o.rawValue)\""
        case .assign: "\"=\""
        case .regexMatch: "\"=~\""
        case .regexNoMatch: "\"!~\""
        case .eof: "end of input"
        }
    }
}

struct Token {
    var kind: TokenKind
    var position: Int
}

/// Splits query text into tokens on demand, so the parser can read durations (`5m`) in place.
struct PromQLLexer {
    let bytes: [UInt8]
    private(set) var position = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    /// Skips blanks and `#` comments.
    mutating func skipSpace() {
        while position < bytes.count {
            let c = bytes[position]
            if c == UInt8(ascii: "#") {
                while position < bytes.count && bytes[position] != UInt8(ascii: "\n") { position += 1 }
            } else if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                position += 1
            } else {
                return
            }
        }
    }

    mutating func next() throws -> Token {
        skipSpace()
        let start = position
        guard position < bytes.count else { return Token(kind: .eof, position: start) }
        let c = bytes[position]
        func single(_ k: TokenKind) -> Token {
            position += 1
            return Token(kind: k, position: start)
        }
        func peek(_ offset: Int) -> UInt8? {
            position + offset < bytes.count ? bytes[position + offset] : nil
        }
        switch c {
        case UInt8(ascii: "("): return single(.leftParen)
        case UInt8(ascii: ")"): return single(.rightParen)
        case UInt8(ascii: "{"): return single(.leftBrace)
        case UInt8(ascii: "}"): return single(.rightBrace)
        case UInt8(ascii: "["): return single(.leftBracket)
        case UInt8(ascii: "]"): return single(.rightBracket)
        case UInt8(ascii: ","): return single(.comma)
        case UInt8(ascii: ":"):
            // A leading colon starts a metric name (`:recorded:rule`) only when a name char follows.
            if let n = peek(1), Self.isNameStart(n) { return lexIdentifier() }
            return single(.colon)
        case UInt8(ascii: "@"): return single(.at)
        case UInt8(ascii: "+"): return single(.op(.add))
        case UInt8(ascii: "-"): return single(.op(.sub))
        case UInt8(ascii: "*"): return single(.op(.mul))
        case UInt8(ascii: "/"): return single(.op(.div))
        case UInt8(ascii: "%"): return single(.op(.mod))
        case UInt8(ascii: "^"): return single(.op(.pow))
        case UInt8(ascii: "="):
            if peek(1) == UInt8(ascii: "=") { position += 2; return Token(kind: .op(.eq), position: start) }
            if peek(1) == UInt8(ascii: "~") { position += 2; return Token(kind: .regexMatch, position: start) }
            return single(.assign)
        case UInt8(ascii: "!"):
            if peek(1) == UInt8(ascii: "=") { position += 2; return Token(kind: .op(.ne), position: start) }
            if peek(1) == UInt8(ascii: "~") { position += 2; return Token(kind: .regexNoMatch, position: start) }
            throw PromQLError.parse(position: start, message: "unexpected character after '!': expected != or !~")
        case UInt8(ascii: ">"):
            if peek(1) == UInt8(ascii: "=") { position += 2; return Token(kind: .op(.ge), position: start) }
            return single(.op(.gt))
        case UInt8(ascii: "<"):
            if peek(1) == UInt8(ascii: "=") { position += 2; return Token(kind: .op(.le), position: start) }
            return single(.op(.lt))
        case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"):
            return try lexString()
        default:
            if Self.isDigit(c) || (c == UInt8(ascii: ".") && peek(1).map(Self.isDigit) == true) {
                return try lexNumber()
            }
            if Self.isNameStart(c) { return lexIdentifier() }
            throw PromQLError.parse(
                position: start, message: "unexpected character \(Self.describe(c)); check the query syntax")
        }
    }

    // MARK: Names and numbers

    private mutating func lexIdentifier() -> Token {
        let start = position
        while position < bytes.count && Self.isNameChar(bytes[position]) { position += 1 }
        let name = String(decoding: bytes[start..<position], as: UTF8.self)
        switch name.lowercased() {
        case "inf", "infinity": return Token(kind: .number(.infinity), position: start)
        case "nan": return Token(kind: .number(.nan), position: start)
        default: return Token(kind: .identifier(name), position: start)
        }
    }

    private mutating func lexNumber() throws -> Token {
        let start = position
        var value: Double?
        if bytes[position] == UInt8(ascii: "0"), position + 1 < bytes.count,
           bytes[position + 1] | 0x20 == UInt8(ascii: "x") {
            position += 2
            let digitsStart = position
            while position < bytes.count && Self.isHexDigit(bytes[position]) { position += 1 }
            let hex = String(decoding: bytes[digitsStart..<position], as: UTF8.self)
            value = UInt64(hex, radix: 16).map { Double($0) }
        } else {
            while position < bytes.count && Self.isDigit(bytes[position]) { position += 1 }
            if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
                position += 1
                while position < bytes.count && Self.isDigit(bytes[position]) { position += 1 }
            }
            if position < bytes.count && bytes[position] | 0x20 == UInt8(ascii: "e") {
                var p = position + 1
                if p < bytes.count && (bytes[p] == UInt8(ascii: "+") || bytes[p] == UInt8(ascii: "-")) { p += 1 }
                if p < bytes.count && Self.isDigit(bytes[p]) {
                    position = p
                    while position < bytes.count && Self.isDigit(bytes[position]) { position += 1 }
                }
            }
            value = Double(String(decoding: bytes[start..<position], as: UTF8.self))
        }
        if position < bytes.count && (Self.isNameChar(bytes[position]) || bytes[position] == UInt8(ascii: ".")) {
            while position < bytes.count && Self.isNameChar(bytes[position]) { position += 1 }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            throw PromQLError.parse(
                position: start,
                message: "bad number or duration syntax: \"\(text)\" (durations belong in [ ] or after offset)")
        }
        guard let value else {
            throw PromQLError.parse(position: start, message: "bad number syntax")
        }
        return Token(kind: .number(value), position: start)
    }

    // MARK: Durations

    /// Skips blanks and consumes `byte` when it comes next.
    mutating func consume(_ byte: UInt8) -> Bool {
        skipSpace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// Reads a duration such as `5m` or `1h30m` at the current position; returns ms and where it began.
    mutating func scanDuration() throws -> (ms: Int64, position: Int) {
        skipSpace()
        let start = position
        while position < bytes.count
            && (Self.isLetter(bytes[position]) || Self.isDigit(bytes[position]) || bytes[position] == UInt8(ascii: "."))
        {
            position += 1
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let ms = Self.parseDuration(text) else {
            throw PromQLError.parse(
                position: start,
                message: "bad duration syntax: \"\(text)\"; use a number with a unit ms, s, m, h, d, w or y, like 5m or 1h30m")
        }
        return (ms, start)
    }

    /// `1h30m` -> 5_400_000; nil unless units appear once each, largest first.
    static func parseDuration(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [
            ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000),
            ("m", 60_000), ("s", 1000), ("ms", 1),
        ]
        let b = Array(text.utf8)
        var i = 0
        var total: Int64 = 0
        var lastUnit = -1
        guard !b.isEmpty else { return nil }
        while i < b.count {
            let digitsStart = i
            while i < b.count && isDigit(b[i]) { i += 1 }
            guard i > digitsStart, let n = Int64(String(decoding: b[digitsStart..<i], as: UTF8.self)) else { return nil }
            let unitStart = i
            while i < b.count && !isDigit(b[i]) { i += 1 }
            let unit = String(decoding: b[unitStart..<i], as: UTF8.self)
            guard let index = units.firstIndex(where: { $0.0 == unit }), index > lastUnit else { return nil }
            lastUnit = index
            let (product, overflow) = n.multipliedReportingOverflow(by: units[index].1)
            guard !overflow else { return nil }
            let (sum, overflow2) = total.addingReportingOverflow(product)
            guard !overflow2 else { return nil }
            total = sum
        }
        return total
    }

    // MARK: Strings

    private mutating func lexString() throws -> Token {
        let start = position
        let quote = bytes[position]
        position += 1
        var out: [UInt8] = []
        while true {
            guard position < bytes.count, quote == UInt8(ascii: "`") || bytes[position] != 0x0A else {
                throw PromQLError.parse(position: start, message: "unterminated quoted string; close it with \(Self.describe(quote))")
            }
            let c = bytes[position]
            position += 1
            if c == quote { break }
            if c == UInt8(ascii: "\\") && quote != UInt8(ascii: "`") {
                try lexEscape(into: &out)
            } else {
                out.append(c)
            }
        }
        return Token(kind: .string(String(decoding: out, as: UTF8.self)), position: start)
    }

    private mutating func lexEscape(into out: inout [UInt8]) throws {
        let at = position - 1
        guard position < bytes.count else {
            throw PromQLError.parse(position: at, message: "unterminated escape sequence at end of input")
        }
        let c = bytes[position]
        position += 1
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "a"): 7, UInt8(ascii: "b"): 8, UInt8(ascii: "f"): 12, UInt8(ascii: "n"): 10,
            UInt8(ascii: "r"): 13, UInt8(ascii: "t"): 9, UInt8(ascii: "v"): 11, UInt8(ascii: "\\"): 92,
            UInt8(ascii: "\""): 34, UInt8(ascii: "'"): 39,
        ]
        if let s = simple[c] {
            out.append(s)
            return
        }
        func hexDigits(_ n: Int) throws -> UInt32 {
            guard position + n <= bytes.count,
                  let v = UInt32(String(decoding: bytes[position..<position + n], as: UTF8.self), radix: 16)
            else {
                throw PromQLError.parse(position: at, message: "invalid escape sequence: expected \(n) hex digits")
            }
            position += n
            return v
        }
        switch c {
        case UInt8(ascii: "x"):
            out.append(UInt8(try hexDigits(2)))
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let v = try hexDigits(c == UInt8(ascii: "u") ? 4 : 8)
            guard let scalar = Unicode.Scalar(v) else {
                throw PromQLError.parse(position: at, message: "escape sequence is an invalid Unicode code point")
            }
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            guard position + 2 <= bytes.count,
                  let v = UInt32(String(decoding: bytes[position - 1..<position + 2], as: UTF8.self), radix: 8), v < 256
            else { throw PromQLError.parse(position: at, message: "invalid octal escape sequence: expected 3 octal digits") }
            position += 2
            out.append(UInt8(v))
        default:
            throw PromQLError.parse(position: at, message: "unknown escape sequence \\\(Self.describe(c))")
        }
    }

    // MARK: Character classes

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isHexDigit(_ c: UInt8) -> Bool { isDigit(c) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x66) }
    static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
    static func isNameStart(_ c: UInt8) -> Bool { isLetter(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") }
    static func isNameChar(_ c: UInt8) -> Bool { isNameStart(c) || isDigit(c) }
    static func describe(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "0x" + String(c, radix: 16)
    }
}
