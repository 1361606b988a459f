#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Number parsing on raw bytes for the import parsers (no String per number).
enum ImportNumbers {
    private static let pow10: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { a, _ in a * 10 } }

    /// Parses a decimal float (`-12.5`, `1e3`, `NaN`, `+Inf`, `-Inf`, `Inf`) filling all of `b`.
    /// Exact for up to 15 significant digits and exponents within ±22 (Clinger's fast path); longer
    /// forms go through `strtod`, so every input is correctly rounded.
    static func double(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = b.count
        guard n > 0 else { return nil }
        var i = 0
        var negative = false
        if b[0] == UInt8(ascii: "-") || b[0] == UInt8(ascii: "+") {
            negative = b[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < n else { return nil }
        let c0 = b[i] | 0x20
        if c0 == UInt8(ascii: "n") || c0 == UInt8(ascii: "i") {
            return special(b, from: i, negative: negative)
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var sawDigit = false
        while i < n, b[i] &- 48 < 10 {
            sawDigit = true
            if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(b[i] &- 48); if mantissa != 0 { digits += 1 } } else { exponent += 1 }
            i += 1
        }
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, b[i] &- 48 < 10 {
                sawDigit = true
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(b[i] &- 48); if mantissa != 0 { digits += 1 }; exponent -= 1 }
                i += 1
            }
        }
        guard sawDigit else { return nil }
        if i < n, b[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var eneg = false
            if i < n, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { eneg = b[i] == UInt8(ascii: "-"); i += 1 }
            var e = 0
            var any = false
            while i < n, b[i] &- 48 < 10 { any = true; if e < 100_000 { e = e * 10 + Int(b[i] &- 48) }; i += 1 }
            guard any else { return nil }
            exponent += eneg ? -e : e
        }
        guard i == n else { return nil }
        if digits <= 15 && exponent >= -22 && exponent <= 22 {
            var v = Double(mantissa)
            v = exponent < 0 ? v / pow10[-exponent] : v * pow10[exponent]
            return negative ? -v : v
        }
        return slow(b)
    }

    private static func special(_ b: UnsafeBufferPointer<UInt8>, from i: Int, negative: Bool) -> Double? {
        let word = String(decoding: UnsafeBufferPointer(rebasing: b[i...]), as: UTF8.self).lowercased()
        switch word {
        case "nan": return .nan
        case "inf", "infinity": return negative ? -.infinity : .infinity
        default: return nil
        }
    }

    private static func slow(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        var tmp = [CChar](repeating: 0, count: b.count + 1)
        for k in 0..<b.count { tmp[k] = CChar(bitPattern: b[k]) }
        return tmp.withUnsafeBufferPointer { p -> Double? in
            var endp: UnsafeMutablePointer<CChar>?
            let v = strtod(p.baseAddress!, &endp)
            guard let endp, p.baseAddress!.distance(to: endp) == b.count else { return nil }
            return v
        }
    }

    /// Parses a timestamp in ms: a non-negative integer, or a float with no fractional part
    /// (`1.7e12`). Nil for anything else or past Int64.
    static func timestamp(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !b.isEmpty else { return nil }
        var v: Int64 = 0
        var allDigits = true
        for c in b {
            guard c &- 48 < 10 else { allDigits = false; break }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(c &- 48))
            if o1 || o2 { return nil }
            v = s
        }
        if allDigits { return v }
        guard let d = double(b), d.isFinite, d >= 0, d < 9.2e18, d.rounded() == d else { return nil }
        return Int64(d)
    }
}
