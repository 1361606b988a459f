/// Errors of the Metrics module; each says what was wrong and where.
public enum MetricsError: Error, Equatable, CustomStringConvertible {
    /// A label matcher could not be parsed or its regex does not compile.
    case invalidMatcher(String, reason: String)
    /// A sample was refused before anything was written (no name, empty label, non-finite time…).
    case invalidSample(String, reason: String)
    /// A query argument is out of range (step 0, end before start, too many points).
    case invalidQuery(field: String, reason: String)
    /// RocksDB (or another backend) reported an error; `message` is its text.
    case storage(operation: String, message: String)
    /// Stored bytes could not be decoded; `key` locates them.
    case corrupt(key: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidMatcher(text, reason): "invalid label matcher '\(text)': \(reason)"
        case let .invalidSample(what, reason): "invalid sample \(what): \(reason)"
        case let .invalidQuery(field, reason): "invalid query field '\(field)': \(reason)"
        case let .storage(operation, message): "metric store \(operation) failed: \(message)"
        case let .corrupt(key, reason): "corrupt metric data at key \(key): \(reason)"
        }
    }
}
