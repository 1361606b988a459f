/// Errors of `stratus agent`, each naming what failed, where, and what to do.
public enum AgentError: Error, Equatable, CustomStringConvertible {
    /// The disk buffer at `path` could not be used.
    case spool(path: String, message: String)
    /// The manager answered `status` to `call`.
    case manager(call: String, status: Int, body: String)
    /// A flag or setting is wrong.
    case configuration(String)

    public var description: String {
        switch self {
        case let .spool(path, message): "agent spool \(path): \(message)"
        case let .manager(call, status, body):
            "the manager answered \(status) to \(call): \(body.prefix(300))"
                + (status == 401 ? " (check --token: register the host again to get a new one)" : "")
        case let .configuration(why): why
        }
    }
}
