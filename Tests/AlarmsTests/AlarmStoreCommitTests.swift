import Alarms
import Foundation
import Testing

@Suite struct AlarmStoreCommitTests {
    typealias F = AlarmStoreFixtures

    static func state(_ alarm: String, _ vm: String, _ status: AlarmStatus = .alarm, since: Int64 = 10) -> AlarmInstanceState {
        AlarmInstanceState(alarmUuid: alarm, instanceKey: "VMUuid=\(vm)", labels: ["VMUuid": vm, "HostUuid": "h1"], status: status,
                           since: since, lastValue: 91, lastNotifiedAt: since, notificationCount: status == .alarm ? 1 : 0)
    }

    static func entry(_ alarm: String, _ vm: String, _ status: AlarmStatus, time: Int64, threshold: Double = 80) -> AlarmHistoryEntry {
        AlarmHistoryEntry(alarmUuid: alarm, alarmName: "cpu", instanceKey: "VMUuid=\(vm)", labels: ["VMUuid": vm], resourceId: vm,
                          previousStatus: status == .alarm ? .ok : .alarm, currentStatus: status, value: 91, threshold: threshold,
                          emergencyLevel: .important, time: time, notified: status == .alarm,
                          suppressedBy: status == .ok ? "silence:s1" : nil)
    }

    @Test func statesUpsertAndRemove() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let a = try await store.createAlarm(F.rule(), at: 1)
        try await store.commit(AlarmRoundCommit(states: [Self.state(a.uuid, "v1"), Self.state(a.uuid, "v2")], time: 10))
        #expect(try await store.instanceStates().map(\.instanceKey) == ["VMUuid=v1", "VMUuid=v2"])
        let ok = Self.state(a.uuid, "v1", .ok, since: 20)
        try await store.commit(AlarmRoundCommit(states: [ok], removedInstances: [InstanceID(alarmUuid: a.uuid, instanceKey: "VMUuid=v2")],
                                                time: 20))
        #expect(try await store.instanceStates() == [ok])
        try await store.deleteAlarm(uuid: a.uuid)
        #expect(try await store.instanceStates().isEmpty)
    }

    @Test func statesOfDeletedAlarmsAreNotStoredButTheRestCommits() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let a = try await store.createAlarm(F.rule(), at: 1)
        try await store.commit(AlarmRoundCommit(states: [Self.state(a.uuid, "v1"), Self.state("gone", "v1")],
                                                history: [Self.entry("gone", "v1", .alarm, time: 10)], eventCursor: 5, time: 10))
        #expect(try await store.instanceStates().map(\.alarmUuid) == [a.uuid])
        #expect(try await store.history(.init()).map(\.alarmUuid) == ["gone"])
        #expect(try await store.eventCursor() == 5)
    }

    @Test func eventCursorStartsAtZeroAndFollowsCommits() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        #expect(try await store.eventCursor() == 0)
        try await store.commit(AlarmRoundCommit(eventCursor: 12, time: 1))
        #expect(try await store.eventCursor() == 12)
        try await store.commit(AlarmRoundCommit(states: [], time: 2))
        #expect(try await store.eventCursor() == 12)
        try await store.commit(AlarmRoundCommit(eventCursor: 30, time: 3))
        #expect(try await store.eventCursor() == 30)
    }

    /// Topics t1, t2 enabled, t3 disabled; e1 on t1+t2, e2 on t2, e3 (disabled) on t1, e4 on t3.
    @Test func fanOutDedupsEndpointsSkipsDisabledAndReplaysAddNothing() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let t1 = try await store.createTopic(SNSTopic(uuid: "", name: "t1"), at: 1)
        let t2 = try await store.createTopic(SNSTopic(uuid: "", name: "t2"), at: 1)
        let t3 = try await store.createTopic(SNSTopic(uuid: "", name: "t3", enabled: false), at: 1)
        let e1 = try await store.createEndpoint(F.http("e1"), at: 1)
        let e2 = try await store.createEndpoint(F.email(), at: 1)
        var disabled = F.http("e3")
        disabled.enabled = false
        let e3 = try await store.createEndpoint(disabled, at: 1)
        let e4 = try await store.createEndpoint(F.http("e4"), at: 1)
        for (e, t) in [(e1, t1), (e1, t2), (e2, t2), (e3, t1), (e4, t3)] {
            try await store.subscribe(endpointUuid: e.uuid, topicUuid: t.uuid)
        }
        let notice = F.alarmNotice(time: 500)
        let round = AlarmRoundCommit(notices: [RoutedNotice(notice: notice, topicUuids: [t1.uuid, t2.uuid, t3.uuid, "deleted-topic"])],
                                     time: 500)
        try await store.commit(round)
        let rows = try await store.outbox(.init()).sorted { $0.endpointUuid < $1.endpointUuid }
        let expected = [(e1.uuid, t1.uuid), (e2.uuid, t2.uuid)].sorted { $0.0 < $1.0 }
        #expect(rows.map(\.endpointUuid) == expected.map(\.0))
        #expect(rows.map(\.topicUuid) == expected.map(\.1))
        for r in rows {
            #expect(r.idempotencyKey == OutboxEntry.key(notice, endpointUuid: r.endpointUuid))
            #expect(r.notice == notice && r.status == .pending && r.attempts == 0)
            #expect(r.createdAt == 500 && r.nextAttemptAt == 500 && r.id != nil)
        }
        try await store.commit(round)
        #expect(try await store.outbox(.init()).count == 2)
        #expect(try await store.outboxCounts() == [.pending: 2, .delivered: 0, .failed: 0])
    }

    @Test func aCommitThatFailsMidwayLeavesNothing() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let t = try await store.createTopic(SNSTopic(uuid: "", name: "t"), at: 1)
        let e = try await store.createEndpoint(F.http(), at: 1)
        try await store.subscribe(endpointUuid: e.uuid, topicUuid: t.uuid)
        let a = try await store.createAlarm(F.rule(actions: [t.uuid]), at: 1)
        try await store.commit(AlarmRoundCommit(states: [Self.state(a.uuid, "v0")], eventCursor: 3, time: 5))
        let before = try await store.instanceStates()
        // A NaN threshold reaches SQLite as NULL and breaks the NOT NULL constraint of the second
        // history row, after the states and the first row were written.
        let round = AlarmRoundCommit(
            states: [Self.state(a.uuid, "v1"), Self.state(a.uuid, "v0", .ok, since: 10)],
            removedInstances: [InstanceID(alarmUuid: a.uuid, instanceKey: "VMUuid=v0")],
            history: [Self.entry(a.uuid, "v1", .alarm, time: 10), Self.entry(a.uuid, "v2", .alarm, time: 10, threshold: .nan)],
            notices: [RoutedNotice(notice: F.alarmNotice(alarmUuid: a.uuid, time: 10), topicUuids: [t.uuid])],
            eventCursor: 9, time: 10)
        await #expect(throws: (any Error).self) { try await store.commit(round) }
        #expect(try await store.instanceStates() == before)
        #expect(try await store.history(.init()).isEmpty)
        #expect(try await store.outbox(.init()).isEmpty)
        #expect(try await store.eventCursor() == 3)
    }

    @Test func historyFiltersAndPagesNewestFirst() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        var history: [AlarmHistoryEntry] = []
        for i in 0..<20 {
            history.append(Self.entry(i % 2 == 0 ? "a" : "b", "v\(i % 4)", i % 3 == 0 ? .ok : .alarm, time: Int64(1_000 + i * 10)))
        }
        try await store.commit(AlarmRoundCommit(history: history, time: 2_000))
        let all = try await store.history(AlarmHistoryQuery(limit: 1_000))
        #expect(all.count == 20)
        #expect(all.map(\.time) == history.map(\.time).reversed())
        #expect(all.allSatisfy { $0.id != nil })
        var withoutIds = all.map { e -> AlarmHistoryEntry in var e = e; e.id = nil; return e }
        withoutIds.reverse()
        #expect(withoutIds == history)

        func times(_ q: AlarmHistoryQuery) async throws -> [Int64] { try await store.history(q).map(\.time) }
        func expected(_ keep: (AlarmHistoryEntry) -> Bool) -> [Int64] { history.filter(keep).map(\.time).reversed() }
        #expect(try await times(AlarmHistoryQuery(alarmUuid: "a")) == expected { $0.alarmUuid == "a" })
        #expect(try await times(AlarmHistoryQuery(resourceId: "v1")) == expected { $0.resourceId == "v1" })
        #expect(try await times(AlarmHistoryQuery(status: .ok)) == expected { $0.currentStatus == .ok })
        #expect(try await times(AlarmHistoryQuery(from: 1_050, to: 1_120)) == expected { (1_050...1_120).contains($0.time) })
        #expect(try await times(AlarmHistoryQuery(alarmUuid: "b", status: .alarm, from: 1_030)) ==
                expected { $0.alarmUuid == "b" && $0.currentStatus == .alarm && $0.time >= 1_030 })
        let page1 = try await times(AlarmHistoryQuery(limit: 7))
        let page2 = try await times(AlarmHistoryQuery(limit: 7, offset: 7))
        let page3 = try await times(AlarmHistoryQuery(limit: 7, offset: 14))
        #expect(page1 + page2 + page3 == expected { _ in true })
        #expect(page3.count == 6)
        let bad = await #expect(throws: AlarmValidationError.self) { try await store.history(AlarmHistoryQuery(limit: -1)) }
        #expect(bad?.field == "limit")
    }

    @Test func labelsWithEscapesRoundTrip() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let a = try await store.createAlarm(F.rule(), at: 1)
        let labels = ["VMUuid": "v\"1", "path": "C:\\tmp\n\t\u{1}", "ünï": "☃", "": ""]
        let s = AlarmInstanceState(alarmUuid: a.uuid, instanceKey: "k", labels: labels, status: .insufficientData, since: 1)
        var h = Self.entry(a.uuid, "v", .alarm, time: 1)
        h.labels = labels
        try await store.commit(AlarmRoundCommit(states: [s], history: [h], time: 1))
        #expect(try await store.instanceStates() == [s])
        #expect(try await store.history(.init()).first?.labels == labels)
    }

    /// Prints the time of one 100,000-state commit (no assertion on speed: that is for benchmarks).
    @Test func bigRoundCommitsInOneTransaction() async throws {
        let dir = try AlarmStoreTempDir()
        let store = try SQLiteAlarmStore(path: dir.dbPath)
        let t = try await store.createTopic(SNSTopic(uuid: "", name: "t"), at: 1)
        let e = try await store.createEndpoint(F.http(), at: 1)
        try await store.subscribe(endpointUuid: e.uuid, topicUuid: t.uuid)
        let a = try await store.createAlarm(F.rule(actions: [t.uuid]), at: 1)
        let n = 100_000
        let states = (0..<n).map { i in
            AlarmInstanceState(alarmUuid: a.uuid, instanceKey: "VMUuid=\(i)", labels: ["VMUuid": "vm-\(i)", "HostUuid": "host-\(i % 1000)"],
                               status: .ok, since: 10, lastValue: Double(i))
        }
        let clock = ContinuousClock()
        let first = try await clock.measure { try await store.commit(AlarmRoundCommit(states: states, time: 10)) }
        let updated = states.map { var s = $0; s.status = .alarm; s.since = 20; s.notificationCount = 1; return s }
        let history = updated.prefix(10_000).map { s in
            AlarmHistoryEntry(alarmUuid: s.alarmUuid, alarmName: "cpu", instanceKey: s.instanceKey, labels: s.labels, resourceId: s.resourceId,
                              previousStatus: .ok, currentStatus: .alarm, value: s.lastValue, threshold: 80,
                              emergencyLevel: .important, time: 20, notified: true)
        }
        let notices = updated.prefix(10_000).map {
            RoutedNotice(notice: F.alarmNotice(alarmUuid: a.uuid, key: $0.instanceKey, time: 20), topicUuids: [t.uuid])
        }
        let second = try await clock.measure {
            try await store.commit(AlarmRoundCommit(states: updated, history: Array(history), notices: Array(notices), time: 20))
        }
        var loaded = 0
        let load = try await clock.measure { loaded = try await store.instanceStates().count }
        #expect(loaded == n)
        #expect(try await store.outboxCounts()[.pending] == 10_000)
        print("AlarmStore: commit of \(n) new states \(first); \(n) state updates + 10,000 history + 10,000 outbox rows \(second); load \(n) states \(load)")
    }
}
