import Foundation
import Hummingbird

/// The parameters of a Prometheus API call: the URL query plus, for POST, an
/// `application/x-www-form-urlencoded` body (as Grafana sends long queries), in that order.
struct PrometheusParams: Sendable {
    var items: [(String, String)]

    static func from(_ request: Request) async throws -> PrometheusParams {
        var items = decodeForm(request.uri.query ?? "")
        if request.method == .post {
            let type = request.headers[.contentType]?.lowercased() ?? ""
            if type.hasPrefix("application/x-www-form-urlencoded") {
                let body = try await request.body.collect(upTo: 4 << 20)
                items += decodeForm(String(buffer: body))
            } else if !type.isEmpty {
                throw PrometheusError.badData("POST bodies must be application/x-www-form-urlencoded, got \(type)")
            }
        }
        return PrometheusParams(items: items)
    }

    /// `a=1&b=x+y&c=%2F` → [("a","1"), ("b","x y"), ("c","/")].
    /// A part that is not valid percent-encoded UTF-8 is kept as sent (with `+` as space).
    static func decodeForm(_ text: String) -> [(String, String)] {
        var text = text
        return text.withUTF8 { all in
            var items: [(String, String)] = []
            var scratch: [UInt8] = []
            var start = 0
            while start <= all.count {
                var end = start
                while end < all.count && all[end] != UInt8(ascii: "&") { end += 1 }
                if end > start {
                    let pair = UnsafeBufferPointer(rebasing: all[start..<end])
                    let eq = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.count
                    let name = decodeComponent(UnsafeBufferPointer(rebasing: pair[..<eq]), &scratch)
                    let value = eq < pair.count ? decodeComponent(UnsafeBufferPointer(rebasing: pair[(eq + 1)...]), &scratch) : ""
                    items.append((name, value))
                }
                start = end + 1
            }
            return items
        }
    }

    /// `+` → space and `%XX` → byte; invalid escapes or UTF-8 keep the text as sent (`+` → space).
    private static func decodeComponent(_ part: UnsafeBufferPointer<UInt8>, _ out: inout [UInt8]) -> String {
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        out.removeAll(keepingCapacity: true)
        var valid = true
        var i = 0
        while i < part.count {
            let b = part[i]
            if b == UInt8(ascii: "+") {
                out.append(0x20)
            } else if b == UInt8(ascii: "%") {
                if i + 2 < part.count, let hi = hex(part[i + 1]), let lo = hex(part[i + 2]) {
                    out.append(hi << 4 | lo)
                    i += 2
                } else {
                    valid = false
                    break
                }
            } else {
                out.append(b)
            }
            i += 1
        }
        if valid, let decoded = String(validating: out, as: UTF8.self) { return decoded }
        return String(decoding: part.map { $0 == UInt8(ascii: "+") ? 0x20 : $0 }, as: UTF8.self)
    }

    /// The last value of `name`, or nil (an empty value counts as absent, as in Prometheus).
    func one(_ name: String) -> String? {
        guard let v = items.last(where: { $0.0 == name })?.1, !v.isEmpty else { return nil }
        return v
    }

    func all(_ name: String) -> [String] { items.filter { $0.0 == name }.map(\.1) }

    /// A time parameter in ms: unix seconds with decimals, or RFC3339.
    func time(_ name: String, default fallback: Int64) throws -> Int64 {
        guard let text = one(name) else { return fallback }
        guard let t = Self.parseTime(text) else {
            throw PrometheusError.badData("invalid parameter \"\(name)\": cannot parse \"\(text)\" to a valid timestamp; use unix seconds (1700000000.5) or RFC3339 (2023-11-14T22:13:20Z)")
        }
        return t
    }

    static func parseTime(_ text: String) -> Int64? {
        if let s = Double(text), s.isFinite {
            let ms = (s * 1000).rounded()
            guard abs(ms) < 9.2e18 else { return nil }
            return Int64(ms)
        }
        switch text {
        case "-292273086-05-16T16:47:06Z": return Int64.min / 2  // Prometheus' minTime, sent by some clients
        case "292277025-08-18T07:12:54.999999999Z": return Int64.max / 2
        default: break
        }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: text) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        return nil
    }

    /// A duration in ms: float seconds (`15`, `0.5`) or a Prometheus duration (`5m`, `1h30m`, `500ms`).
    static func parseDuration(_ text: String) -> Int64? {
        if let s = Double(text), s.isFinite { return Int64((s * 1000).rounded()) }
        let units: [(String, Int64)] = [("ms", 1), ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
                                        ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        var rest = Substring(text)
        var total: Int64 = 0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let n = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let (unit, scale) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.count)
            let (product, overflow) = n.multipliedReportingOverflow(by: scale)
            guard !overflow else { return nil }
            total += product
        }
        return total
    }
}
