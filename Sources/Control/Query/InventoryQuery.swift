import GRDB

/// A ZStack REST query: `q=field<op>value` conditions, `limit`, `start`, `sort=+field|-field`.
///
/// Operators: `=`, `!=`, `>`, `<`, `>=`, `<=`, `?=` (in, comma-separated), `!?=` (not in), `~=` (like,
/// `%` wildcard). Unknown fields are rejected with the list of queryable ones.
public struct InventoryQuery: Sendable, Equatable {
    public struct Condition: Sendable, Equatable {
        public enum Op: String, Sendable, CaseIterable {
            // Longest first so `!?=` is not read as `!=`.
            case notIn = "!?=", greaterOrEqual = ">=", lessOrEqual = "<=", notEqual = "!=", `in` = "?=", like = "~="
            case equal = "=", greater = ">", less = "<"
        }
        public var field: String
        public var op: Op
        public var value: String

        public init(field: String, op: Op, value: String) {
            self.field = field
            self.op = op
            self.value = value
        }
    }

    public var conditions: [Condition] = []
    public var limit: Int = 1000
    public var start: Int = 0
    /// Field and ascending flag.
    public var sort: (field: String, ascending: Bool)?

    public init() {}

    public static func == (a: InventoryQuery, b: InventoryQuery) -> Bool {
        a.conditions == b.conditions && a.limit == b.limit && a.start == b.start
            && a.sort?.field == b.sort?.field && a.sort?.ascending == b.sort?.ascending
    }

    /// Parses one `q=` value such as `state=Running` or `cpuNum>=2`.
    public static func parseCondition(_ text: String) throws -> Condition {
        for op in Condition.Op.allCases {
            guard let r = text.range(of: op.rawValue) else { continue }
            let field = String(text[..<r.lowerBound])
            guard !field.isEmpty, field.allSatisfy({ $0.isLetter || $0.isNumber }) else { continue }
            return Condition(field: field, op: op, value: String(text[r.upperBound...]))
        }
        throw ControlError.invalidArgument(
            field: "q", reason: "'\(text)' is not a condition; write field=value (also != > < >= <= ?= !?= ~=)")
    }

    /// Builds from URL query items (`q` repeated, `limit`, `start`, `sort`).
    public static func parse(_ items: [(name: String, value: String)]) throws -> InventoryQuery {
        var q = InventoryQuery()
        for (name, value) in items {
            switch name {
            case "q": q.conditions.append(try parseCondition(value))
            case "limit":
                guard let n = Int(value), n >= 0, n <= 10_000 else {
                    throw ControlError.invalidArgument(field: "limit", reason: "use a whole number from 0 to 10000")
                }
                q.limit = n
            case "start":
                guard let n = Int(value), n >= 0 else {
                    throw ControlError.invalidArgument(field: "start", reason: "use a whole number ≥ 0")
                }
                q.start = n
            case "sort":
                guard let first = value.first, first == "+" || first == "-", value.count > 1 else {
                    throw ControlError.invalidArgument(field: "sort", reason: "write +field or -field")
                }
                q.sort = (String(value.dropFirst()), first == "+")
            default: continue
            }
        }
        return q
    }
}

/// Which fields of a record can be queried, and their SQL types.
protocol Queryable: TableRecord {
    static var queryFields: [String: QueryFieldType] { get }
}

enum QueryFieldType { case text, integer }

extension InventoryQuery {
    /// Applies conditions, sort and paging to a GRDB request; unknown fields throw.
    func apply<R: Queryable & FetchableRecord>(to base: QueryInterfaceRequest<R>, resource: String) throws
        -> (page: QueryInterfaceRequest<R>, all: QueryInterfaceRequest<R>)
    {
        var request = base
        for c in conditions {
            guard let type = R.queryFields[c.field] else {
                throw ControlError.invalidArgument(
                    field: "q", reason: "\(resource) have no field '\(c.field)'; use one of \(R.queryFields.keys.sorted().joined(separator: ", "))")
            }
            request = request.filter(try Self.expression(c, type: type))
        }
        var page = request
        if let sort {
            guard R.queryFields[sort.field] != nil else {
                throw ControlError.invalidArgument(
                    field: "sort", reason: "\(resource) have no field '\(sort.field)'; use one of \(R.queryFields.keys.sorted().joined(separator: ", "))")
            }
            page = page.order(sort.ascending ? Column(sort.field).asc : Column(sort.field).desc)
        }
        return (page.limit(limit, offset: start), request)
    }

    private static func expression(_ c: Condition, type: QueryFieldType) throws -> SQLExpression {
        let column = Column(c.field)
        func value(_ text: String) throws -> any DatabaseValueConvertible {
            switch type {
            case .text: return text
            case .integer:
                guard let n = Int64(text) else {
                    throw ControlError.invalidArgument(field: "q", reason: "'\(c.field)' is a number; '\(text)' is not")
                }
                return n
            }
        }
        switch c.op {
        case .equal: return column == (try value(c.value))
        case .notEqual: return column != (try value(c.value))
        case .greater: return column > (try value(c.value))
        case .less: return column < (try value(c.value))
        case .greaterOrEqual: return column >= (try value(c.value))
        case .lessOrEqual: return column <= (try value(c.value))
        case .in: return try c.value.split(separator: ",").map { try value(String($0)) }.contains(column)
        case .notIn: return !(try c.value.split(separator: ",").map { try value(String($0)) }.contains(column))
        case .like: return column.like(c.value)
        }
    }
}

extension Host: Queryable {
    static let queryFields: [String: QueryFieldType] = [
        "uuid": .text, "name": .text, "zoneUuid": .text, "clusterUuid": .text, "managementIp": .text,
        "hypervisorType": .text, "state": .text, "status": .text, "cpuNum": .integer,
        "totalMemoryCapacity": .integer, "createDate": .integer, "lastOpDate": .integer,
    ]
}

extension VMInstance: Queryable {
    static let queryFields: [String: QueryFieldType] = [
        "uuid": .text, "name": .text, "zoneUuid": .text, "clusterUuid": .text, "hostUuid": .text,
        "hypervisorType": .text, "state": .text, "cpuNum": .integer, "memorySize": .integer,
        "createDate": .integer, "lastOpDate": .integer,
    ]
}
