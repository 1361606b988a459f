import Hummingbird
import StratusMetrics

/// JSON text exactly as the Prometheus HTTP API writes it: sample values as strings in Go's
/// shortest `'f'` form (`"12.5"`, `"1000000000000000000000"`, `"NaN"`, `"+Inf"`), times as
/// seconds with the milliseconds after a point (`1700000000.250`), keys in Prometheus' order.
enum PrometheusJSON {
    /// `{"status":"success","data":<data>}` as a response.
    static func success(_ data: String) -> Response {
        response(.ok, #"{"status":"success","data":"# + data + "}")
    }

    static func response(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A query result: `{"resultType":"matrix","result":[…]}` (written as bytes by `PrometheusJSONWriter`).
    static func result(_ value: PromQLValue) -> String {
        var capacity = 256
        switch value {
        case let .vector(samples): capacity += samples.count * 160
        case let .matrix(series): capacity += series.reduce(0) { $0 + 160 + $1.points.count * 24 }
        default: break
        }
        var w = PrometheusJSONWriter(capacity: capacity)
        w.result(value)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// `[<seconds>,"<value>"]`.
    static func point(_ p: Point) -> String {
        "[" + time(p.timestamp) + ",\"" + value(p.value) + "\"]"
    }

    /// A label set as a JSON object in label order.
    static func labels(_ l: Labels) -> String {
        "{" + l.pairs.map { string($0.name) + ":" + string($0.value) }.joined(separator: ",") + "}"
    }

    /// A JSON array of strings.
    static func strings(_ list: [String]) -> String {
        "[" + list.map(string).joined(separator: ",") + "]"
    }

    /// Milliseconds as Prometheus writes timestamps: seconds, then `.mmm` when not whole.
    static func time(_ ms: Int64) -> String {
        let sign = ms < 0 ? "-" : ""
        let m = ms.magnitude
        let fraction = m % 1000
        guard fraction != 0 else { return sign + String(m / 1000) }
        let f = String(fraction)
        return sign + String(m / 1000) + "." + String(repeating: "0", count: 3 - f.count) + f
    }

    /// Go's `strconv.FormatFloat(v, 'f', -1, 64)`, with Prometheus' names for NaN and infinities.
    static func value(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        var s = "\(v)"  // shortest round-trip digits; may use an exponent
        var negative = false
        if s.hasPrefix("-") {
            negative = true
            s.removeFirst()
        }
        if let e = s.firstIndex(of: "e") {
            let exponent = Int(s[s.index(after: e)...])!
            let mantissa = s[..<e]
            let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
            let whole = String(parts[0])
            var digits = whole + (parts.count > 1 ? String(parts[1]) : "")
            var point = whole.count + exponent
            // Strip leading zeros the mantissa cannot have, and trailing zeros of the fraction.
            while digits.count > 1 && digits.hasPrefix("0") { digits.removeFirst(); point -= 1 }
            if point <= 0 {
                s = "0." + String(repeating: "0", count: -point) + digits
            } else if point >= digits.count {
                s = digits + String(repeating: "0", count: point - digits.count)
            } else {
                let i = digits.index(digits.startIndex, offsetBy: point)
                s = String(digits[..<i]) + "." + String(digits[i...])
            }
            while s.contains(".") && s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        } else if s.hasSuffix(".0") {
            s.removeLast(2)
        }
        return (negative ? "-" : "") + s
    }

    /// A JSON string literal.
    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

/// A Prometheus API error: `{"status":"error","errorType":"bad_data","error":"…"}` with its status.
struct PrometheusError: Error, CustomStringConvertible {
    var status: HTTPResponse.Status
    var type: String
    var message: String

    static func badData(_ message: String) -> PrometheusError { PrometheusError(status: .badRequest, type: "bad_data", message: message) }

    var description: String { message }

    var response: Response {
        PrometheusJSON.response(status, #"{"status":"error","errorType":"# + PrometheusJSON.string(type)
            + #","error":"# + PrometheusJSON.string(message) + "}")
    }

    /// Maps query, store and parameter errors to Prometheus' error types and statuses.
    static func from(_ error: any Error) -> PrometheusError {
        switch error {
        case let e as PrometheusError: return e
        case let e as PromQLError:
            switch e {
            case .parse: return .badData(e.description)
            case .execution, .tooManySamples: return PrometheusError(status: .unprocessableContent, type: "execution", message: e.description)
            }
        case let e as MetricsError:
            switch e {
            case .invalidMatcher, .invalidQuery, .invalidSample: return .badData(e.description)
            default: return PrometheusError(status: .internalServerError, type: "internal", message: e.description)
            }
        case is CancellationError:
            return PrometheusError(status: .serviceUnavailable, type: "canceled", message: "the query was cancelled")
        default:
            return PrometheusError(status: .internalServerError, type: "internal", message: "\(error)")
        }
    }
}
