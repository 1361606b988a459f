/// The parsed form of a PromQL expression (the subset Stratus evaluates).

/// The type a PromQL expression evaluates to.
enum PromQLType: String, Sendable {
    case scalar
    case vector = "instant vector"
    case matrix = "range vector"
    case string
}

/// `name{matchers} offset d`: the series it selects and how far back it looks.
struct VectorSelector: Sendable {
    /// Every matcher, including `__name__="name"` when a name was written.
    var matchers: [LabelMatcher]
    /// Milliseconds to shift evaluation into the past (`offset`).
    var offset: Int64 = 0
}

/// `by (…)` or `without (…)` of an aggregation.
struct Grouping: Sendable, Equatable {
    var without: Bool = false
    var labels: [String] = []
}

/// `on (…)`/`ignoring (…)` and `bool` of a binary operator.
struct VectorMatching: Sendable, Equatable {
    /// nil: match on all labels but `__name__`.
    var on: [String]?
    var ignoring: [String] = []
}

enum BinaryOperator: String, Sendable, CaseIterable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "^"
    case eq = "==", ne = "!=", gt = ">", lt = "<", ge = ">=", le = "<="

    var isComparison: Bool {
        switch self {
        case .eq, .ne, .gt, .lt, .ge, .le: true
        default: false
        }
    }

    /// Binding strength, higher binds tighter (Prometheus' table without the set operators).
    var precedence: Int {
        switch self {
        case .eq, .ne, .gt, .lt, .ge, .le: 1
        case .add, .sub: 2
        case .mul, .div, .mod: 3
        case .pow: 4
        }
    }
}

enum AggregationOperator: String, Sendable, CaseIterable {
    case sum, avg, min, max, count, group, topk, bottomk

    var takesParameter: Bool { self == .topk || self == .bottomk }
}

indirect enum Expr: Sendable {
    case number(Double)
    case string(String)
    case vector(VectorSelector)
    /// `selector[range]`, range in ms.
    case matrix(VectorSelector, range: Int64)
    case call(PromQLFunction, [Expr])
    case aggregate(AggregationOperator, parameter: Expr?, Expr, Grouping)
    case binary(BinaryOperator, Expr, Expr, matching: VectorMatching, returnBool: Bool)
    case negate(Expr)
    case paren(Expr)

    var type: PromQLType {
        switch self {
        case .number: .scalar
        case .string: .string
        case .vector: .vector
        case .matrix: .matrix
        case let .call(f, _): f.returnType
        case .aggregate: .vector
        case let .binary(_, l, r, _, _): l.type == .scalar && r.type == .scalar ? .scalar : .vector
        case let .negate(e), let .paren(e): e.type
        }
    }
}
