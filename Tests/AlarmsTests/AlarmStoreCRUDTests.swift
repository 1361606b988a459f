@testable import Alarms
import Control
import Foundation
import Testing

@Suite struct AlarmStoreCRUDTests {
    typealias F = AlarmStoreFixtures

    @Test func alarmRoundTripUpdateAndDelete() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let topic = try await store.createTopic(SNSTopic(uuid: "", name: "ops"), at: 5)
        var rule = F.rule(actions: [topic.uuid])
        rule.description = "VMs over 80 %"
        rule.emergencyLevel = .emergent
        rule.repeatCount = 3
        let created = try await store.createAlarm(rule, at: 100)
        #expect(created.uuid.count == 32)
        #expect(created.uuid.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(created.createDate == 100 && created.lastOpDate == 100)
        #expect(try await store.alarm(uuid: created.uuid) == created)
        #expect(try await store.alarms() == [created])

        var changed = created
        changed.threshold = 90
        changed.enabled = false
        changed.createDate = 0
        let updated = try await store.updateAlarm(changed, at: 200)
        #expect(updated.threshold == 90 && !updated.enabled)
        #expect(updated.createDate == 100 && updated.lastOpDate == 200)
        #expect(try await store.alarm(uuid: created.uuid) == updated)

        try await store.deleteAlarm(uuid: created.uuid)
        #expect(try await store.alarms().isEmpty)
        await #expect(throws: AlarmNotFoundError(kind: "alarm", uuid: created.uuid)) { try await store.alarm(uuid: created.uuid) }
        await #expect(throws: AlarmNotFoundError(kind: "alarm", uuid: created.uuid)) { try await store.deleteAlarm(uuid: created.uuid) }
        await #expect(throws: AlarmNotFoundError.self) { try await store.updateAlarm(updated, at: 300) }
    }

    @Test func givenUuidIsKeptAndDuplicatesRejected() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let a = try await store.createAlarm(F.rule(uuid: "0123456789abcdef0123456789abcdef"), at: 1)
        #expect(a.uuid == "0123456789abcdef0123456789abcdef")
        let e = await #expect(throws: AlarmValidationError.self) { try await store.createAlarm(F.rule(uuid: a.uuid), at: 2) }
        #expect(e?.field == "uuid")
    }

    @Test func updateDropsInstancesOnlyWhenTheSeriesSelectionChanges() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let a = try await store.createAlarm(F.rule(), at: 1)
        let state = AlarmInstanceState(alarmUuid: a.uuid, instanceKey: "VMUuid=v1", labels: ["VMUuid": "v1"], status: .alarm, since: 10)
        try await store.commit(AlarmRoundCommit(states: [state], time: 10))
        var b = a
        b.threshold = 50
        _ = try await store.updateAlarm(b, at: 20)
        #expect(try await store.instanceStates() == [state])
        b.labels = []
        _ = try await store.updateAlarm(b, at: 30)
        #expect(try await store.instanceStates().isEmpty)
    }

    @Test func topicsAreUniqueByNameAndDeletionCleansActions() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let t1 = try await store.createTopic(SNSTopic(uuid: "", name: "ops", description: "on call"), at: 1)
        let t2 = try await store.createTopic(SNSTopic(uuid: "", name: "dev"), at: 2)
        #expect(try await store.topic(uuid: t1.uuid) == t1)
        #expect(try await store.topics().map(\.name) == ["dev", "ops"])
        let clash = await #expect(throws: AlarmValidationError.self) { try await store.createTopic(SNSTopic(uuid: "", name: "ops"), at: 3) }
        #expect(clash?.field == "name")
        var renamed = t2
        renamed.name = "ops"
        await #expect(throws: AlarmValidationError.self) { try await store.updateTopic(renamed) }
        renamed.name = "developers"
        renamed.enabled = false
        #expect(try await store.updateTopic(renamed) == renamed)

        let alarm = try await store.createAlarm(F.rule(actions: [t1.uuid, t2.uuid]), at: 4)
        let sub = try await store.createEventSubscription(
            EventSubscription(uuid: "", name: "crash", namespace: "ZStack/VM", eventName: "VmCrash", actions: [t1.uuid]), at: 5)
        let ep = try await store.createEndpoint(F.http(), at: 6)
        try await store.subscribe(endpointUuid: ep.uuid, topicUuid: t1.uuid)
        try await store.deleteTopic(uuid: t1.uuid)
        #expect(try await store.alarm(uuid: alarm.uuid).actions == [t2.uuid])
        #expect(try await store.eventSubscription(uuid: sub.uuid).actions == [])
        #expect(try await store.topics(ofEndpoint: ep.uuid) == [])
        await #expect(throws: AlarmNotFoundError(kind: "topic", uuid: t1.uuid)) { try await store.topic(uuid: t1.uuid) }
    }

    @Test(arguments: [
        EndpointConfig.http(HTTPEndpointConfig(url: "https://hooks.example.com/x?y=1", username: "u", password: "p",
                                               secret: "s3cret", format: .alertmanager)),
        EndpointConfig.http(HTTPEndpointConfig(url: "http://127.0.0.1:8080/")),
        EndpointConfig.dingTalk(DingTalkEndpointConfig(url: "https://oapi.dingtalk.com/robot/send?access_token=abc",
                                                       secret: "SECxyz", atMobiles: ["+86-13800000000"], atAll: true)),
        EndpointConfig.email(EmailEndpointConfig(smtpServer: "smtp.example.com", smtpPort: 465, security: .smtps,
                                                 username: "bot", password: "pw", from: "bot@example.com",
                                                 recipients: ["a@example.com", "b@example.org"], html: true, insecureSkipVerify: true)),
    ])
    func endpointRoundTrip(config: EndpointConfig) async throws {
        let dir = try AlarmStoreTempDir()
        let created: SNSEndpoint
        do {
            let store = try SQLiteAlarmStore(path: dir.dbPath)
            created = try await store.createEndpoint(
                SNSEndpoint(uuid: "", name: "ep", description: "d", config: config, template: "{{ALARM_NAME}} fired",
                            recoveryTemplate: "{{ALARM_NAME}} ok"), at: 42)
            #expect(created.createDate == 42 && created.uuid.count == 32)
            #expect(try await store.endpoint(uuid: created.uuid) == created)
        }
        let reopened = try SQLiteAlarmStore(path: dir.dbPath)
        #expect(try await reopened.endpoints() == [created])
        var changed = created
        changed.enabled = false
        changed.template = nil
        changed.config = .http(HTTPEndpointConfig(url: "http://other.example.com/"))
        #expect(try await reopened.updateEndpoint(changed) == changed)
        #expect(try await reopened.endpoint(uuid: created.uuid) == changed)
        #expect(try await reopened.endpoint(uuid: created.uuid).type == "HTTP")
    }

    @Test func subscriptionsAreIdempotentAndNeedBothEnds() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let t = try await store.createTopic(SNSTopic(uuid: "", name: "ops"), at: 1)
        let e1 = try await store.createEndpoint(F.http("a"), at: 2)
        let e2 = try await store.createEndpoint(F.email(), at: 3)
        try await store.subscribe(endpointUuid: e1.uuid, topicUuid: t.uuid)
        try await store.subscribe(endpointUuid: e1.uuid, topicUuid: t.uuid)
        try await store.subscribe(endpointUuid: e2.uuid, topicUuid: t.uuid)
        #expect(try await store.endpoints(ofTopic: t.uuid) == [e1.uuid, e2.uuid].sorted())
        #expect(try await store.topics(ofEndpoint: e1.uuid) == [t.uuid])
        await #expect(throws: AlarmNotFoundError(kind: "topic", uuid: "nope")) {
            try await store.subscribe(endpointUuid: e1.uuid, topicUuid: "nope")
        }
        await #expect(throws: AlarmNotFoundError(kind: "endpoint", uuid: "nope")) {
            try await store.subscribe(endpointUuid: "nope", topicUuid: t.uuid)
        }
        try await store.unsubscribe(endpointUuid: e1.uuid, topicUuid: t.uuid)
        #expect(try await store.endpoints(ofTopic: t.uuid) == [e2.uuid])
        try await store.deleteEndpoint(uuid: e2.uuid)
        #expect(try await store.endpoints(ofTopic: t.uuid) == [])
        #expect(try await store.endpoints().map(\.uuid) == [e1.uuid])
    }

    @Test func eventSubscriptionRoundTrip() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let t = try await store.createTopic(SNSTopic(uuid: "", name: "ops"), at: 1)
        let s = try await store.createEventSubscription(
            EventSubscription(uuid: "", name: "host down", namespace: "ZStack/Host", eventName: "HostDisconnected",
                              labels: [AlarmLabel(key: "HostUuid", op: "!=", value: "h0")], actions: [t.uuid],
                              emergencyLevel: .emergent), at: 7)
        #expect(s.createDate == 7)
        #expect(try await store.eventSubscriptions() == [s])
        var u = s
        u.enabled = false
        u.labels = []
        #expect(try await store.updateEventSubscription(u) == u)
        #expect(try await store.eventSubscriptions() == [u])
        try await store.deleteEventSubscription(uuid: s.uuid)
        #expect(try await store.eventSubscriptions().isEmpty)
        await #expect(throws: AlarmNotFoundError(kind: "event subscription", uuid: s.uuid)) {
            try await store.deleteEventSubscription(uuid: s.uuid)
        }
    }

    @Test func silencesExpireAndListByEnd() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let old = try await store.createSilence(Silence(uuid: "", matchers: [AlarmLabel(key: "VMUuid", value: "v1")],
                                                        startsAt: 0, endsAt: 100, comment: "maint", createdBy: "admin"), at: 0)
        let now = try await store.createSilence(Silence(uuid: "", matchers: [AlarmLabel(key: "alarmName", op: "=~", value: "cpu.*")],
                                                        startsAt: 500, endsAt: 5_000), at: 500)
        let later = try await store.createSilence(Silence(uuid: "", matchers: [AlarmLabel(key: "HostUuid", value: "h1")],
                                                          startsAt: 2_000, endsAt: 9_000), at: 600)
        #expect(try await store.silences(endingAfter: 1_000) == [later, now])
        #expect(try await store.silences(endingAfter: 0).map(\.uuid) == [later.uuid, now.uuid, old.uuid])
        try await store.expireSilence(uuid: now.uuid, at: 1_000)
        let expired = try await store.silence(uuid: now.uuid)
        #expect(expired.endsAt == 1_000 && !expired.isActive(at: 1_000))
        #expect(try await store.silences(endingAfter: 1_000) == [later])
        try await store.expireSilence(uuid: later.uuid, at: 1_500)
        let never = try await store.silence(uuid: later.uuid)
        #expect(!never.isActive(at: 1_500) && !never.isActive(at: 2_000))
        await #expect(throws: AlarmNotFoundError(kind: "silence", uuid: "x")) { try await store.expireSilence(uuid: "x", at: 1) }
    }

    @Test func reopeningTheFileKeepsEverything() async throws {
        let dir = try AlarmStoreTempDir()
        var expected: (alarms: [AlarmRule], topics: [SNSTopic], endpoints: [SNSEndpoint], subs: [EventSubscription],
                       silences: [Silence], states: [AlarmInstanceState], history: [AlarmHistoryEntry], outbox: [OutboxEntry])
        do {
            let store = try SQLiteAlarmStore(path: dir.dbPath)
            let t = try await store.createTopic(SNSTopic(uuid: "", name: "ops"), at: 1)
            let e = try await store.createEndpoint(F.http(), at: 2)
            try await store.subscribe(endpointUuid: e.uuid, topicUuid: t.uuid)
            let a = try await store.createAlarm(F.rule(actions: [t.uuid]), at: 3)
            let s = try await store.createEventSubscription(
                EventSubscription(uuid: "", name: "vm", namespace: "ZStack/VM", eventName: "VMStateChanged", actions: [t.uuid]), at: 4)
            let si = try await store.createSilence(Silence(uuid: "", matchers: [AlarmLabel(key: "VMUuid", value: "v")],
                                                           startsAt: 0, endsAt: 10_000), at: 5)
            let state = AlarmInstanceState(alarmUuid: a.uuid, instanceKey: "VMUuid=v1", labels: ["VMUuid": "v1", "HostUuid": "h\"1"],
                                           status: .alarm, since: 10, lastValue: 93.5, lastNotifiedAt: 10, notificationCount: 1)
            let h = AlarmHistoryEntry(alarmUuid: a.uuid, alarmName: a.name, instanceKey: "VMUuid=v1", labels: state.labels,
                                      resourceId: "v1", previousStatus: .ok, currentStatus: .alarm, value: 93.5, threshold: 80,
                                      emergencyLevel: .important, time: 10, notified: true)
            try await store.commit(AlarmRoundCommit(states: [state], history: [h],
                                                    notices: [RoutedNotice(notice: F.alarmNotice(alarmUuid: a.uuid), topicUuids: [t.uuid])],
                                                    eventCursor: 77, time: 10))
            expected = (try await store.alarms(), try await store.topics(), try await store.endpoints(), try await store.eventSubscriptions(),
                        try await store.silences(endingAfter: 0), try await store.instanceStates(), try await store.history(.init()),
                        try await store.outbox(.init()))
            #expect(expected.alarms == [a] && expected.subs == [s] && expected.silences == [si] && expected.states == [state])
            #expect(expected.history.count == 1 && expected.outbox.count == 1)
        }
        let store = try SQLiteAlarmStore(path: dir.dbPath)
        #expect(try await store.alarms() == expected.alarms)
        #expect(try await store.topics() == expected.topics)
        #expect(try await store.endpoints() == expected.endpoints)
        #expect(try await store.endpoints(ofTopic: expected.topics[0].uuid) == expected.endpoints.map(\.uuid))
        #expect(try await store.eventSubscriptions() == expected.subs)
        #expect(try await store.silences(endingAfter: 0) == expected.silences)
        #expect(try await store.instanceStates() == expected.states)
        #expect(try await store.history(.init()) == expected.history)
        #expect(try await store.outbox(.init()) == expected.outbox)
        #expect(try await store.eventCursor() == 77)
    }

    @Test func fileDatabaseIsWALWithFullSync() async throws {
        let dir = try AlarmStoreTempDir()
        let store = try SQLiteAlarmStore(path: dir.dbPath)
        let (mode, sync) = try await store.pragmas()
        #expect(mode == "wal")
        #expect(sync == 2)
    }
}
