/// Why a PromQL query failed; the HTTP layer maps `parse` to 400 `bad_data` and the others to
/// 422 `execution`.
public enum PromQLError: Error, Equatable, CustomStringConvertible {
    /// The query text is malformed; `position` is the byte offset (0-based) where the problem starts.
    case parse(position: Int, message: String)
    /// The query parsed but cannot be evaluated (duplicate series, storage failure, …).
    case execution(String)
    /// The query would load more than `limit` samples into memory.
    case tooManySamples(limit: Int)

    public var description: String {
        switch self {
        case let .parse(position, message): "parse error at char \(position + 1): \(message)"
        case let .execution(message): message
        case let .tooManySamples(limit):
            "query processing would load too many samples into memory in query execution (limit \(limit)); "
                + "narrow the time range, raise the step or select fewer series"
        }
    }
}
