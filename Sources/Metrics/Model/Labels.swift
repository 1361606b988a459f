/// A series' identity: label names mapped to values, kept sorted by name so that equal sets compare
/// and hash equal and print canonically.
///
/// ```swift
/// let l = Labels(["__name__": "ZStack:VM::CPUAllUsedUtilization", "VMUuid": "3f…"])
/// l["VMUuid"]  // "3f…"
/// ```
public struct Labels: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The label that carries the series name (Prometheus convention).
    public static let nameKey = "__name__"

    /// Name/value pairs sorted by name; names are unique.
    public private(set) var pairs: [(name: String, value: String)]

    public init(_ dictionary: [String: String]) {
        pairs = dictionary.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
    }

    /// Pairs already sorted by name, names unique (not checked: for callers that filter a `Labels`).
    init(sortedPairs: [(name: String, value: String)]) {
        pairs = sortedPairs
    }

    public subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// The series name (`__name__`), or "" when absent.
    public var name: String { self[Labels.nameKey] ?? "" }

    /// All labels as a dictionary.
    public var dictionary: [String: String] {
        Dictionary(uniqueKeysWithValues: pairs.map { ($0.name, $0.value) })
    }

    /// The labels without `__name__`, as ZWatch replies show them.
    public var withoutName: [String: String] {
        var d: [String: String] = [:]
        d.reserveCapacity(pairs.count)
        for p in pairs where p.name != Labels.nameKey { d[p.name] = p.value }
        return d
    }

    /// `{a="1",b="2"}`, the canonical text form; also the sort key.
    public var description: String {
        "{" + pairs.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ",") + "}"
    }

    public static func == (lhs: Labels, rhs: Labels) -> Bool {
        lhs.pairs.count == rhs.pairs.count
            && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for p in pairs {
            hasher.combine(p.name)
            hasher.combine(p.value)
        }
    }

    public static func < (lhs: Labels, rhs: Labels) -> Bool {
        for (l, r) in zip(lhs.pairs, rhs.pairs) {
            if l.name != r.name { return l.name < r.name }
            if l.value != r.value { return l.value < r.value }
        }
        return lhs.pairs.count < rhs.pairs.count
    }
}
