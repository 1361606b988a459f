/// Why an input line was refused before it reached the store.
public enum ImportRejectionKind: String, Sendable, CaseIterable, Comparable {
    /// The line is not valid JSON / not a `name{labels} value timestamp` line.
    case syntax
    /// A required part is missing (`metric`, `values`, `timestamps`, `__name__`, the timestamp).
    case missingField = "missing_field"
    /// `values` and `timestamps` have different lengths.
    case lengthMismatch = "length_mismatch"
    /// A value is not a number (nor NaN / +Inf / -Inf).
    case badValue = "bad_value"
    /// A timestamp is not an integer number of milliseconds >= 0.
    case badTimestamp = "bad_timestamp"
    /// The labels break the store's rules (label name syntax, empty value, limits).
    case invalidLabels = "invalid_labels"

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// One refused input line: where, what kind, and a sentence saying what to fix.
public struct ImportRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line number in its input.
    public var line: Int
    public var kind: ImportRejectionKind
    public var reason: String

    public init(line: Int, kind: ImportRejectionKind, reason: String) {
        self.line = line
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "line \(line): \(kind.rawValue): \(reason)" }
}
