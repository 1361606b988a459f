/// How the outbox dispatcher retries, gives up, protects endpoints and paces DingTalk robots.
///
/// Every duration is in milliseconds. `.default` is what `stratus serve` uses unless told otherwise:
/// retries after about 1 s, 2 s, 4 s … (each a random point in `[minimumDelay, min(maxDelay, base·2ⁿ)]`,
/// "full jitter"), at most 5 min apart, until the entry is 24 h old.
public struct DeliveryPolicy: Sendable, Equatable {
    /// The first retry's upper bound (full jitter draws from `[minimumDelay, base]`).
    public var baseDelay: Int64 = 1000
    /// Growth of the upper bound per failed attempt.
    public var multiplier: Double = 2
    /// Upper bound of any single delay.
    public var maxDelay: Int64 = 300_000
    /// Floor of a jittered delay, so a zero draw does not retry in a tight loop.
    public var minimumDelay: Int64 = 100
    /// An entry still failing this long after it was created is given up (`Failed`, last error kept).
    public var maxAge: Int64 = 86_400_000
    /// Consecutive retryable failures of one endpoint that open its circuit breaker.
    public var breakerThreshold: Int = 5
    /// How long an open breaker stays open before letting one trial attempt through.
    public var breakerCoolDown: Int64 = 60_000
    /// Each failed trial doubles the cool-down, up to this.
    public var breakerMaxCoolDown: Int64 = 600_000
    /// Messages per robot (webhook URL) per sliding window; past that, pending notices are merged.
    public var dingTalkMessagesPerWindow: Int = 20
    /// The DingTalk sliding window.
    public var dingTalkWindow: Int64 = 60_000
    /// Endpoints delivered to at the same time (each endpoint's entries go one after another, in order).
    public var maxConcurrentEndpoints: Int = 8
    /// Due entries fetched per pass.
    public var batchSize: Int = 500
    /// Longest sleep without a poke: the dispatcher looks at the outbox at least this often, so
    /// entries enqueued by another process are not missed.
    public var idlePoll: Int64 = 5000

    public init() {}

    /// The defaults above.
    public static let `default` = DeliveryPolicy()
}

/// Draws the jittered part of a retry delay: a whole number in `0...upperBound`. Injected so tests
/// can fix it (`{ $0 }` = always the maximum, `{ _ in 0 }` = always the minimum).
public typealias DeliveryJitter = @Sendable (_ upperBound: Int64) -> Int64

/// The system random jitter.
public let systemDeliveryJitter: DeliveryJitter = { upperBound in upperBound <= 0 ? 0 : Int64.random(in: 0...upperBound) }
