import Foundation

/// Selects series by one label: `=`, `!=`, `=~` (anchored regex), `!~`.
/// A missing label matches as the empty string, as in Prometheus.
public struct LabelMatcher: Sendable, CustomStringConvertible {
    public enum Operator: String, Sendable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case regex = "=~"
        case notRegex = "!~"
    }

    public let name: String
    public let op: Operator
    public let value: String
    private let regex: AnchoredRegex?

    /// Throws `MetricsError.invalidMatcher` when a regex does not compile.
    public init(_ name: String, _ op: Operator, _ value: String) throws {
        self.name = name
        self.op = op
        self.value = value
        switch op {
        case .equal, .notEqual: regex = nil
        case .regex, .notRegex: regex = try AnchoredRegex(value, label: name)
        }
    }

    /// `name=value`.
    public static func equal(_ name: String, _ value: String) -> LabelMatcher {
        // Cannot throw: only regex operators compile anything.
        try! LabelMatcher(name, .equal, value)
    }

    public func matches(_ labelValue: String?) -> Bool {
        let v = labelValue ?? ""
        switch op {
        case .equal: return v == value
        case .notEqual: return v != value
        case .regex: return regex!.matches(v)
        case .notRegex: return !regex!.matches(v)
        }
    }

    public func matches(_ labels: Labels) -> Bool { matches(labels[name]) }

    public var description: String { "\(name)\(op.rawValue)\"\(value)\"" }

    /// Parses `Key=Value`, `Key!=Value`, `Key=~re`, `Key!~re` (the ZWatch `labels=` form).
    public static func parse(_ text: String) throws -> LabelMatcher {
        for op in [Operator.notEqual, .regex, .notRegex, .equal] {
            if let r = text.range(of: op.rawValue) {
                let name = String(text[..<r.lowerBound])
                // `=` must not be the first char of `=~`.
                if op == .equal, text[r.upperBound...].hasPrefix("~") { continue }
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { break }
                return try LabelMatcher(name, op, String(text[r.upperBound...]))
            }
        }
        throw MetricsError.invalidMatcher(
            text, reason: "expected Key=Value, Key!=Value, Key=~regex or Key!~regex with a label name of letters, digits and _")
    }
}

/// A whole-string regex match (Prometheus anchors label regexes).
struct AnchoredRegex: @unchecked Sendable {
    // Regex<AnyRegexOutput> is immutable once built; it is not marked Sendable by the stdlib.
    private let regex: Regex<AnyRegexOutput>

    init(_ pattern: String, label: String) throws {
        do {
            regex = try Regex(pattern)
        } catch {
            throw MetricsError.invalidMatcher("\(label)=~\(pattern)", reason: "the regular expression does not compile: \(error)")
        }
    }

    func matches(_ s: String) -> Bool { (try? regex.wholeMatch(in: s)) != nil }
}
