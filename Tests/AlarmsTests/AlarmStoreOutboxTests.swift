import Alarms
import Foundation
import Testing

@Suite struct AlarmStoreOutboxTests {
    typealias F = AlarmStoreFixtures

    static func entry(_ endpoint: String, time: Int64, due: Int64? = nil) -> OutboxEntry {
        let notice = Notice.test(TestNotice(endpointUuid: endpoint, requestedBy: "admin", time: time))
        return OutboxEntry(idempotencyKey: OutboxEntry.key(notice, endpointUuid: endpoint), endpointUuid: endpoint, topicUuid: nil,
                           notice: notice, nextAttemptAt: due ?? time, createdAt: time)
    }

    @Test func enqueueIgnoresDuplicateKeysAndDueOrderIsOldestFirst() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        #expect(try await store.nextDueTime() == nil)
        #expect(try await store.dueDeliveries(now: .max, limit: 10).isEmpty)
        try await store.enqueue([Self.entry("e1", time: 100, due: 300), Self.entry("e1", time: 200), Self.entry("e2", time: 150)])
        var dup = Self.entry("e1", time: 100, due: 0)
        dup.lastError = "should not replace"
        try await store.enqueue([dup])
        #expect(try await store.outbox(.init()).count == 3)
        #expect(try await store.nextDueTime() == 150)
        #expect(try await store.dueDeliveries(now: 149, limit: 10).isEmpty)
        #expect(try await store.dueDeliveries(now: 200, limit: 10).map(\.createdAt) == [200, 150])
        #expect(try await store.dueDeliveries(now: 300, limit: 10).map(\.createdAt) == [100, 200, 150])
        #expect(try await store.dueDeliveries(now: 300, limit: 2).map(\.createdAt) == [100, 200])
        let first = try #require(try await store.dueDeliveries(now: 300, limit: 1).first)
        #expect(first.notice == Self.entry("e1", time: 100).notice && first.lastError == nil && first.topicUuid == nil)
    }

    @Test func attemptsRetryThenDeliverOrFail() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let e1 = try await store.createEndpoint(F.http(), at: 1).uuid
        try await store.enqueue([Self.entry(e1, time: 100), Self.entry("e2", time: 100), Self.entry("e3", time: 100)])
        let due = try await store.dueDeliveries(now: 100, limit: 10)
        let ids = due.compactMap(\.id)
        #expect(ids.count == 3)

        try await store.markAttemptFailed(id: ids[0], error: "connection refused", at: 110, nextAttemptAt: 1_110, giveUp: false)
        var a = try await store.outboxEntry(id: ids[0])
        #expect(a.status == .pending && a.attempts == 1 && a.lastError == "connection refused")
        #expect(a.lastAttemptAt == 110 && a.nextAttemptAt == 1_110)
        #expect(try await store.dueDeliveries(now: 200, limit: 10).map(\.id) == [ids[1], ids[2]])
        #expect(try await store.nextDueTime() == 100)

        try await store.markDelivered(ids: [ids[1], ids[2]], at: 120)
        #expect(try await store.nextDueTime() == 1_110)
        let b = try await store.outboxEntry(id: ids[1])
        #expect(b.status == .delivered && b.deliveredAt == 120 && b.attempts == 1 && b.lastAttemptAt == 120)

        try await store.markAttemptFailed(id: ids[0], error: "HTTP 400", at: 1_200, nextAttemptAt: 9_999, giveUp: true)
        a = try await store.outboxEntry(id: ids[0])
        #expect(a.status == .failed && a.attempts == 2 && a.lastError == "HTTP 400")
        #expect(try await store.nextDueTime() == nil)
        #expect(try await store.outboxCounts() == [.pending: 0, .delivered: 2, .failed: 1])

        // A late failure report on a delivered entry changes nothing.
        try await store.markAttemptFailed(id: ids[1], error: "late", at: 1_300, nextAttemptAt: 2_000, giveUp: true)
        #expect(try await store.outboxEntry(id: ids[1]) == b)
        await #expect(throws: AlarmNotFoundError(kind: "delivery", uuid: "999")) {
            try await store.markAttemptFailed(id: 999, error: "x", at: 1, nextAttemptAt: 2, giveUp: false)
        }

        try await store.retryDelivery(id: ids[0], at: 2_000)
        a = try await store.outboxEntry(id: ids[0])
        #expect(a.status == .pending && a.nextAttemptAt == 2_000 && a.attempts == 2)
    }

    @Test func outboxQueryFiltersNewestFirst() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        try await store.enqueue((0..<6).map { Self.entry($0 % 2 == 0 ? "even" : "odd", time: Int64($0)) })
        let all = try await store.outbox(.init())
        #expect(all.map(\.createdAt) == [5, 4, 3, 2, 1, 0])
        try await store.markDelivered(ids: [all[0].id!, all[1].id!], at: 10)
        #expect(try await store.outbox(OutboxQuery(status: .delivered)).map(\.createdAt) == [5, 4])
        #expect(try await store.outbox(OutboxQuery(endpointUuid: "even")).map(\.createdAt) == [4, 2, 0])
        #expect(try await store.outbox(OutboxQuery(status: .pending, endpointUuid: "odd")).map(\.createdAt) == [3, 1])
        #expect(try await store.outbox(OutboxQuery(limit: 2, offset: 3)).map(\.createdAt) == [2, 1])
    }

    @Test func deletingAnEndpointFailsItsPendingEntries() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let t = try await store.createTopic(SNSTopic(uuid: "", name: "t"), at: 1)
        let gone = try await store.createEndpoint(F.http("gone"), at: 1)
        let kept = try await store.createEndpoint(F.http("kept"), at: 1)
        try await store.subscribe(endpointUuid: gone.uuid, topicUuid: t.uuid)
        try await store.subscribe(endpointUuid: kept.uuid, topicUuid: t.uuid)
        try await store.commit(AlarmRoundCommit(notices: [
            RoutedNotice(notice: F.alarmNotice(time: 10), topicUuids: [t.uuid]),
            RoutedNotice(notice: F.alarmNotice(time: 20), topicUuids: [t.uuid]),
        ], time: 20))
        let delivered = try #require(try await store.outbox(OutboxQuery(endpointUuid: gone.uuid)).last?.id)
        try await store.markDelivered(ids: [delivered], at: 30)
        try await store.deleteEndpoint(uuid: gone.uuid)
        let rows = try await store.outbox(OutboxQuery(endpointUuid: gone.uuid))
        #expect(rows.map(\.status) == [.failed, .delivered])
        #expect(rows[0].lastError == SQLiteAlarmStore.endpointDeletedError)
        #expect(try await store.outbox(OutboxQuery(endpointUuid: kept.uuid)).map(\.status) == [.pending, .pending])
        #expect(try await store.dueDeliveries(now: 100, limit: 10).allSatisfy { $0.endpointUuid == kept.uuid })
        let retry = await #expect(throws: AlarmValidationError.self) { try await store.retryDelivery(id: rows[0].id!, at: 40) }
        #expect(retry?.field == "endpointUuid")
    }

    @Test func outboxSurvivesReopen() async throws {
        let dir = try AlarmStoreTempDir()
        do {
            let store = try SQLiteAlarmStore(path: dir.dbPath)
            try await store.enqueue([Self.entry("e1", time: 5), Self.entry("e2", time: 6)])
            let id = try #require(try await store.dueDeliveries(now: 10, limit: 1).first?.id)
            try await store.markAttemptFailed(id: id, error: "timeout", at: 10, nextAttemptAt: 50, giveUp: false)
        }
        let store = try SQLiteAlarmStore(path: dir.dbPath)
        #expect(try await store.nextDueTime() == 6)
        let rows = try await store.outbox(.init())
        #expect(rows.map(\.attempts) == [0, 1])
        #expect(rows[1].lastError == "timeout" && rows[1].nextAttemptAt == 50)
    }
}
