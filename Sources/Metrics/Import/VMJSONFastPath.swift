#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fast path of one import thread for VictoriaMetrics JSON lines in exactly the shape
/// `/api/v1/export` writes: `{"metric":{…},"values":[…],"timestamps":[…]}` with no spaces, no
/// escapes in label text, and plain numbers. Anything else returns nil and the caller uses
/// `VMJSONLineParser`, which accepts every valid form and words every error; so results are the
/// same either way, only faster here.
///
/// Export files repeat one timestamps array line after line (every series of a block shares its
/// times): when a line's timestamps text is byte-for-byte the previous line's, the parsed times
/// are reused instead of parsed again. One value per thread (it remembers the previous line).
struct VMJSONFastPath {
    private var lastTimesText: [UInt8] = []
    private var lastTimes: [Int64] = []

    private static let head = Array(#"{"metric":"#.utf8)
    private static let valuesKey = Array(#","values":["#.utf8)
    private static let timesKey = Array(#"],"timestamps":["#.utf8)
    private static let pow10: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { a, _ in a * 10 } }

    /// Parses `b` into `out` (reset first); nil when the line is not in the fast shape.
    mutating func parse(_ b: UnsafeBufferPointer<UInt8>, into out: inout ImportedLine) -> Bool? {
        out.reset()
        let n = b.count
        guard Self.matches(Self.head, b, at: 0) else { return nil }
        let metricStart = Self.head.count
        guard let metricEnd = Self.endOfFlatObject(b, from: metricStart) else { return nil }
        out.seriesKey = metricStart..<metricEnd
        var i = metricEnd
        guard Self.matches(Self.valuesKey, b, at: i) else { return nil }
        i += Self.valuesKey.count
        if i < n && b[i] != UInt8(ascii: "]") {
            while true {
                let start = i
                while i < n && b[i] != UInt8(ascii: ",") && b[i] != UInt8(ascii: "]") { i += 1 }
                guard i < n, let v = Self.value(b, start, i) else { return nil }
                out.values.append(v)
                if b[i] == UInt8(ascii: "]") { break }
                i += 1
            }
        }
        guard Self.matches(Self.timesKey, b, at: i) else { return nil }
        i += Self.timesKey.count
        let timesStart = i
        guard let close = Self.index(of: UInt8(ascii: "]"), b, from: i), close + 2 == n, b[close + 1] == UInt8(ascii: "}") else { return nil }
        let timesText = UnsafeBufferPointer(rebasing: b[timesStart..<close])
        if timesText.count == lastTimesText.count && !timesText.isEmpty
            && lastTimesText.withUnsafeBufferPointer({ memcmp($0.baseAddress!, timesText.baseAddress!, timesText.count) == 0 }) {
            out.timestamps.append(contentsOf: lastTimes)
        } else {
            if close > timesStart {
                while true {
                    let start = i
                    while i < close && b[i] != UInt8(ascii: ",") { i += 1 }
                    guard let t = Self.timestamp(b, start, i) else { return nil }
                    out.timestamps.append(t)
                    if i == close { break }
                    i += 1
                }
            }
            lastTimesText.removeAll(keepingCapacity: true)
            lastTimesText.append(contentsOf: timesText)
            lastTimes.removeAll(keepingCapacity: true)
            lastTimes.append(contentsOf: out.timestamps)
        }
        guard out.values.count == out.timestamps.count else { return nil }
        return true
    }

    @inline(__always)
    private static func matches(_ lit: [UInt8], _ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        guard i + lit.count <= b.count else { return false }
        for k in 0..<lit.count where b[i + k] != lit[k] { return false }
        return true
    }

    private static func index(of c: UInt8, _ b: UnsafeBufferPointer<UInt8>, from i: Int) -> Int? {
        guard i < b.count, let p = memchr(b.baseAddress! + i, Int32(c), b.count - i) else { return nil }
        return b.baseAddress!.distance(to: p.assumingMemoryBound(to: UInt8.self))
    }

    /// The index just past a `{"k":"v",…}` object of plain strings starting at `i`; nil for any other shape.
    private static func endOfFlatObject(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        let n = b.count
        var i = start
        guard i < n, b[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        if i < n && b[i] == UInt8(ascii: "}") { return i + 1 }
        while true {
            // "name":"value"
            for expected in [UInt8(ascii: ":"), 0] {
                guard i < n, b[i] == UInt8(ascii: "\"") else { return nil }
                i += 1
                while i < n && b[i] != UInt8(ascii: "\"") {
                    if b[i] == UInt8(ascii: "\\") { return nil }
                    i += 1
                }
                guard i < n else { return nil }
                i += 1
                if expected != 0 {
                    guard i < n, b[i] == expected else { return nil }
                    i += 1
                }
            }
            guard i < n else { return nil }
            if b[i] == UInt8(ascii: "}") { return i + 1 }
            guard b[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
    }

    /// `-12.5`-style decimals with up to 15 significant digits (the same arithmetic as
    /// `ImportNumbers.double`'s fast path); any other form goes to `ImportNumbers.double`.
    @inline(__always)
    private static func value(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        var i = start
        let negative = i < end && b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0, fraction = 0
        var sawDigit = false, dot = false
        while i < end {
            let c = b[i]
            if c &- 48 < 10 {
                sawDigit = true
                mantissa = mantissa &* 10 &+ UInt64(c &- 48)
                if mantissa != 0 { digits += 1 }
                if dot { fraction += 1 }
            } else if c == UInt8(ascii: ".") && !dot {
                dot = true
            } else {
                return ImportNumbers.double(UnsafeBufferPointer(rebasing: b[start..<end]))
            }
            i += 1
        }
        guard sawDigit, digits <= 15, fraction <= 22 else {
            return ImportNumbers.double(UnsafeBufferPointer(rebasing: b[start..<end]))
        }
        let v = Double(mantissa) / pow10[fraction]
        return negative ? -v : v
    }

    @inline(__always)
    private static func timestamp(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
        guard end > start, end - start <= 18 else { return ImportNumbers.timestamp(UnsafeBufferPointer(rebasing: b[start..<end])) }
        var v: Int64 = 0
        for k in start..<end {
            let d = b[k] &- 48
            guard d < 10 else { return ImportNumbers.timestamp(UnsafeBufferPointer(rebasing: b[start..<end])) }
            v = v &* 10 &+ Int64(d)
        }
        return v
    }
}
