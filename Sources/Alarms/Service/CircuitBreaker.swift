/// One endpoint's circuit breaker, a pure state machine.
///
/// `closed` counts consecutive retryable failures; at `breakerThreshold` it opens for
/// `breakerCoolDown`. When the cool-down has passed it is `halfOpen`: exactly one trial attempt goes
/// through. A delivered trial closes it (and resets the cool-down); a failed trial opens it again
/// with the cool-down doubled, up to `breakerMaxCoolDown`. Permanent failures (the endpoint answered,
/// but refused this message) neither count nor reset.
///
/// While open, the dispatcher does not attempt the endpoint's entries: it postpones them to the
/// moment the breaker lets a trial through.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(until: Int64)
        /// A trial is allowed (`trialInFlight == false`) or under way.
        case halfOpen(trialInFlight: Bool)
    }

    /// What the breaker says about an attempt now.
    public enum Permission: Sendable, Equatable {
        case allowed
        /// Not before this time.
        case blocked(until: Int64)
    }

    public private(set) var state: State = .closed(consecutiveFailures: 0)
    /// The cool-down the next opening uses.
    public private(set) var coolDown: Int64
    /// The last retryable failure's reason (shown on postponed entries).
    public private(set) var lastError: String?
    private let threshold: Int
    private let baseCoolDown: Int64
    private let maxCoolDown: Int64

    public init(policy: DeliveryPolicy) {
        threshold = max(1, policy.breakerThreshold)
        baseCoolDown = policy.breakerCoolDown
        maxCoolDown = max(policy.breakerCoolDown, policy.breakerMaxCoolDown)
        coolDown = policy.breakerCoolDown
    }

    /// Asks to make one attempt at `now`; a half-open breaker grants one trial and blocks the rest
    /// until that trial's result is recorded.
    public mutating func acquire(now: Int64) -> Permission {
        switch state {
        case .closed: return .allowed
        case let .open(until):
            guard now >= until else { return .blocked(until: until) }
            state = .halfOpen(trialInFlight: true)
            return .allowed
        case .halfOpen(trialInFlight: false):
            state = .halfOpen(trialInFlight: true)
            return .allowed
        case .halfOpen(trialInFlight: true):
            // The trial's outcome decides; until then, look again after a short while.
            return .blocked(until: now + min(baseCoolDown, 1000))
        }
    }

    /// The endpoint accepted a message.
    public mutating func recordSuccess() {
        state = .closed(consecutiveFailures: 0)
        coolDown = baseCoolDown
        lastError = nil
    }

    /// A retryable failure at `now`.
    public mutating func recordFailure(now: Int64, reason: String) {
        lastError = reason
        switch state {
        case let .closed(n):
            if n + 1 >= threshold {
                state = .open(until: now + coolDown)
            } else {
                state = .closed(consecutiveFailures: n + 1)
            }
        case .halfOpen, .open:
            coolDown = min(maxCoolDown, coolDown * 2)
            state = .open(until: now + coolDown)
        }
    }

    /// A permanent failure: the endpoint is reachable, so a half-open trial counts as passed.
    public mutating func recordPermanentFailure() {
        if case .halfOpen = state { recordSuccess() }
    }

    public var isOpen: Bool {
        if case .open = state { return true }
        return false
    }
}
