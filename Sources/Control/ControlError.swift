/// Errors of the Control module. Each names what was wrong and how to fix it; the Web layer maps
/// each case to an HTTP status.
public enum ControlError: Error, Equatable, CustomStringConvertible {
    /// Bad input from a caller: `field` names the parameter, `reason` says how to fix it.
    case invalidArgument(field: String, reason: String)
    /// No resource of that kind with that uuid (or name).
    case notFound(resource: String, id: String)
    /// The name or uuid is taken.
    case alreadyExists(resource: String, id: String)
    /// Wrong account name or password, or an expired/unknown session.
    case authenticationFailed(String)
    /// The hypervisor refused or failed an operation; `message` is its own text.
    case hypervisor(uri: String, message: String)
    /// The inventory database failed.
    case storage(String)

    public var description: String {
        switch self {
        case let .invalidArgument(field, reason): "invalid '\(field)': \(reason)"
        case let .notFound(resource, id): "no \(resource) with uuid '\(id)'"
        case let .alreadyExists(resource, id): "\(resource) '\(id)' already exists"
        case let .authenticationFailed(why): why
        case let .hypervisor(uri, message): "hypervisor \(uri): \(message)"
        case let .storage(message): "inventory database: \(message)"
        }
    }
}

extension ControlError {
    /// True for a failed login or an unknown/expired session.
    public var isAuthentication: Bool {
        if case .authenticationFailed = self { return true }
        return false
    }
}
