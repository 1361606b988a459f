import Alarms
import Testing

/// The pure parts of delivery: backoff, circuit breaker, DingTalk window, attempt planning.
@Suite struct DispatcherPolicyTests {
    let policy = DeliveryPolicy.default

    @Test func backoffCeilingDoublesFromOneSecondUpToFiveMinutes() {
        let s = RetrySchedule(policy: policy)
        #expect((0..<10).map { s.ceiling(attemptsBefore: $0) } == [1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000])
        #expect(s.ceiling(attemptsBefore: 200) == 300_000)
    }

    @Test func fullJitterDrawsBetweenTheFloorAndTheCeiling() {
        let s = RetrySchedule(policy: policy)
        let now: Int64 = 10_000_000
        // jitter at its maximum: now + ceiling; at zero: now + minimumDelay; in between: as drawn.
        #expect(s.decide(createdAt: now, attemptsBefore: 3, retryable: true, now: now, jitter: { $0 }) == .retry(at: now + 8000))
        #expect(s.decide(createdAt: now, attemptsBefore: 3, retryable: true, now: now, jitter: { _ in 0 }) == .retry(at: now + 100))
        #expect(s.decide(createdAt: now, attemptsBefore: 3, retryable: true, now: now, jitter: { _ in 2500 }) == .retry(at: now + 2600))
        // A jitter source out of range is clamped.
        #expect(s.decide(createdAt: now, attemptsBefore: 0, retryable: true, now: now, jitter: { _ in 99_999 }) == .retry(at: now + 1000))
    }

    @Test func givesUpOnPermanentFailuresAndAtMaxAgeAndClampsTheLastRetryToIt() {
        var p = policy
        p.maxAge = 60_000
        let s = RetrySchedule(policy: p)
        #expect(s.decide(createdAt: 0, attemptsBefore: 0, retryable: false, now: 10, jitter: { $0 }) == .giveUp)
        #expect(s.decide(createdAt: 0, attemptsBefore: 9, retryable: true, now: 60_000, jitter: { $0 }) == .giveUp)
        // 300 s ceiling, but only 5 s of age are left: the retry lands exactly at max age.
        #expect(s.decide(createdAt: 0, attemptsBefore: 9, retryable: true, now: 55_000, jitter: { $0 }) == .retry(at: 60_000))
    }

    @Test func breakerOpensAfterFiveFailuresThenLetsOneTrialThroughAfterTheCoolDown() {
        var b = CircuitBreaker(policy: policy)
        for i in 0..<4 {
            #expect(b.acquire(now: Int64(i)) == .allowed)
            b.recordFailure(now: Int64(i), reason: "refused")
        }
        #expect(b.state == .closed(consecutiveFailures: 4))
        #expect(b.acquire(now: 4) == .allowed)
        b.recordFailure(now: 4, reason: "refused")
        #expect(b.state == .open(until: 60_004))
        #expect(b.acquire(now: 60_003) == .blocked(until: 60_004))
        #expect(b.acquire(now: 60_004) == .allowed)
        // Only one trial while it is under way.
        if case .blocked = b.acquire(now: 60_005) {} else { Issue.record("a second attempt passed a half-open breaker") }
        // The trial fails: open again for twice as long.
        b.recordFailure(now: 60_010, reason: "refused again")
        #expect(b.state == .open(until: 180_010))
        #expect(b.lastError == "refused again")
        #expect(b.acquire(now: 180_010) == .allowed)
        b.recordSuccess()
        #expect(b.state == .closed(consecutiveFailures: 0))
        #expect(b.coolDown == 60_000)
    }

    @Test func coolDownDoublingStopsAtTheMaximum() {
        var p = policy
        p.breakerThreshold = 1
        p.breakerCoolDown = 100_000
        p.breakerMaxCoolDown = 300_000
        var b = CircuitBreaker(policy: p)
        var t: Int64 = 0
        var openings: [Int64] = []
        for _ in 0..<5 {
            _ = b.acquire(now: t)
            b.recordFailure(now: t, reason: "x")
            guard case let .open(until) = b.state else { Issue.record("not open"); return }
            openings.append(until - t)
            t = until
        }
        #expect(openings == [100_000, 200_000, 300_000, 300_000, 300_000])
    }

    @Test func permanentFailuresNeitherOpenNorResetTheBreaker() {
        var b = CircuitBreaker(policy: policy)
        b.recordFailure(now: 0, reason: "503")
        b.recordFailure(now: 0, reason: "503")
        for _ in 0..<10 { b.recordPermanentFailure() }
        #expect(b.state == .closed(consecutiveFailures: 2))
    }

    @Test func slidingWindowGrantsTwentyPerMinuteAndFreesSlotsAsTheyAge() {
        var l = SlidingWindowLimiter(limit: 20, window: 60_000)
        #expect(l.reserve("robot", wanted: 5, now: 0) == 5)
        #expect(l.reserve("robot", wanted: 25, now: 10_000) == 15)
        #expect(l.reserve("robot", wanted: 1, now: 20_000) == 0)
        #expect(l.reserve("other", wanted: 3, now: 20_000) == 3)
        #expect(l.nextFree("robot", now: 20_000) == 60_000)
        // At 60 s the five from t=0 leave the window; the fifteen from t=10 s stay until 70 s.
        #expect(l.used("robot", now: 60_000) == 15)
        #expect(l.reserve("robot", wanted: 9, now: 60_000) == 5)
        #expect(l.nextFree("robot", now: 60_000) == 70_000)
    }

    @Test func planSendsEachEntryWhileSlotsLastAndMergesTheRestIntoTheLastSlot() {
        let entries = (1...5).map { i in
            OutboxEntry(id: Int64(i), idempotencyKey: "k\(i)", endpointUuid: "e", topicUuid: nil,
                        notice: .test(TestNotice(endpointUuid: "e", requestedBy: "t", time: Int64(i))), nextAttemptAt: 0, createdAt: 0)
        }
        let ids = { (plan: [[OutboxEntry]]) in plan.map { $0.map { $0.id! } } }
        #expect(ids(DeliveryPlan.attempts(entries, slots: nil)) == [[1], [2], [3], [4], [5]])
        #expect(ids(DeliveryPlan.attempts(entries, slots: 5)) == [[1], [2], [3], [4], [5]])
        #expect(ids(DeliveryPlan.attempts(entries, slots: 3)) == [[1], [2], [3, 4, 5]])
        #expect(ids(DeliveryPlan.attempts(entries, slots: 1)) == [[1, 2, 3, 4, 5]])
        #expect(DeliveryPlan.attempts(entries, slots: 0).isEmpty)
    }

    @Test func groupsByEndpointKeepingOrder() {
        let make = { (id: Int64, ep: String) in
            OutboxEntry(id: id, idempotencyKey: "k\(id)", endpointUuid: ep, topicUuid: nil,
                        notice: .test(TestNotice(endpointUuid: ep, requestedBy: "t", time: id)), nextAttemptAt: 0, createdAt: 0)
        }
        let groups = DeliveryPlan.byEndpoint([make(1, "b"), make(2, "a"), make(3, "b"), make(4, "a"), make(5, "c")])
        #expect(groups.map(\.endpointUuid) == ["b", "a", "c"])
        #expect(groups.map { $0.entries.map { $0.id! } } == [[1, 3], [2, 4], [5]])
    }
}
