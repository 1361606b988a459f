import StratusMetrics

/// Writes query results as UTF-8 bytes, exactly as `PrometheusJSON`'s string functions would
/// (the tests compare both): a range answer has thousands of points, and building each from small
/// `String`s cost more than evaluating the query. Common cases take a byte fast path (whole
/// values as integer digits, labels without characters to escape); the rest defers to
/// `PrometheusJSON.value` / `.string`.
struct PrometheusJSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// Decimal digits of `n` (not negative).
    private mutating func digits(_ n: UInt64) {
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: UInt64.max has 20 digits
        withUnsafeMutableBytes(of: &buffer) { b in
            var i = b.count
            var v = n
            repeat {
                i -= 1
                b[i] = UInt8(truncatingIfNeeded: v % 10) &+ 48
                v /= 10
            } while v != 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i...]))
        }
    }

    /// `PrometheusJSON.time`: seconds, then `.mmm` when not whole.
    mutating func time(_ ms: Int64) {
        if ms < 0 { bytes.append(UInt8(ascii: "-")) }
        let m = ms.magnitude
        digits(m / 1000)
        let fraction = m % 1000
        guard fraction != 0 else { return }
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(truncatingIfNeeded: fraction / 100) &+ 48)
        bytes.append(UInt8(truncatingIfNeeded: fraction / 10 % 10) &+ 48)
        bytes.append(UInt8(truncatingIfNeeded: fraction % 10) &+ 48)
    }

    /// `PrometheusJSON.value`, unquoted.
    mutating func value(_ v: Double) {
        // Whole numbers below 2^53 print as their integer digits in Go's 'f' form; -0 keeps its sign.
        if v == v.rounded(.towardZero), v.magnitude < 9_007_199_254_740_992, !(v == 0 && v.sign == .minus) {
            if v < 0 { bytes.append(UInt8(ascii: "-")) }
            digits(UInt64(v.magnitude))
            return
        }
        // Swift's shortest round-trip digits are Go's 'f' form unless they use an exponent (tiny
        // or huge values), which only `PrometheusJSON.value` rewrites; copy the bytes otherwise.
        guard v != 0 else { return raw(PrometheusJSON.value(v)) }   // -0
        var text = v.description
        let copied = text.withUTF8 { u -> Bool in
            guard !u.contains(UInt8(ascii: "e")), !u.contains(UInt8(ascii: "n")), !u.contains(UInt8(ascii: "i")) else { return false }
            let n = u.count
            let whole = n > 2 && u[n - 2] == UInt8(ascii: ".") && u[n - 1] == UInt8(ascii: "0")   // 2^53 and up
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[..<(whole ? n - 2 : n)]))
            return true
        }
        if !copied { raw(PrometheusJSON.value(v)) }
    }

    /// `PrometheusJSON.string`.
    mutating func string(_ s: String) {
        var plain = true
        for b in s.utf8 where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            plain = false
            break
        }
        guard plain else { return raw(PrometheusJSON.string(s)) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: s.utf8)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `PrometheusJSON.labels`.
    mutating func labels(_ l: Labels) {
        bytes.append(UInt8(ascii: "{"))
        for (i, p) in l.pairs.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            string(p.name)
            bytes.append(UInt8(ascii: ":"))
            string(p.value)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// `PrometheusJSON.point`: `[<seconds>,"<value>"]`.
    mutating func point(_ p: Point) {
        bytes.append(UInt8(ascii: "["))
        time(p.timestamp)
        raw(",\"")
        value(p.value)
        raw("\"]")
    }

    /// `PrometheusJSON.result`.
    mutating func result(_ value: PromQLValue) {
        raw(#"{"resultType":"#)
        switch value {
        case let .scalar(p):
            raw(#""scalar","result":"#)
            point(p)
        case let .string(s, t):
            raw(#""string","result":["#)
            time(t)
            bytes.append(UInt8(ascii: ","))
            string(s)
            bytes.append(UInt8(ascii: "]"))
        case let .vector(samples):
            raw(#""vector","result":["#)
            for (i, s) in samples.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                raw(#"{"metric":"#)
                labels(s.labels)
                raw(#","value":"#)
                point(s.point)
                bytes.append(UInt8(ascii: "}"))
            }
            bytes.append(UInt8(ascii: "]"))
        case let .matrix(series):
            raw(#""matrix","result":["#)
            for (i, s) in series.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                raw(#"{"metric":"#)
                labels(s.labels)
                raw(#","values":["#)
                for (j, p) in s.points.enumerated() {
                    if j > 0 { bytes.append(UInt8(ascii: ",")) }
                    point(p)
                }
                raw("]}")
            }
            bytes.append(UInt8(ascii: "]"))
        }
        bytes.append(UInt8(ascii: "}"))
    }
}
