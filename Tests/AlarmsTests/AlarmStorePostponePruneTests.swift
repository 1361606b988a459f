import Alarms
import Foundation
import Testing

/// `postpone` / `giveUp` (no attempt counted) and `prune` on a real SQLite file.
@Suite struct AlarmStorePostponePruneTests {
    typealias O = AlarmStoreOutboxTests

    @Test func postponeAndGiveUpMoveEntriesWithoutCountingAnAttempt() async throws {
        let dir = try AlarmStoreTempDir()
        let store = try SQLiteAlarmStore(path: dir.dbPath)
        try await store.enqueue([O.entry("e1", time: 100), O.entry("e1", time: 101), O.entry("e1", time: 102)])
        let ids = try await store.dueDeliveries(now: 200, limit: 10).compactMap(\.id)
        try #require(ids.count == 3)
        try await store.markAttemptFailed(id: ids[0], error: "connection refused", at: 110, nextAttemptAt: 500, giveUp: false)

        try await store.postpone(ids: [ids[0], ids[1]], until: 60_000, reason: "circuit open (last: connection refused)")
        var a = try await store.outboxEntry(id: ids[0])
        #expect(a.status == .pending && a.attempts == 1 && a.lastAttemptAt == 110 && a.nextAttemptAt == 60_000)
        #expect(a.lastError == "circuit open (last: connection refused)")
        let b = try await store.outboxEntry(id: ids[1])
        #expect(b.status == .pending && b.attempts == 0 && b.lastAttemptAt == nil && b.nextAttemptAt == 60_000)
        #expect(try await store.dueDeliveries(now: 59_999, limit: 10).map(\.id) == [ids[2]])
        #expect(try await store.nextDueTime() == 102)

        try await store.giveUp(ids: [ids[0]], reason: "endpoint deleted", at: 70_000)
        a = try await store.outboxEntry(id: ids[0])
        #expect(a.status == .failed && a.attempts == 1 && a.lastAttemptAt == 110 && a.lastError == "endpoint deleted")

        // Entries no longer pending are left alone; unknown ids are skipped.
        try await store.markDelivered(ids: [ids[2]], at: 300)
        let delivered = try await store.outboxEntry(id: ids[2])
        try await store.postpone(ids: [ids[2], 999], until: 90_000, reason: "late")
        try await store.giveUp(ids: [ids[2], 999], reason: "late", at: 90_000)
        try await store.postpone(ids: [ids[0]], until: 90_000, reason: "late")
        #expect(try await store.outboxEntry(id: ids[2]) == delivered)
        #expect(try await store.outboxEntry(id: ids[0]) == a)
        // Survives a reopen.
        let reopened = try SQLiteAlarmStore(path: dir.dbPath)
        #expect(try await reopened.outboxEntry(id: ids[1]).nextAttemptAt == 60_000)
    }

    static let day: Int64 = 86_400_000

    /// History rows at `times`, for alarm `a1`.
    static func history(_ times: [Int64]) -> [AlarmHistoryEntry] {
        times.map {
            AlarmHistoryEntry(alarmUuid: "a1", alarmName: "cpu", instanceKey: "VMUuid=v\($0)", labels: ["VMUuid": "v\($0)"],
                              resourceId: "v\($0)", previousStatus: .ok, currentStatus: .alarm, value: 90, threshold: 80,
                              emergencyLevel: .important, time: $0, notified: true)
        }
    }

    @Test func pruneDeletesOldHistoryAndFinishedDeliveriesInBatchesButNeverPending() async throws {
        let dir = try AlarmStoreTempDir()
        let store = try SQLiteAlarmStore(path: dir.dbPath)
        let now = 100 * Self.day
        let cutoff = now - 30 * Self.day
        // 7 history rows before the cutoff, 3 at or after it.
        let old = (0..<7).map { cutoff - 1 - Int64($0) * Self.day }
        let recent = [cutoff, cutoff + 1, now]
        try await store.commit(AlarmRoundCommit(history: Self.history(old + recent), time: now))
        // Outbox: created long ago: delivered long ago, delivered recently, failed long ago, failed
        // recently (given up now), pending (very old) — and one created recently and delivered.
        let longAgo = cutoff - 10 * Self.day
        try await store.enqueue((0..<6).map { O.entry("e", time: longAgo + Int64($0)) } + [O.entry("e", time: now - 1)])
        let ids = try await store.outbox(OutboxQuery(limit: 100)).compactMap(\.id).sorted()
        try #require(ids.count == 7)
        try await store.markDelivered(ids: [ids[0], ids[1]], at: longAgo + 100)          // old: pruned
        try await store.markDelivered(ids: [ids[2]], at: cutoff + 5)                      // finished recently: kept
        try await store.markAttemptFailed(id: ids[3], error: "HTTP 400", at: longAgo + 200, nextAttemptAt: longAgo + 200, giveUp: true) // old: pruned
        try await store.giveUp(ids: [ids[4]], reason: "max age", at: now - 5)             // failed recently: kept
        // ids[5] stays Pending however old; ids[6] is pending and new.
        try await store.markDelivered(ids: [ids[6]], at: now)

        // Batches of 3: history 3 + 3 + 1, outbox 3 (only 3 qualify) then 0.
        var batches: [AlarmPruneCount] = []
        while true {
            let b = try await store.prune(before: cutoff, limit: 3)
            batches.append(b)
            if b.history < 3 && b.outbox < 3 { break }
        }
        #expect(batches == [AlarmPruneCount(history: 3, outbox: 3), AlarmPruneCount(history: 3, outbox: 0),
                            AlarmPruneCount(history: 1, outbox: 0)])
        let kept = try await store.history(AlarmHistoryQuery(limit: 100)).map(\.time)
        #expect(kept.sorted() == recent.sorted())
        let left = try await store.outbox(OutboxQuery(limit: 100))
        #expect(left.compactMap(\.id).sorted() == [ids[2], ids[4], ids[5], ids[6]])
        #expect(left.first { $0.id == ids[5] }?.status == .pending)
        // Nothing more to do; a bad limit is refused.
        #expect(try await store.prune(before: cutoff, limit: 3) == AlarmPruneCount())
        await #expect(throws: AlarmValidationError.self) { try await store.prune(before: cutoff, limit: 0) }
    }
}
