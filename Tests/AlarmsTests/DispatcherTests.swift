import Alarms
import Foundation
import StratusMetrics
import Synchronization
import Testing

/// A sender that answers from a script per endpoint (default: delivered) and records every attempt.
final class ScriptedSender: NotificationSender {
    struct Sent: Sendable, Equatable {
        var endpointUuid: String
        var keys: [String]
    }

    private let state = Mutex<(script: [String: [DeliveryResult]], sent: [Sent])>(([:], []))

    /// The next results for `endpoint`, in order; after them it delivers.
    func script(_ endpoint: String, _ results: [DeliveryResult]) {
        state.withLock { $0.script[endpoint, default: []].append(contentsOf: results) }
    }

    var sent: [Sent] { state.withLock { $0.sent } }

    func deliver(_ attempt: DeliveryAttempt) async -> DeliveryResult {
        state.withLock { s in
            s.sent.append(Sent(endpointUuid: attempt.endpoint.uuid, keys: attempt.idempotencyKeys))
            guard var queue = s.script[attempt.endpoint.uuid], !queue.isEmpty else { return .delivered }
            let r = queue.removeFirst()
            s.script[attempt.endpoint.uuid] = queue
            return r
        }
    }
}

/// `OutboxDispatcher` over a real SQLite outbox (temp dir), a scripted sender and a manual clock.
@Suite struct DispatcherTests {
    static let t0: Int64 = 1_700_000_000_000

    struct Fixture {
        let dir: URL
        let store: SQLiteAlarmStore
        let clock = ManualWallClock(start: DispatcherTests.t0)
        let sender = ScriptedSender()

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("dispatcher-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            store = try SQLiteAlarmStore(path: dir.appendingPathComponent("alarms.sqlite").path)
        }

        func dispatcher(_ policy: DeliveryPolicy = .default) -> OutboxDispatcher {
            OutboxDispatcher(store: store, sender: sender, clock: clock, policy: policy, jitter: { $0 })
        }

        func http(_ name: String) async throws -> SNSEndpoint {
            try await store.createEndpoint(SNSEndpoint(uuid: "", name: name, config: .http(HTTPEndpointConfig(url: "http://127.0.0.1:9/\(name)"))),
                                           at: DispatcherTests.t0)
        }

        func dingTalk(_ name: String, url: String = "https://oapi.dingtalk.com/robot/send?access_token=abc") async throws -> SNSEndpoint {
            try await store.createEndpoint(SNSEndpoint(uuid: "", name: name, config: .dingTalk(DingTalkEndpointConfig(url: url))),
                                           at: DispatcherTests.t0)
        }

        /// Enqueues `count` test notices for the endpoint, created now; returns their keys in order.
        @discardableResult
        func enqueue(_ endpoint: SNSEndpoint, count: Int, tag: String = "n") async throws -> [String] {
            let now = clock.now()
            let entries = (0..<count).map { i in
                let notice = Notice.test(TestNotice(endpointUuid: endpoint.uuid, requestedBy: "\(tag)\(i)", time: now + Int64(i)))
                return OutboxEntry(idempotencyKey: OutboxEntry.key(notice, endpointUuid: endpoint.uuid), endpointUuid: endpoint.uuid,
                                   topicUuid: nil, notice: notice, nextAttemptAt: now, createdAt: now)
            }
            try await store.enqueue(entries)
            return entries.map(\.idempotencyKey)
        }

        func entries(_ endpoint: SNSEndpoint) async throws -> [String: OutboxEntry] {
            Dictionary(uniqueKeysWithValues: try await store.outbox(OutboxQuery(endpointUuid: endpoint.uuid, limit: 1000))
                .map { ($0.idempotencyKey, $0) })
        }

        func cleanup() { try? FileManager.default.removeItem(at: dir) }
    }

    @Test func deliversEachEndpointsEntriesInOrderAndMarksThemDelivered() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let a = try await f.http("a"), b = try await f.http("b")
        let keysA = try await f.enqueue(a, count: 3, tag: "a")
        let keysB = try await f.enqueue(b, count: 2, tag: "b")
        let pass = try await f.dispatcher().deliverDue()
        #expect(pass.fetched == 5 && pass.delivered == 5 && pass.attempts == 5)
        #expect(f.sender.sent.filter { $0.endpointUuid == a.uuid }.flatMap(\.keys) == keysA)
        #expect(f.sender.sent.filter { $0.endpointUuid == b.uuid }.flatMap(\.keys) == keysB)
        for e in try await f.entries(a).values {
            #expect(e.status == .delivered && e.deliveredAt == DispatcherTests.t0 && e.attempts == 1)
        }
        #expect(try await f.store.dueDeliveries(now: f.clock.now(), limit: 10).isEmpty)
    }

    @Test func retryableFailureIsRetriedWithBackoffThenDelivered() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let a = try await f.http("a")
        let key = try await f.enqueue(a, count: 1)[0]
        f.sender.script(a.uuid, [.failed(reason: "connection refused", retryable: true),
                                 .failed(reason: "HTTP 503", retryable: true)])
        let d = f.dispatcher()
        try await d.deliverDue()
        var e = try #require(try await f.entries(a)[key])
        // Jitter at its maximum: the first retry 1 s later, the second 2 s after that.
        #expect(e.status == .pending && e.attempts == 1 && e.lastError == "connection refused")
        #expect(e.nextAttemptAt == DispatcherTests.t0 + 1000)
        #expect(try await d.deliverDue().fetched == 0)
        f.clock.advance(to: DispatcherTests.t0 + 1000)
        try await d.deliverDue()
        e = try #require(try await f.entries(a)[key])
        #expect(e.attempts == 2 && e.lastError == "HTTP 503" && e.nextAttemptAt == DispatcherTests.t0 + 3000)
        f.clock.advance(to: DispatcherTests.t0 + 3000)
        try await d.deliverDue()
        e = try #require(try await f.entries(a)[key])
        #expect(e.status == .delivered && e.attempts == 3 && e.deliveredAt == DispatcherTests.t0 + 3000)
        #expect(f.sender.sent.count == 3)
        #expect(Set(f.sender.sent.flatMap(\.keys)) == [key])
    }

    @Test func permanentFailureFailsTheEntryAtOnceWithItsReason() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let a = try await f.http("a")
        let keys = try await f.enqueue(a, count: 2)
        f.sender.script(a.uuid, [.failed(reason: "HTTP 400: bad body", retryable: false)])
        let pass = try await f.dispatcher().deliverDue()
        #expect(pass.gaveUp == 1 && pass.delivered == 1)
        let entries = try await f.entries(a)
        #expect(entries[keys[0]]?.status == .failed && entries[keys[0]]?.lastError == "HTTP 400: bad body")
        #expect(entries[keys[1]]?.status == .delivered)
    }

    @Test func givesUpAtMaxAgeKeepingTheLastError() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        var policy = DeliveryPolicy.default
        policy.maxAge = 10_000
        policy.breakerThreshold = 100
        let a = try await f.http("a")
        let key = try await f.enqueue(a, count: 1)[0]
        f.sender.script(a.uuid, Array(repeating: .failed(reason: "timeout after 10 s", retryable: true), count: 50))
        let d = f.dispatcher(policy)
        // Follow the schedule: 1 s, 2 s, 4 s, then clamped to the 10 s max age, then given up.
        var times: [Int64] = []
        for _ in 0..<10 {
            try await d.deliverDue()
            let e = try #require(try await f.entries(a)[key])
            if e.status != .pending { break }
            times.append(e.nextAttemptAt - DispatcherTests.t0)
            f.clock.advance(to: e.nextAttemptAt)
        }
        #expect(times == [1000, 3000, 7000, 10_000])
        let e = try #require(try await f.entries(a)[key])
        #expect(e.status == .failed && e.attempts == 5)
        #expect(e.lastError?.hasPrefix("timeout after 10 s") == true)
        #expect(e.lastError?.contains("gave up") == true)
    }

    @Test func openBreakerPostponesEntriesWithoutSendingThemAndATrialClosesIt() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let a = try await f.http("a"), b = try await f.http("b")
        let keys = try await f.enqueue(a, count: 8)
        try await f.enqueue(b, count: 2)
        f.sender.script(a.uuid, Array(repeating: .failed(reason: "connection refused", retryable: true), count: 5))
        let d = f.dispatcher()
        let pass = try await d.deliverDue()
        // Five attempts to `a` fail and open its breaker; its other three are postponed, not sent;
        // `b` is not affected.
        #expect(pass.retried == 5 && pass.postponed == 3 && pass.delivered == 2)
        #expect(f.sender.sent.filter { $0.endpointUuid == a.uuid }.count == 5)
        #expect(d.breaker(endpointUuid: a.uuid).isOpen)
        var entries = try await f.entries(a)
        let postponed = keys[5...].compactMap { entries[$0] }
        #expect(postponed.allSatisfy { $0.nextAttemptAt == DispatcherTests.t0 + 60_000 && $0.lastError?.contains("circuit open") == true })
        // At 16 s the first five are due again, but the breaker is still open: postponed, not sent.
        f.clock.advance(to: DispatcherTests.t0 + 16_000)
        let blocked = try await d.deliverDue()
        #expect(blocked.postponed == 5 && blocked.attempts == 0)
        #expect(f.sender.sent.filter { $0.endpointUuid == a.uuid }.count == 5)
        // After the cool-down the trial goes through, succeeds, and the rest follow.
        f.clock.advance(to: DispatcherTests.t0 + 60_000)
        let reopened = try await d.deliverDue()
        #expect(reopened.delivered == 8)
        #expect(d.breaker(endpointUuid: a.uuid).state == .closed(consecutiveFailures: 0))
        entries = try await f.entries(a)
        #expect(entries.values.allSatisfy { $0.status == .delivered })
    }

    @Test func dingTalkRobotGetsTwentyMessagesPerMinuteAndTheRestAsOneSummary() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let robot = try await f.dingTalk("robot")
        let keys = try await f.enqueue(robot, count: 25)
        let d = f.dispatcher()
        let pass = try await d.deliverDue()
        let sent = f.sender.sent
        #expect(pass.attempts == 20 && pass.delivered == 25)
        #expect(sent.count == 20)
        #expect(sent.prefix(19).map(\.keys) == keys.prefix(19).map { [$0] })
        #expect(sent[19].keys == Array(keys[19...]))
        // Five more within the minute: the window is full, they wait (untouched) for a free slot.
        f.clock.advance(to: DispatcherTests.t0 + 30_000)
        let more = try await f.enqueue(robot, count: 5, tag: "m")
        let waiting = try await d.deliverDue()
        #expect(waiting.rateLimited == 5 && waiting.attempts == 0 && waiting.rateLimitedUntil == DispatcherTests.t0 + 60_000)
        #expect(try await f.entries(robot)[more[0]]?.attempts == 0)
        // A minute after the first burst all twenty slots free up again.
        f.clock.advance(to: DispatcherTests.t0 + 60_000)
        let later = try await d.deliverDue()
        #expect(later.attempts == 5 && later.delivered == 5)
    }

    @Test func twoEndpointsOnOneRobotShareItsWindow() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let r1 = try await f.dingTalk("r1"), r2 = try await f.dingTalk("r2")
        try await f.enqueue(r1, count: 15)
        try await f.enqueue(r2, count: 15)
        let pass = try await f.dispatcher().deliverDue()
        #expect(pass.attempts == 20)
        #expect(pass.delivered + pass.rateLimited == 30)
    }

    @Test func entriesOfDeletedOrDisabledEndpointsFail() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        var a = try await f.http("a")
        let key = try await f.enqueue(a, count: 1)[0]
        a.enabled = false
        _ = try await f.store.updateEndpoint(a)
        let pass = try await f.dispatcher().deliverDue()
        #expect(pass.gaveUp == 1 && f.sender.sent.isEmpty)
        let e = try #require(try await f.entries(a)[key])
        #expect(e.status == .failed && e.lastError?.contains("disabled") == true)
    }

    @Test func runDeliversWhatIsEnqueuedWhenPokedAndStopsWhenCancelled() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let a = try await f.http("a")
        let d = f.dispatcher()
        let task = Task { await d.run() }
        try await Task.sleep(for: .milliseconds(50))
        let key = try await f.enqueue(a, count: 1)[0]
        d.poke()
        // The clock does not move: only the poke can wake the loop. Wait (up to 10 s) for delivery.
        let deadline = Date().addingTimeInterval(10)
        while f.sender.sent.isEmpty && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(f.sender.sent.map(\.keys) == [[key]])
        task.cancel()
        await task.value
    }
}
