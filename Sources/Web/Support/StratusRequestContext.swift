import Control
import Hummingbird

/// The per-request context: Hummingbird's core storage plus the logged-in account, set by
/// `AuthMiddleware` once the session is checked.
public struct StratusRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var account: Account?
    public var sessionUuid: String?

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}
