import Alarms
import Foundation
import Testing

/// With the endpoint's breaker open, entries are postponed through `AlarmStore.postpone`:
/// `attempts` counts real sends only (real SQLite outbox, scripted sender, manual clock).
@Suite struct DispatcherPostponeTests {
    typealias Fixture = DispatcherTests.Fixture
    static let t0 = DispatcherTests.t0

    @Test func attemptsCountRealSendsOnlyWhileTheBreakerIsOpen() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let a = try await f.http("a")
        let keys = try await f.enqueue(a, count: 8)
        f.sender.script(a.uuid, Array(repeating: .failed(reason: "connection refused", retryable: true), count: 5))
        let d = f.dispatcher()
        try await d.deliverDue()
        var entries = try await f.entries(a)
        // Five sent and failed (one attempt each); three never sent (postponed, no attempt).
        #expect(keys[..<5].map { entries[$0]?.attempts } == [1, 1, 1, 1, 1])
        #expect(keys[5...].map { entries[$0]?.attempts } == [0, 0, 0])
        #expect(keys[5...].allSatisfy { entries[$0]?.lastAttemptAt == nil && entries[$0]?.nextAttemptAt == Self.t0 + 60_000 })

        // Twice more due while the breaker is open: postponed again, still no attempt counted.
        for t in [Self.t0 + 16_000, Self.t0 + 59_000] {
            f.clock.advance(to: t)
            let blocked = try await d.deliverDue()
            #expect(blocked.attempts == 0)
        }
        entries = try await f.entries(a)
        #expect(keys.map { entries[$0]?.attempts } == [1, 1, 1, 1, 1, 0, 0, 0])
        #expect(entries[keys[0]]?.lastError?.contains("circuit open") == true)
        #expect(f.sender.sent.count == 5)

        // The trial succeeds; every entry is delivered with its real number of sends.
        f.clock.advance(to: Self.t0 + 60_000)
        #expect(try await d.deliverDue().delivered == 8)
        entries = try await f.entries(a)
        #expect(keys.map { entries[$0]?.attempts } == [2, 2, 2, 2, 2, 1, 1, 1])
        #expect(f.sender.sent.count == 13)
    }

    @Test func givingUpWithoutSendingCountsNoAttempt() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        var policy = DeliveryPolicy.default
        policy.maxAge = 30_000
        policy.breakerThreshold = 1
        policy.breakerCoolDown = 120_000
        let a = try await f.http("a")
        let keys = try await f.enqueue(a, count: 2)
        f.sender.script(a.uuid, [.failed(reason: "HTTP 503", retryable: true)])
        let d = f.dispatcher(policy)
        try await d.deliverDue()
        // The second entry was blocked (postponed to its max age, before the breaker's trial).
        var second = try #require(try await f.entries(a)[keys[1]])
        #expect(second.attempts == 0 && second.nextAttemptAt == Self.t0 + 30_000)
        f.clock.advance(to: Self.t0 + 30_000)
        let pass = try await d.deliverDue()
        #expect(pass.gaveUp == 2 && pass.attempts == 0)
        let entries = try await f.entries(a)
        #expect(entries[keys[0]]?.status == .failed && entries[keys[0]]?.attempts == 1)
        second = try #require(entries[keys[1]])
        #expect(second.status == .failed && second.attempts == 0 && second.lastError?.contains("gave up") == true)

        // A disabled endpoint's entries fail without an attempt too.
        let b = try await f.http("b")
        let bKey = try await f.enqueue(b, count: 1)[0]
        var off = b
        off.enabled = false
        _ = try await f.store.updateEndpoint(off)
        #expect(try await d.deliverDue().gaveUp == 1)
        let failed = try #require(try await f.entries(b)[bKey])
        #expect(failed.status == .failed && failed.attempts == 0 && failed.lastError?.contains("disabled") == true)
    }
}
