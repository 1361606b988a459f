/// A ZWatch `valueConditions` item: `value>80`, `value<=5`, `value==0`, `value!=0` (`=` is `==`).
/// NaN satisfies only `!=`.
public struct ZWatchValueCondition: Sendable, Equatable, CustomStringConvertible {
    public enum Operator: String, Sendable, CaseIterable {
        case greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<=", equal = "==", notEqual = "!="
    }

    public var op: Operator
    public var threshold: Double

    public init(_ op: Operator, _ threshold: Double) {
        self.op = op
        self.threshold = threshold
    }

    public func matches(_ value: Double) -> Bool {
        switch op {
        case .greater: value > threshold
        case .greaterOrEqual: value >= threshold
        case .less: value < threshold
        case .lessOrEqual: value <= threshold
        case .equal: value == threshold
        case .notEqual: value != threshold
        }
    }

    public var description: String { "value\(op.rawValue)\(threshold)" }

    /// Parses `value<op><number>` (spaces allowed). Throws `MetricsError.invalidQuery(field: "valueConditions")`.
    public static func parse(_ text: String) throws -> ZWatchValueCondition {
        let s = text.filter { !$0.isWhitespace }
        func bad(_ why: String) -> MetricsError {
            .invalidQuery(field: "valueConditions", reason: "'\(text)': \(why); write e.g. value>80 or value<=5")
        }
        guard s.hasPrefix("value") else { throw bad("a condition starts with 'value'") }
        let rest = s.dropFirst("value".count)
        // Two-character operators first so that `>=` is not read as `>` then `=5`.
        let ops: [(String, Operator)] = [(">=", .greaterOrEqual), ("<=", .lessOrEqual), ("==", .equal), ("!=", .notEqual),
                                         (">", .greater), ("<", .less), ("=", .equal)]
        guard let (token, op) = ops.first(where: { rest.hasPrefix($0.0) }) else {
            throw bad("expected one of > >= < <= == != after 'value'")
        }
        let number = rest.dropFirst(token.count)
        guard let v = Double(number), !v.isNaN else { throw bad("'\(number)' is not a number") }
        return ZWatchValueCondition(op, v)
    }
}
