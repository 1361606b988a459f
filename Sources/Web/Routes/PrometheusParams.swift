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
    static func decodeForm(_ text: String) -> [(String, String)] {
        text.split(separator: "&").compactMap { pair in
            guard !pair.isEmpty else { return nil }
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(kv[0]), kv.count > 1 ? decode(kv[1]) : "")
        }
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
