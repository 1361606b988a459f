import Foundation

/// A ZWatch `functions` item, applied to the flat list of reply points in the order given:
///
/// - `top(num=5)`: the `num` points with the largest values (largest first);
/// - `low(num=5)`: the `num` smallest (smallest first);
/// - `sort(by="value"|"time", direction="asc"|"desc")`: stable sort (default by value, ascending);
/// - `limit(limit=10)`: the first `limit` points;
/// - `average(groupBy="VMUuid")` / `sum(groupBy="HostUuid,VMUuid")`: one point per group and time,
///   labelled with the groupBy labels only (no groupBy: one group). Points lacking a groupBy
///   label group under the empty value, and the label is left out of the result.
///
/// NaN values sort after every number in both directions.
public enum ZWatchFunction: Sendable, Equatable {
    case top(Int)
    case low(Int)
    case sort(by: SortKey, descending: Bool)
    case limit(Int)
    case average(groupBy: [String])
    case sum(groupBy: [String])

    public enum SortKey: String, Sendable, CaseIterable { case value, time }

    /// The points after this function.
    public func apply(_ points: [ZWatchDataPoint]) -> [ZWatchDataPoint] {
        switch self {
        case let .top(n): Array(Self.sorted(points, by: .value, descending: true).prefix(n))
        case let .low(n): Array(Self.sorted(points, by: .value, descending: false).prefix(n))
        case let .sort(key, descending): Self.sorted(points, by: key, descending: descending)
        case let .limit(n): Array(points.prefix(n))
        case let .average(groupBy): Self.group(points, by: groupBy, average: true)
        case let .sum(groupBy): Self.group(points, by: groupBy, average: false)
        }
    }

    private static func sorted(_ points: [ZWatchDataPoint], by key: SortKey, descending: Bool) -> [ZWatchDataPoint] {
        // Decorate with the index so the sort is stable.
        points.enumerated().sorted { a, b in
            switch key {
            case .time:
                if a.element.time != b.element.time { return descending ? a.element.time > b.element.time : a.element.time < b.element.time }
            case .value:
                let x = a.element.value, y = b.element.value
                if x.isNaN != y.isNaN { return y.isNaN }
                if !x.isNaN && x != y { return descending ? x > y : x < y }
            }
            return a.offset < b.offset
        }.map(\.element)
    }

    private static func group(_ points: [ZWatchDataPoint], by names: [String], average: Bool) -> [ZWatchDataPoint] {
        struct Key: Hashable { var values: [String]; var time: Int64 }
        var order: [Key] = []
        var acc: [Key: (sum: Double, count: Int)] = [:]
        for p in points {
            let key = Key(values: names.map { p.labels[$0] ?? "" }, time: p.time)
            if acc[key] == nil { order.append(key) }
            acc[key, default: (0, 0)].sum += p.value
            acc[key, default: (0, 0)].count += 1
        }
        return order.map { key in
            let a = acc[key]!
            var labels: [String: String] = [:]
            for (n, v) in zip(names, key.values) where !v.isEmpty { labels[n] = v }
            return ZWatchDataPoint(value: average ? a.sum / Double(a.count) : a.sum, time: key.time, labels: labels)
        }.sorted { l, r in
            let lk = l.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            let rk = r.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return lk != rk ? lk < rk : l.time < r.time
        }
    }

    /// Parses `name(arg=value, …)`; string values may be quoted with `"` or `'`.
    /// Throws `MetricsError.invalidQuery(field: "functions")` naming what is wrong.
    public static func parse(_ text: String) throws -> ZWatchFunction {
        func bad(_ why: String) -> MetricsError {
            .invalidQuery(field: "functions", reason: "'\(text)': \(why)")
        }
        let s = text.trimmingCharacters(in: .whitespaces)
        guard let open = s.firstIndex(of: "("), s.hasSuffix(")") else {
            throw bad("expected name(arg=value), e.g. top(num=5)")
        }
        let name = String(s[..<open]).trimmingCharacters(in: .whitespaces)
        let inner = s[s.index(after: open)..<s.index(before: s.endIndex)]
        var args: [String: String] = [:]
        for part in splitArguments(String(inner)) {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, !kv[0].isEmpty else { throw bad("argument '\(part)' is not name=value") }
            var v = kv[1]
            if v.count >= 2, let q = v.first, q == "\"" || q == "'", v.last == q { v = String(v.dropFirst().dropLast()) }
            args[kv[0]] = v
        }
        func allow(_ names: Set<String>) throws {
            if let extra = args.keys.sorted().first(where: { !names.contains($0) }) {
                throw bad("\(name) takes no argument '\(extra)' (it takes \(names.sorted().joined(separator: ", ")))")
            }
        }
        func count(_ arg: String) throws -> Int {
            guard let text = args[arg] else { throw bad("\(name) needs \(arg)=N") }
            guard let n = Int(text), n > 0 else { throw bad("\(arg) must be a whole number > 0, got '\(text)'") }
            return n
        }
        func groupBy() -> [String] {
            (args["groupBy"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        switch name {
        case "top":
            try allow(["num"])
            return .top(try count("num"))
        case "low":
            try allow(["num"])
            return .low(try count("num"))
        case "limit":
            try allow(["limit"])
            return .limit(try count("limit"))
        case "sort":
            try allow(["by", "direction"])
            guard let key = SortKey(rawValue: args["by"] ?? "value") else {
                throw bad("by must be \"value\" or \"time\", got '\(args["by"]!)'")
            }
            let direction = (args["direction"] ?? "asc").lowercased()
            guard direction == "asc" || direction == "desc" else {
                throw bad("direction must be \"asc\" or \"desc\", got '\(direction)'")
            }
            return .sort(by: key, descending: direction == "desc")
        case "average", "avg":
            try allow(["groupBy"])
            return .average(groupBy: groupBy())
        case "sum":
            try allow(["groupBy"])
            return .sum(groupBy: groupBy())
        default:
            throw bad("unknown function '\(name)'; use top, low, sort, limit, average or sum")
        }
    }

    /// Splits on commas outside quotes.
    private static func splitArguments(_ s: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        for c in s {
            if let q = quote {
                if c == q { quote = nil }
                current.append(c)
            } else if c == "\"" || c == "'" {
                quote = c
                current.append(c)
            } else if c == "," {
                parts.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty { parts.append(current) }
        return parts.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
