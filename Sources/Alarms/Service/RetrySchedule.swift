/// What to do with an outbox entry after a failed attempt: try again at a time, or give up.
public enum RetryDecision: Sendable, Equatable {
    case retry(at: Int64)
    case giveUp
}

/// Exponential backoff with full jitter, bounded by the entry's max age. Pure: the jitter is a parameter.
///
/// After the n-th failed attempt (`attemptsBefore` = n - 1 earlier ones) the delay is drawn from
/// `[minimumDelay, min(maxDelay, baseDelay · multiplier^(n-1))]`. An entry is given up when the
/// failure is permanent, or when `now` has reached `createdAt + maxAge`; otherwise the retry time
/// is clamped to `createdAt + maxAge`, so there is always one last attempt at the max age.
public struct RetrySchedule: Sendable, Equatable {
    public var policy: DeliveryPolicy

    public init(policy: DeliveryPolicy) { self.policy = policy }

    /// The upper bound of the delay after a failure with `attemptsBefore` earlier failed attempts.
    public func ceiling(attemptsBefore: Int) -> Int64 {
        let exponent = Double(max(0, attemptsBefore))
        let raw = Double(policy.baseDelay) * pow(policy.multiplier, exponent)
        guard raw.isFinite, raw < Double(policy.maxDelay) else { return policy.maxDelay }
        return max(policy.minimumDelay, Int64(raw))
    }

    /// The decision after a failed attempt at `now`.
    public func decide(createdAt: Int64, attemptsBefore: Int, retryable: Bool, now: Int64,
                       jitter: DeliveryJitter) -> RetryDecision {
        let deadline = createdAt + policy.maxAge
        guard retryable, now < deadline else { return .giveUp }
        let top = ceiling(attemptsBefore: attemptsBefore)
        let span = top - policy.minimumDelay
        let drawn = span > 0 ? min(span, max(0, jitter(span))) : 0
        return .retry(at: min(deadline, now + policy.minimumDelay + drawn))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
