/// A recursive-descent parser for the PromQL subset, with Prometheus' operator precedence
/// (`^` binds tightest and to the right, unary minus next, then `* / %`, `+ -`, comparisons)
/// and Prometheus' type checks, so malformed input fails here with a position.
struct PromQLParser {
    private var lexer: PromQLLexer
    private var lookahead: Token?

    private init(_ text: String) { lexer = PromQLLexer(text) }

    /// Parses a whole expression; anything left over is an error.
    static func parse(_ text: String) throws -> Expr {
        var p = PromQLParser(text)
        let e = try p.parseExpression(minPrecedence: 0)
        let t = try p.peek()
        guard t.kind == .eof else {
            throw PromQLError.parse(position: t.position, message: "unexpected \(t.kind.text) after the end of the expression")
        }
        return e
    }

    // MARK: Tokens

    private mutating func peek() throws -> Token {
        if let t = lookahead { return t }
        let t = try lexer.next()
        lookahead = t
        return t
    }

    @discardableResult
    private mutating func advance() throws -> Token {
        let t = try peek()
        lookahead = nil
        return t
    }

    private mutating func expect(_ kind: TokenKind, _ context: String) throws {
        let t = try advance()
        guard t.kind == kind else {
            throw PromQLError.parse(position: t.position, message: "unexpected \(t.kind.text) \(context); expected \(kind.text)")
        }
    }

    private mutating func peekIdentifier() throws -> String? {
        if case let .identifier(name) = try peek().kind { return name }
        return nil
    }

    // MARK: Operators

    private mutating func parseExpression(minPrecedence: Int) throws -> Expr {
        var lhs = try parseUnary()
        while true {
            let t = try peek()
            guard case let .op(op) = t.kind, op.precedence >= minPrecedence else { return lhs }
            try advance()
            var returnBool = false
            var matching = VectorMatching()
            if try peekIdentifier() == "bool" {
                let b = try advance()
                guard op.isComparison else {
                    throw PromQLError.parse(position: b.position, message: "bool modifier can only be used on comparison operators")
                }
                returnBool = true
            }
            if let keyword = try peekIdentifier(), keyword == "on" || keyword == "ignoring" {
                try advance()
                let labels = try parseLabelList("in \(keyword)(…)")
                if keyword == "on" { matching.on = labels } else { matching.ignoring = labels }
                if let g = try peekIdentifier(), g == "group_left" || g == "group_right" {
                    throw PromQLError.parse(
                        position: try peek().position,
                        message: "\(g) (many-to-one matching) is not supported; match one-to-one with on(…) or ignoring(…)")
                }
            }
            // `^` is right-associative; the others are left-associative.
            let rhs = try parseExpression(minPrecedence: op == .pow ? op.precedence : op.precedence + 1)
            lhs = try makeBinary(op, lhs, rhs, matching: matching, returnBool: returnBool, position: t.position)
        }
    }

    private func makeBinary(
        _ op: BinaryOperator, _ lhs: Expr, _ rhs: Expr, matching: VectorMatching, returnBool: Bool, position: Int
    ) throws -> Expr {
        for side in [lhs, rhs] where side.type != .scalar && side.type != .vector {
            throw PromQLError.parse(
                position: position,
                message: "binary expression must contain only scalar and instant vector types, got \(side.type.rawValue)")
        }
        if op.isComparison && !returnBool && lhs.type == .scalar && rhs.type == .scalar {
            throw PromQLError.parse(position: position, message: "comparisons between scalars must use the bool modifier")
        }
        if (matching.on != nil || !matching.ignoring.isEmpty) && (lhs.type != .vector || rhs.type != .vector) {
            throw PromQLError.parse(position: position, message: "vector matching (on/ignoring) is only allowed between instant vectors")
        }
        return .binary(op, lhs, rhs, matching: matching, returnBool: returnBool)
    }

    private mutating func parseUnary() throws -> Expr {
        let t = try peek()
        guard case let .op(op) = t.kind, op == .add || op == .sub else { return try parsePostfix() }
        try advance()
        // Unary minus binds looser than `^`: -2^2 is -(2^2).
        let operand = try parseExpression(minPrecedence: BinaryOperator.pow.precedence)
        guard operand.type == .scalar || operand.type == .vector else {
            throw PromQLError.parse(
                position: t.position,
                message: "unary expression only allowed on expressions of type scalar or instant vector, got \(operand.type.rawValue)")
        }
        if op == .add { return operand }
        if case let .number(v) = operand { return .number(-v) }
        return .negate(operand)
    }

    // MARK: Range and offset

    private mutating func parsePostfix() throws -> Expr {
        var e = try parsePrimary()
        var sawOffset = false
        while true {
            let t = try peek()
            if t.kind == .leftBracket {
                guard case let .vector(selector) = e else {
                    throw PromQLError.parse(
                        position: t.position,
                        message: "ranges are only allowed on vector selectors (subqueries are not supported)")
                }
                try advance()
                let (range, at) = try lexer.scanDuration()
                guard range > 0 else {
                    throw PromQLError.parse(position: at, message: "range duration must be greater than 0")
                }
                let close = try advance()
                if close.kind == .colon {
                    throw PromQLError.parse(position: close.position, message: "subqueries ([range:step]) are not supported")
                }
                guard close.kind == .rightBracket else {
                    throw PromQLError.parse(position: close.position, message: "unexpected \(close.kind.text) in range; expected \"]\"")
                }
                e = .matrix(selector, range: range)
            } else if try peekIdentifier() == "offset" {
                guard !sawOffset else {
                    throw PromQLError.parse(position: t.position, message: "offset may not be set multiple times")
                }
                sawOffset = true
                try advance()
                var sign: Int64 = 1
                // Read the sign as a raw byte: lexing a token here would misread the duration as a number.
                if lexer.consume(UInt8(ascii: "-")) { sign = -1 }
                let (offset, _) = try lexer.scanDuration()
                switch e {
                case var .vector(s):
                    s.offset = sign * offset
                    e = .vector(s)
                case .matrix(var s, let range):
                    s.offset = sign * offset
                    e = .matrix(s, range: range)
                default:
                    throw PromQLError.parse(position: t.position, message: "offset modifier must be preceded by a vector or range selector")
                }
            } else if t.kind == .at {
                throw PromQLError.parse(position: t.position, message: "the @ modifier is not supported")
            } else {
                return e
            }
        }
    }

    // MARK: Primaries

    private mutating func parsePrimary() throws -> Expr {
        let t = try advance()
        switch t.kind {
        case let .number(v): return .number(v)
        case let .string(s): return .string(s)
        case .leftParen:
            let e = try parseExpression(minPrecedence: 0)
            try expect(.rightParen, "in parenthesized expression")
            return .paren(e)
        case .leftBrace:
            return .vector(try parseSelector(name: nil, namePosition: t.position, bracePosition: t.position))
        case let .identifier(name):
            if let agg = AggregationOperator(rawValue: name) { return try parseAggregation(agg, position: t.position) }
            if ["count_values", "quantile", "stddev", "stdvar", "limitk", "limit_ratio"].contains(name) {
                throw PromQLError.parse(position: t.position, message: "aggregation \"\(name)\" is not supported")
            }
            let next = try peek()
            if next.kind == .leftParen { return try parseCall(name, position: t.position) }
            if next.kind == .leftBrace {
                try advance()
                return .vector(try parseSelector(name: name, namePosition: t.position, bracePosition: next.position))
            }
            return .vector(try makeSelector(name: name, [], position: t.position))
        case .eof:
            throw PromQLError.parse(position: t.position, message: "unexpected end of input; expected an expression")
        default:
            throw PromQLError.parse(position: t.position, message: "unexpected \(t.kind.text); expected an expression")
        }
    }

    private mutating func parseCall(_ name: String, position: Int) throws -> Expr {
        guard let f = PromQLFunction(rawValue: name) else {
            throw PromQLError.parse(position: position, message: "unknown function with name \"\(name)\"")
        }
        try advance()  // (
        var args: [Expr] = []
        if try peek().kind != .rightParen {
            while true {
                args.append(try parseExpression(minPrecedence: 0))
                let t = try advance()
                if t.kind == .rightParen { break }
                guard t.kind == .comma else {
                    throw PromQLError.parse(position: t.position, message: "unexpected \(t.kind.text) in call to \(name); expected \",\" or \")\"")
                }
            }
        } else {
            try advance()
        }
        guard args.count == f.argumentTypes.count else {
            throw PromQLError.parse(
                position: position,
                message: "expected \(f.argumentTypes.count) argument(s) in call to \"\(name)\", got \(args.count)")
        }
        for (arg, type) in zip(args, f.argumentTypes) where arg.type != type {
            throw PromQLError.parse(
                position: position,
                message: "expected type \(type.rawValue) in call to function \"\(name)\", got \(arg.type.rawValue)")
        }
        return .call(f, args)
    }

    private mutating func parseAggregation(_ op: AggregationOperator, position: Int) throws -> Expr {
        var grouping: Grouping?
        if let g = try parseGroupingIfPresent() { grouping = g }
        try expect(.leftParen, "after \(op.rawValue)")
        var parameter: Expr?
        if op.takesParameter {
            let p = try parseExpression(minPrecedence: 0)
            guard p.type == .scalar else {
                throw PromQLError.parse(position: position, message: "expected type scalar in aggregation parameter, got \(p.type.rawValue)")
            }
            parameter = p
            try expect(.comma, "in \(op.rawValue)(k, vector)")
        }
        let e = try parseExpression(minPrecedence: 0)
        let close = try advance()
        if close.kind == .comma {
            throw PromQLError.parse(
                position: close.position,
                message: "wrong number of arguments for aggregate expression \(op.rawValue), expected \(op.takesParameter ? 2 : 1)")
        }
        guard close.kind == .rightParen else {
            throw PromQLError.parse(position: close.position, message: "unexpected \(close.kind.text) in aggregation; expected \")\"")
        }
        guard e.type == .vector else {
            throw PromQLError.parse(position: position, message: "expected type instant vector in aggregation expression, got \(e.type.rawValue)")
        }
        if let g = try parseGroupingIfPresent() {
            guard grouping == nil else {
                throw PromQLError.parse(position: position, message: "aggregation may have only one by/without clause")
            }
            grouping = g
        }
        return .aggregate(op, parameter: parameter, e, grouping ?? Grouping())
    }

    private mutating func parseGroupingIfPresent() throws -> Grouping? {
        guard let k = try peekIdentifier(), k == "by" || k == "without" else { return nil }
        try advance()
        return Grouping(without: k == "without", labels: try parseLabelList("in \(k)(…)"))
    }

    /// `(a, b, c)`, trailing comma allowed.
    private mutating func parseLabelList(_ context: String) throws -> [String] {
        try expect(.leftParen, context)
        var labels: [String] = []
        while true {
            let t = try advance()
            switch t.kind {
            case .rightParen: return labels
            case let .identifier(name) where SampleValidator.isValidLabelName(name):
                labels.append(name)
                let sep = try advance()
                if sep.kind == .rightParen { return labels }
                guard sep.kind == .comma else {
                    throw PromQLError.parse(position: sep.position, message: "unexpected \(sep.kind.text) \(context); expected \",\" or \")\"")
                }
            case .eof:
                throw PromQLError.parse(position: t.position, message: "unexpected end of input \(context); expected \")\"")
            default:
                throw PromQLError.parse(position: t.position, message: "unexpected \(t.kind.text) \(context); expected a label name")
            }
        }
    }

    // MARK: Selectors

    /// After `{`: matchers up to `}`.
    private mutating func parseSelector(name: String?, namePosition: Int, bracePosition: Int) throws -> VectorSelector {
        var matchers: [LabelMatcher] = []
        while true {
            let t = try advance()
            switch t.kind {
            case .rightBrace:
                return try makeSelector(name: name, matchers, position: namePosition)
            case let .identifier(label) where SampleValidator.isValidLabelName(label):
                let opToken = try advance()
                let op: LabelMatcher.Operator
                switch opToken.kind {
                case .assign: op = .equal
                case .op(.ne): op = .notEqual
                case .regexMatch: op = .regex
                case .regexNoMatch: op = .notRegex
                case .eof: throw unclosedBrace(opToken)
                default:
                    throw PromQLError.parse(
                        position: opToken.position,
                        message: "unexpected \(opToken.kind.text) in label matching; expected one of =, !=, =~, !~")
                }
                let valueToken = try advance()
                guard case let .string(value) = valueToken.kind else {
                    if valueToken.kind == .eof { throw unclosedBrace(valueToken) }
                    throw PromQLError.parse(
                        position: valueToken.position,
                        message: "unexpected \(valueToken.kind.text) in label matching; expected a quoted string")
                }
                do {
                    matchers.append(try LabelMatcher(label, op, value))
                } catch let error as MetricsError {
                    throw PromQLError.parse(position: valueToken.position, message: error.description)
                }
                let sep = try advance()
                if sep.kind == .rightBrace { return try makeSelector(name: name, matchers, position: namePosition) }
                if sep.kind == .eof { throw unclosedBrace(sep) }
                guard sep.kind == .comma else {
                    throw PromQLError.parse(
                        position: sep.position, message: "unexpected \(sep.kind.text) in label matching; expected \",\" or \"}\"")
                }
            case .eof:
                throw unclosedBrace(t)
            default:
                throw PromQLError.parse(
                    position: t.position, message: "unexpected \(t.kind.text) in label matching; expected a label name or \"}\"")
            }
        }
    }

    private func unclosedBrace(_ t: Token) -> PromQLError {
        .parse(position: t.position, message: "unexpected end of input inside braces; close the selector with \"}\"")
    }

    private func makeSelector(name: String?, _ matchers: [LabelMatcher], position: Int) throws -> VectorSelector {
        var all = matchers
        if let name {
            if matchers.contains(where: { $0.name == Labels.nameKey }) {
                throw PromQLError.parse(position: position, message: "metric name must not be set twice: \"\(name)\" and a __name__ matcher")
            }
            all.insert(LabelMatcher.equal(Labels.nameKey, name), at: 0)
        }
        guard all.contains(where: { !$0.matches(nil) }) else {
            throw PromQLError.parse(
                position: position,
                message: "vector selector must contain at least one non-empty matcher, like name or {label=\"value\"}")
        }
        return VectorSelector(matchers: all)
    }
}
