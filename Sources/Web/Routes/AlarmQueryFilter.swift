import Alarms
import Control
import Foundation
import Hummingbird

/// ZStack `q=` queries over lists the alarm store returns whole: each item exposes its queryable
/// fields as strings; conditions, `sort`, `start` and `limit` are applied in memory.
struct AlarmQueryFilter {
    let query: InventoryQuery

    init(_ request: Request) throws {
        query = try InventoryQuery.parse(request.uri.queryParameters.map { (String($0.key), String($0.value)) })
    }

    /// The page of `items` matching every condition, and how many matched in all.
    /// `fields` gives an item's queryable fields; a condition on another field is a 400 naming it.
    func apply<T>(_ items: [T], fields: (T) -> [String: String], allowed: Set<String>) throws -> (page: [T], total: Int) {
        for c in query.conditions where !allowed.contains(c.field) {
            throw AlarmValidationError(field: "q", reason: "cannot filter on '\(c.field)'; use one of \(allowed.sorted().joined(separator: ", "))")
        }
        if let s = query.sort, !allowed.contains(s.field) {
            throw AlarmValidationError(field: "sort", reason: "cannot sort on '\(s.field)'; use one of \(allowed.sorted().joined(separator: ", "))")
        }
        var matched = items.map { ($0, fields($0)) }.filter { _, f in
            query.conditions.allSatisfy { Self.matches(f[$0.field] ?? "", $0) }
        }
        if let s = query.sort {
            matched.sort { a, b in
                let x = a.1[s.field] ?? "", y = b.1[s.field] ?? ""
                let less = Self.less(x, y)
                return s.ascending ? less : Self.less(y, x)
            }
        }
        let page = matched.dropFirst(query.start).prefix(query.limit).map(\.0)
        return (Array(page), matched.count)
    }

    static func less(_ x: String, _ y: String) -> Bool {
        if let a = Double(x), let b = Double(y) { return a < b }
        return x < y
    }

    static func matches(_ value: String, _ c: InventoryQuery.Condition) -> Bool {
        switch c.op {
        case .equal: return value == c.value
        case .notEqual: return value != c.value
        case .in: return c.value.split(separator: ",").map(String.init).contains(value)
        case .notIn: return !c.value.split(separator: ",").map(String.init).contains(value)
        case .like: return like(value, c.value)
        case .greater: return compare(value, c.value) { $0 > $1 }
        case .less: return compare(value, c.value) { $0 < $1 }
        case .greaterOrEqual: return compare(value, c.value) { $0 >= $1 }
        case .lessOrEqual: return compare(value, c.value) { $0 <= $1 }
        }
    }

    static func compare(_ a: String, _ b: String, _ op: (Double, Double) -> Bool) -> Bool {
        guard let x = Double(a), let y = Double(b) else { return false }
        return op(x, y)
    }

    /// SQL `LIKE`: `%` any run, `_` one character; case-insensitive.
    static func like(_ value: String, _ pattern: String) -> Bool {
        let escaped = NSRegularExpression.escapedPattern(for: pattern)
            .replacingOccurrences(of: "%", with: ".*").replacingOccurrences(of: "_", with: ".")
        return value.range(of: "^\(escaped)$", options: [.regularExpression, .caseInsensitive]) != nil
    }
}

/// `{"inventories":[…],"total":n}`, or `{"total":n}` with `count=true` (ZStack).
struct AlarmQueryReply<T: Encodable>: Encodable {
    var inventories: [T]?
    var total: Int

    static func response(_ items: [T], total: Int, _ request: Request) throws -> Response {
        if request.uri.queryParameters["count"] == "true" { return try JSONResponse.make(AlarmQueryReply(inventories: nil, total: total)) }
        return try JSONResponse.make(AlarmQueryReply(inventories: items, total: total))
    }
}

/// `{"inventory":…}`.
struct AlarmInventoryReply<T: Encodable>: Encodable {
    var inventory: T

    static func response(_ item: T, status: HTTPResponse.Status = .ok) throws -> Response {
        try JSONResponse.make(AlarmInventoryReply(inventory: item), status: status)
    }
}

/// A request body `{"params":{…},"systemTags":[],"userTags":[]}`.
struct ParamsBody<T: Decodable>: Decodable {
    var params: T
}

/// Field-named parsing of the model's string enums (case-insensitive).
enum AlarmParse {
    static func value<E: RawRepresentable & CaseIterable>(_ raw: String, field: String) throws(AlarmValidationError) -> E
        where E.RawValue == String
    {
        if let e = E.allCases.first(where: { $0.rawValue.lowercased() == raw.lowercased() }) { return e }
        throw AlarmValidationError(field: field, reason: "'\(raw)' is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
    }

    /// Checks every label's operator and regex, naming the field.
    static func labels(_ labels: [AlarmLabelParam], field: String) throws(AlarmValidationError) -> [AlarmLabel] {
        var out: [AlarmLabel] = []
        for l in labels {
            guard !l.key.isEmpty else { throw AlarmValidationError(field: field, reason: "a label has an empty key") }
            let label = AlarmLabel(key: l.key, op: l.op ?? "=", value: l.value)
            _ = try label.matcher(field: field)
            out.append(label)
        }
        return out
    }
}

/// One label in a request: `{"key":…,"op":"=","value":…}` (`op` defaults to `=`).
struct AlarmLabelParam: Decodable, Sendable {
    var key: String
    var op: String?
    var value: String
}
