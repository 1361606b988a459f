import Alarms
import Foundation
import Hummingbird
import StratusMetrics

/// Decoded `application/x-www-form-urlencoded` pairs (a form body or a URL query), keeping
/// repeated names (checkbox groups) in order.
struct FormValues: Sendable {
    var pairs: [(String, String)]

    init(_ encoded: String) {
        pairs = encoded.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            return (kv[0], kv.count > 1 ? kv[1] : "")
        }
    }

    static func body(_ request: Request) async throws -> FormValues {
        let buffer = try await request.body.collect(upTo: 256 * 1024)
        return FormValues(String(buffer: buffer))
    }

    static func query(_ request: Request) -> FormValues { FormValues(request.uri.query ?? "") }

    /// The first value of `name`, trimmed; nil when absent.
    subscript(_ name: String) -> String? {
        pairs.first { $0.0 == name }.map { $0.1.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// The non-empty trimmed value of `name`, else nil.
    func nonEmpty(_ name: String) -> String? { self[name].flatMap { $0.isEmpty ? nil : $0 } }

    func all(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }

    func has(_ name: String) -> Bool { pairs.contains { $0.0 == name } }

    var isEmpty: Bool { pairs.isEmpty }
}

/// Formatting shared by the alarm pages.
enum AlarmPageFormat {
    static func time(_ ms: Int64?) -> String {
        guard let ms else { return "—" }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) + " UTC"
    }

    /// `3m 20s ago`-style age of `ms` at `now`.
    static func ago(_ ms: Int64, now: Int64) -> String {
        let s = max(0, (now - ms) / 1000)
        if s < 60 { return "\(s)s ago" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s ago" }
        if s < 86400 { return "\(s / 3600)h \(s % 3600 / 60)m ago" }
        return "\(s / 86400)d \(s % 86400 / 3600)h ago"
    }

    static func value(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "—" }
        return v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.2f", v)
    }

    /// The chart unit of a ZWatch metric (from its name and the catalog).
    static func unit(namespace: String, metricName: String) -> SVGChart.Unit {
        if metricName.contains("Percent") || metricName.hasSuffix("Utilization") { return .percent }
        if metricName.hasSuffix("Bytes") { return .bytes }
        if let m = ZWatchCatalog.metric(namespace: namespace, name: metricName), m.description == "%" { return .percent }
        return .plain
    }

    /// `key=value` lines for a textarea.
    static func labelsText(_ labels: [AlarmLabel]) -> String {
        labels.map { "\($0.key)\($0.op)\($0.value)" }.joined(separator: "\n")
    }

    /// Parses `key=value`, `key!=value`, `key=~regex`, `key!~regex` lines (blank lines skipped).
    static func parseLabels(_ text: String, field: String = "labels") throws(AlarmValidationError) -> [AlarmLabel] {
        var out: [AlarmLabel] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            guard let i = line.firstIndex(where: { $0 == "=" || $0 == "!" }), i != line.startIndex else {
                throw AlarmValidationError(field: field, reason: "'\(line)' is not key=value (also key!=value, key=~regex, key!~regex)")
            }
            let rest = line[i...]
            let op = ["!=", "!~", "=~"].first { rest.hasPrefix($0) } ?? (rest.hasPrefix("=") ? "=" : "")
            guard !op.isEmpty else {
                throw AlarmValidationError(field: field, reason: "'\(line)' has no operator; use =, !=, =~ or !~")
            }
            let label = AlarmLabel(key: String(line[..<i]).trimmingCharacters(in: .whitespaces), op: op,
                                   value: String(rest.dropFirst(op.count)).trimmingCharacters(in: .whitespaces))
            _ = try label.matcher(field: field)
            out.append(label)
        }
        return out
    }
}

/// Renders one page with a status other than 200.
extension HTMLPage {
    func with(status: HTTPResponse.Status) -> HTMLPage {
        var p = self
        p.status = status
        return p
    }
}
