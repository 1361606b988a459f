import Logging
import StratusMetrics
import Synchronization

/// What one dispatcher pass did (entries, not attempts, unless named so).
public struct DispatchPass: Sendable, Equatable {
    /// Due entries fetched.
    public var fetched = 0
    /// Send attempts made (a DingTalk summary is one attempt for several entries).
    public var attempts = 0
    public var delivered = 0
    /// Failed attempts scheduled for a retry.
    public var retried = 0
    /// Given up: permanent refusal, max age reached, endpoint deleted or disabled.
    public var gaveUp = 0
    /// Postponed because the endpoint's circuit breaker is open.
    public var postponed = 0
    /// Left for later because the DingTalk robot used its messages of the window.
    public var rateLimited = 0
    /// The earliest time a rate-limited entry may go (nil when none waits).
    public var rateLimitedUntil: Int64?

    public init() {}

    /// Whether the pass changed any entry in the store.
    public var madeProgress: Bool { delivered + retried + gaveUp + postponed > 0 }
}

/// Delivers the durable outbox: fetches due entries, sends them through a `NotificationSender`,
/// records each outcome in the `AlarmStore`.
///
/// - Entries are grouped by endpoint; one endpoint's entries go one after another, oldest first;
///   up to `policy.maxConcurrentEndpoints` endpoints are served at once.
/// - A retryable failure is retried with `RetrySchedule` (exponential backoff, full jitter) until the
///   entry is `policy.maxAge` old; a permanent one fails the entry at once. Either way `lastError` says why.
/// - Each endpoint has a `CircuitBreaker`. While it is open, the endpoint's due entries are not sent:
///   they are postponed (`AlarmStore.postpone`) to the time the breaker lets a trial through, and
///   `lastError` says `circuit open …` with the endpoint's last real error. `attempts` counts real
///   sends only: postponing, and giving up without sending (endpoint deleted or disabled, max age
///   reached while the breaker is open, `AlarmStore.giveUp`), do not count.
/// - DingTalk robots (keyed by webhook URL) get at most `policy.dingTalkMessagesPerWindow` messages
///   per window; when more are due than slots are left, the last slot carries the rest as one
///   summary attempt. With no slot left the entries wait (untouched) for the next free slot.
/// - Breaker and rate-limit state live in memory: a restart starts with closed breakers and an
///   empty window (deliveries are at-least-once anyway).
///
/// `run()` loops until cancelled, waking at the next due time, when `poke()`d (a round committed
/// new entries), or every `policy.idlePoll`.
public final class OutboxDispatcher: Sendable {
    private struct Guards {
        var breakers: [String: CircuitBreaker] = [:]
        var robots: SlidingWindowLimiter
    }

    private let store: any AlarmStore
    private let sender: any NotificationSender
    private let clock: any WallClock
    public let policy: DeliveryPolicy
    private let schedule: RetrySchedule
    private let jitter: DeliveryJitter
    private let logger: Logger
    private let guards: Mutex<Guards>
    private let wakeup = Wakeup()

    public init(store: any AlarmStore, sender: any NotificationSender, clock: any WallClock,
                policy: DeliveryPolicy = .default, jitter: @escaping DeliveryJitter = systemDeliveryJitter,
                logger: Logger = Logger(label: "stratus.alarms.delivery")) {
        self.store = store
        self.sender = sender
        self.clock = clock
        self.policy = policy
        self.schedule = RetrySchedule(policy: policy)
        self.jitter = jitter
        self.logger = logger
        self.guards = Mutex(Guards(robots: SlidingWindowLimiter(limit: policy.dingTalkMessagesPerWindow,
                                                                 window: policy.dingTalkWindow)))
    }

    /// Makes a sleeping `run()` look at the outbox now (call after committing new entries).
    public func poke() { wakeup.poke() }

    /// The breaker of an endpoint (for tests and status pages).
    public func breaker(endpointUuid: String) -> CircuitBreaker {
        guards.withLock { $0.breakers[endpointUuid] } ?? CircuitBreaker(policy: policy)
    }

    /// Delivers until cancelled. Store errors are logged and retried after `policy.idlePoll`.
    public func run() async {
        while !Task.isCancelled {
            var deadline: Int64
            do {
                let pass = try await deliverDue()
                if pass.fetched > 0 {
                    logger.debug("delivery pass", metadata: [
                        "fetched": "\(pass.fetched)", "attempts": "\(pass.attempts)", "delivered": "\(pass.delivered)",
                        "retried": "\(pass.retried)", "gaveUp": "\(pass.gaveUp)", "postponed": "\(pass.postponed)",
                        "rateLimited": "\(pass.rateLimited)",
                    ])
                }
                let now = clock.now()
                if pass.madeProgress && pass.fetched >= policy.batchSize { continue }
                deadline = now + policy.idlePoll
                if let next = try await store.nextDueTime() {
                    // Due already and the pass moved things: entries arrived meanwhile, go on.
                    if next <= now && pass.madeProgress { continue }
                    if next > now { deadline = min(deadline, next) }
                }
                if let until = pass.rateLimitedUntil { deadline = min(deadline, max(until, now + 1)) }
            } catch {
                if Task.isCancelled { return }
                logger.error("delivery pass failed; retrying in \(policy.idlePoll) ms: \(error)")
                deadline = clock.now() + policy.idlePoll
            }
            do { try await wakeup.wait(until: deadline, clock: clock) } catch { return }
        }
    }

    /// One pass over what is due now: at most `policy.batchSize` entries.
    @discardableResult
    public func deliverDue() async throws -> DispatchPass {
        let now = clock.now()
        let due = try await store.dueDeliveries(now: now, limit: policy.batchSize)
        var total = DispatchPass()
        total.fetched = due.count
        guard !due.isEmpty else { return total }
        let groups = DeliveryPlan.byEndpoint(due)
        try await withThrowingTaskGroup(of: DispatchPass.self) { group in
            var next = 0
            func addNext() {
                guard next < groups.count else { return }
                let g = groups[next]
                next += 1
                group.addTask { try await self.deliver(endpointUuid: g.endpointUuid, entries: g.entries, now: now) }
            }
            for _ in 0..<max(1, policy.maxConcurrentEndpoints) { addNext() }
            while let pass = try await group.next() {
                total.merge(pass)
                addNext()
            }
        }
        return total
    }

    // MARK: One endpoint

    private func deliver(endpointUuid: String, entries: [OutboxEntry], now: Int64) async throws -> DispatchPass {
        var pass = DispatchPass()
        let endpoint: SNSEndpoint
        do {
            endpoint = try await store.endpoint(uuid: endpointUuid)
        } catch is AlarmNotFoundError {
            try await giveUp(entries, reason: "endpoint \(endpointUuid) was deleted before delivery", pass: &pass)
            return pass
        }
        guard endpoint.enabled else {
            try await giveUp(entries, reason: "endpoint '\(endpoint.name)' is disabled; enable it and send again", pass: &pass)
            return pass
        }

        var slots: Int?
        if case let .dingTalk(config) = endpoint.config {
            let granted = guards.withLock { $0.robots.reserve(config.url, wanted: entries.count, now: now) }
            slots = granted
            if granted == 0 {
                pass.rateLimited = entries.count
                pass.rateLimitedUntil = guards.withLock { $0.robots.nextFree(config.url, now: now) }
                return pass
            }
        }
        let attempts = DeliveryPlan.attempts(entries, slots: slots)
        var delivered: [Int64] = []
        for (index, batch) in attempts.enumerated() {
            let t = clock.now()
            let permission = guards.withLock { g -> CircuitBreaker.Permission in
                var b = g.breakers[endpointUuid] ?? CircuitBreaker(policy: policy)
                defer { g.breakers[endpointUuid] = b }
                return b.acquire(now: t)
            }
            if case let .blocked(until) = permission {
                try await postpone(attempts[index...].flatMap { $0 }, endpointUuid: endpointUuid, until: until, now: t, pass: &pass)
                break
            }
            pass.attempts += 1
            let attempt = DeliveryAttempt(endpoint: endpoint, notices: batch.map(\.notice),
                                          idempotencyKeys: batch.map(\.idempotencyKey))
            let result = await sender.deliver(attempt)
            let done = clock.now()
            switch result {
            case .delivered:
                guards.withLock { $0.breakers[endpointUuid, default: CircuitBreaker(policy: policy)].recordSuccess() }
                delivered.append(contentsOf: batch.compactMap(\.id))
                pass.delivered += batch.count
                if delivered.count >= 100 {
                    try await store.markDelivered(ids: delivered, at: done)
                    delivered.removeAll(keepingCapacity: true)
                }
            case let .failed(reason, retryable):
                guards.withLock { g in
                    if retryable {
                        g.breakers[endpointUuid, default: CircuitBreaker(policy: policy)].recordFailure(now: done, reason: reason)
                    } else {
                        g.breakers[endpointUuid, default: CircuitBreaker(policy: policy)].recordPermanentFailure()
                    }
                }
                for entry in batch {
                    try await recordFailure(entry, reason: reason, retryable: retryable, now: done, pass: &pass)
                }
                logger.warning("delivery to '\(endpoint.name)' failed\(retryable ? "" : " permanently"): \(reason)",
                               metadata: ["endpoint": "\(endpointUuid)", "entries": "\(batch.count)"])
            }
        }
        if !delivered.isEmpty { try await store.markDelivered(ids: delivered, at: clock.now()) }
        return pass
    }

    private func recordFailure(_ entry: OutboxEntry, reason: String, retryable: Bool, now: Int64, pass: inout DispatchPass) async throws {
        guard let id = entry.id else { return }
        switch schedule.decide(createdAt: entry.createdAt, attemptsBefore: entry.attempts, retryable: retryable, now: now, jitter: jitter) {
        case let .retry(at):
            try await store.markAttemptFailed(id: id, error: reason, at: now, nextAttemptAt: at, giveUp: false)
            pass.retried += 1
        case .giveUp:
            let why = retryable ? "\(reason) (gave up: still failing \(policy.maxAge / 1000) s after it was queued)" : reason
            try await store.markAttemptFailed(id: id, error: why, at: now, nextAttemptAt: now, giveUp: true)
            pass.gaveUp += 1
        }
    }

    /// Moves entries blocked by an open breaker to the breaker's next trial (capped at their max
    /// age), or fails those already at max age — neither counts as an attempt.
    private func postpone(_ entries: [OutboxEntry], endpointUuid: String, until: Int64, now: Int64, pass: inout DispatchPass) async throws {
        let last = guards.withLock { $0.breakers[endpointUuid]?.lastError } ?? "unknown error"
        // Entries sharing a next-try time are postponed in one store call.
        var byTime: [Int64: [Int64]] = [:]
        for entry in entries {
            guard let id = entry.id else { continue }
            if now >= entry.createdAt + policy.maxAge {
                let why = "\(entry.lastError ?? last) (gave up: endpoint still failing \(policy.maxAge / 1000) s after it was queued)"
                try await store.giveUp(ids: [id], reason: why, at: now)
                pass.gaveUp += 1
            } else {
                byTime[min(until, entry.createdAt + policy.maxAge), default: []].append(id)
            }
        }
        for (at, ids) in byTime.sorted(by: { $0.key < $1.key }) {
            try await store.postpone(ids: ids, until: at,
                                     reason: "circuit open after repeated failures (last: \(last)); next try at \(at) ms")
            pass.postponed += ids.count
        }
    }

    private func giveUp(_ entries: [OutboxEntry], reason: String, pass: inout DispatchPass) async throws {
        let ids = entries.compactMap(\.id)
        try await store.giveUp(ids: ids, reason: reason, at: clock.now())
        pass.gaveUp += ids.count
    }
}

extension DispatchPass {
    mutating func merge(_ o: DispatchPass) {
        attempts += o.attempts
        delivered += o.delivered
        retried += o.retried
        gaveUp += o.gaveUp
        postponed += o.postponed
        rateLimited += o.rateLimited
        if let u = o.rateLimitedUntil { rateLimitedUntil = min(rateLimitedUntil ?? u, u) }
    }
}
