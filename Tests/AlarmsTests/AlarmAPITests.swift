import Alarms
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import Web

@Suite struct AlarmAPITests {
    static let alarms = "/zstack/v1/zwatch/alarms"
    static let topics = "/zstack/v1/sns/topics"
    static let endpoints = "/zstack/v1/sns/application-endpoints"

    func alarmParams(_ topic: String? = nil) -> [String: Any] {
        var p: [String: Any] = [
            "name": "vm-cpu-high", "namespace": "ZStack/VM", "metricName": "CPUAverageUsedUtilization",
            "labels": [["key": "VMUuid", "op": "=~", "value": "a+"]], "comparisonOperator": "GreaterThanOrEqualTo",
            "threshold": 80, "period": 300, "type": "Any", "repeatInterval": 600, "repeatCount": 3,
            "enableRecovery": true, "emergencyLevel": "Emergent",
        ]
        if let topic { p["actions"] = [topic] }
        return p
    }

    @Test func alarmsAreCreatedReadQueriedUpdatedAndDeleted() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        try await f.app.test(.router) { c in
            let api = try await AlarmAPIClient.login(c)
            let topic = try await api.create(Self.topics, ["name": "ops"])
            #expect(topic.status == .ok)
            let topicUuid = try #require(topic.inventory["uuid"] as? String)

            let created = try await api.create(Self.alarms, alarmParams(topicUuid))
            #expect(created.status == .ok)
            let a = created.inventory
            let uuid = try #require(a["uuid"] as? String)
            #expect(!uuid.isEmpty)
            #expect(a["threshold"] as? Double == 80)
            #expect(a["emergencyLevel"] as? String == "Emergent")
            #expect(a["actions"] as? [String] == [topicUuid])
            #expect(a["state"] as? String == "Enabled")
            #expect(a["status"] as? String == "InsufficientData")
            #expect(((a["labels"] as? [[String: Any]])?.first)?["op"] as? String == "=~")
            // Stored as sent.
            let stored = try await f.alarms.alarm(uuid: uuid)
            #expect(stored.repeatCount == 3 && stored.repeatInterval == 600 && stored.period == 300)

            _ = try await api.create(Self.alarms, ["name": "host-mem", "namespace": "ZStack/Host", "metricName": "MemoryUsedInPercent",
                                                   "comparisonOperator": "GreaterThan", "threshold": 90, "period": 60])
            #expect(try await api.call(.get, Self.alarms).total == 2)
            let byMetric = try await api.call(.get, Self.alarms + "?q=metricName=MemoryUsedInPercent")
            #expect(byMetric.total == 1)
            #expect(byMetric.inventories.first?["name"] as? String == "host-mem")
            #expect(try await api.call(.get, Self.alarms + "?q=namespace=ZStack/VM&q=status=InsufficientData").total == 1)
            #expect(try await api.call(.get, Self.alarms + "?q=name~=%25cpu%25").total == 1)
            let paged = try await api.call(.get, Self.alarms + "?limit=1&start=1&sort=+name")
            #expect(paged.total == 2)
            #expect(paged.inventories.map { $0["name"] as? String } == ["vm-cpu-high"])
            #expect(try await api.call(.get, Self.alarms + "?q=name=host-mem&count=true").json["inventories"] == nil)

            let got = try await api.call(.get, Self.alarms + "/" + uuid)
            #expect(got.inventory["name"] as? String == "vm-cpu-high")

            let updated = try await api.call(.put, Self.alarms + "/" + uuid, ["params": ["threshold": 95.5, "name": "vm-cpu-very-high"]])
            #expect(updated.status == .ok)
            #expect(updated.inventory["threshold"] as? Double == 95.5)
            #expect(updated.inventory["emergencyLevel"] as? String == "Emergent")  // untouched fields stay
            #expect(try await f.alarms.alarm(uuid: uuid).name == "vm-cpu-very-high")

            let disabled = try await api.call(.put, Self.alarms + "/\(uuid)/actions", ["changeAlarmState": ["stateEvent": "disable"]])
            #expect(disabled.inventory["state"] as? String == "Disabled")
            #expect(try await f.alarms.alarm(uuid: uuid).enabled == false)
            let enabled = try await api.call(.put, Self.alarms + "/\(uuid)/actions", ["changeAlarmState": ["stateEvent": "enable"]])
            #expect(enabled.inventory["state"] as? String == "Enabled")

            #expect(try await api.call(.delete, Self.alarms + "/" + uuid).status == .ok)
            let gone = try await api.call(.get, Self.alarms + "/" + uuid)
            #expect(gone.status == .notFound)
            #expect(gone.details.contains(uuid))
        }
    }

    @Test func badAlarmInputIsA400NamingTheField() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        try await f.app.test(.router) { c in
            let api = try await AlarmAPIClient.login(c)
            func expectField(_ params: [String: Any], _ field: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let r = try await api.create(Self.alarms, params)
                #expect(r.status == .badRequest, sourceLocation: sourceLocation)
                #expect(r.details.contains("'\(field)'"), "details: \(r.details)", sourceLocation: sourceLocation)
            }
            var p = alarmParams()
            p["threshold"] = nil
            try await expectField(p, "threshold")
            p = alarmParams()
            p["comparisonOperator"] = "Bigger"
            try await expectField(p, "comparisonOperator")
            p = alarmParams()
            p["labels"] = [["key": "VMUuid", "op": "~~", "value": "x"]]
            try await expectField(p, "labels")
            p = alarmParams()
            p["labels"] = [["key": "VMUuid", "op": "=~", "value": "(unclosed"]]
            try await expectField(p, "labels")
            p = alarmParams()
            p["emergencyLevel"] = "Catastrophic"
            try await expectField(p, "emergencyLevel")
            try await expectField(alarmParams("no-such-topic"), "actions")
            p = alarmParams()
            p["repeatCount"] = -5
            try await expectField(p, "repeatCount")
            p = alarmParams()
            p["threshold"] = "high"
            try await expectField(p, "params.threshold")

            let q = try await api.call(.get, Self.alarms + "?q=color=red")
            #expect(q.status == .badRequest)
            #expect(q.details.contains("'q'") && q.details.contains("color"))
            #expect(try await f.alarms.alarms().isEmpty)
        }
    }

    @Test func unknownUuidsAre404AndNoSessionIs401() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        try await f.app.test(.router) { c in
            try await c.execute(uri: Self.alarms, method: .get) { r in #expect(r.status == .unauthorized) }
            let api = try await AlarmAPIClient.login(c)
            for path in [Self.alarms + "/nope", Self.topics + "/nope", Self.endpoints + "/nope",
                         "/zstack/v1/zwatch/events/subscriptions/nope"] {
                let r = try await api.call(.get, path)
                #expect(r.status == .notFound, "\(path)")
                #expect(r.details.contains("nope"))
            }
            #expect(try await api.call(.delete, Self.alarms + "/nope").status == .notFound)
            #expect(try await api.call(.put, Self.topics + "/nope", ["params": ["name": "x"]]).status == .notFound)
            #expect(try await api.call(.post, Self.endpoints + "/nope/test").status == .notFound)
        }
    }

    @Test func endpointsOfEachTypeMaskSecretsAndKeepThemOnUpdate() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        try await f.app.test(.router) { c in
            let api = try await AlarmAPIClient.login(c)
            let http = try await api.create(Self.endpoints + "/http", [
                "name": "hook", "url": "http://127.0.0.1:9/hook", "username": "u", "password": "basic-pw",
                "secret": "hmac-key", "format": "Alertmanager", "template": "{{ALARM_NAME}} fired",
            ])
            #expect(http.status == .ok)
            let uuid = try #require(http.inventory["uuid"] as? String)
            #expect(http.inventory["type"] as? String == "HTTP")
            #expect(http.inventory["format"] as? String == "Alertmanager")
            #expect(http.inventory["password"] as? String == "******")
            #expect(http.inventory["secret"] as? String == "******")
            let text = try await c.execute(uri: Self.endpoints + "/" + uuid, method: .get, headers: [.authorization: "OAuth \(api.session)"]) {
                String(buffer: $0.body)
            }
            #expect(!text.contains("hmac-key") && !text.contains("basic-pw"))

            let ding = try await api.create(Self.endpoints + "/ding-talk", [
                "name": "robot", "url": "https://oapi.dingtalk.com/robot/send?access_token=t", "secret": "SECabc",
                "atMobiles": ["13800000000"], "atAll": false,
            ])
            #expect(ding.status == .ok)
            #expect(ding.inventory["secret"] as? String == "******")
            let mail = try await api.create(Self.endpoints + "/emails", [
                "name": "mail", "smtpServer": "127.0.0.1", "smtpPort": 2525, "security": "none", "from": "stratus@example.com",
                "recipients": ["ops@example.com"], "email": "oncall@example.com", "password": "smtp-pw", "username": "stratus",
            ])
            #expect(mail.status == .ok)
            #expect(mail.inventory["recipients"] as? [String] == ["ops@example.com", "oncall@example.com"])
            #expect(mail.inventory["password"] as? String == "******")

            #expect(try await api.call(.get, Self.endpoints).total == 3)
            let onlyHTTP = try await api.call(.get, Self.endpoints + "/http")
            #expect(onlyHTTP.inventories.map { $0["name"] as? String } == ["hook"])
            #expect(try await api.call(.get, Self.endpoints + "?q=type=Email").inventories.map { $0["name"] as? String } == ["mail"])

            // An update without the secret (or with the mask) keeps it; "" removes it.
            let renamed = try await api.call(.put, Self.endpoints + "/" + uuid, ["params": ["name": "hook-2", "password": "******"]])
            #expect(renamed.status == .ok)
            guard case let .http(cfg) = try await f.alarms.endpoint(uuid: uuid).config else { Issue.record("not HTTP"); return }
            #expect(cfg.secret == "hmac-key" && cfg.password == "basic-pw")
            _ = try await api.call(.put, Self.endpoints + "/" + uuid, ["params": ["secret": ""]])
            guard case let .http(cfg2) = try await f.alarms.endpoint(uuid: uuid).config else { Issue.record("not HTTP"); return }
            #expect(cfg2.secret == nil && cfg2.password == "basic-pw")

            let badURL = try await api.create(Self.endpoints + "/http", ["name": "x", "url": "ftp://nowhere"])
            #expect(badURL.status == .badRequest)
            #expect(badURL.details.contains("'url'"))
            let noURL = try await api.create(Self.endpoints + "/http", ["name": "x"])
            #expect(noURL.details.contains("'url'"))
            let badTemplate = try await api.create(Self.endpoints + "/http", ["name": "x", "url": "http://127.0.0.1/", "template": "{{#open}} never closed"])
            #expect(badTemplate.status == .badRequest)
            #expect(badTemplate.details.contains("'template'"))
            let badMail = try await api.create(Self.endpoints + "/emails", ["name": "m", "smtpServer": "h", "from": "a@b.c"])
            #expect(badMail.details.contains("'recipients'"))

            #expect(try await api.call(.delete, Self.endpoints + "/" + uuid).status == .ok)
            #expect(try await api.call(.get, Self.endpoints + "/" + uuid).status == .notFound)
        }
    }

    @Test func topicsAreUpdatedAndEndpointsSubscribeAndUnsubscribe() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        try await f.app.test(.router) { c in
            let api = try await AlarmAPIClient.login(c)
            let t = try #require(try await api.create(Self.topics, ["name": "ops", "description": "on call"]).inventory["uuid"] as? String)
            let e = try #require(try await api.create(Self.endpoints + "/http", ["name": "hook", "url": "http://127.0.0.1:9/"]).inventory["uuid"] as? String)
            let sub = try await api.create(Self.topics + "/\(t)/endpoints", ["endpointUuid": e])
            #expect(sub.status == .ok)
            #expect(sub.inventory["endpoints"] as? [String] == [e])
            #expect(try await f.alarms.topics(ofEndpoint: e) == [t])
            #expect(try await api.call(.get, Self.endpoints + "/" + e).inventory["topics"] as? [String] == [t])
            #expect(try await api.call(.get, Self.topics + "/\(t)/endpoints").inventories.map { $0["uuid"] as? String } == [e])
            #expect(try await api.create(Self.topics + "/\(t)/endpoints", ["endpointUuid": "nope"]).status == .notFound)

            let upd = try await api.call(.put, Self.topics + "/" + t, ["params": ["name": "ops-2", "state": "Disabled"]])
            #expect(upd.inventory["name"] as? String == "ops-2")
            #expect(upd.inventory["state"] as? String == "Disabled")
            #expect(try await api.call(.get, Self.topics + "?q=name=ops-2").total == 1)

            #expect(try await api.call(.delete, Self.topics + "/\(t)/endpoints/\(e)").status == .ok)
            #expect(try await f.alarms.endpoints(ofTopic: t).isEmpty)
            #expect(try await api.call(.delete, Self.topics + "/" + t).status == .ok)
            #expect(try await api.call(.get, Self.topics).total == 0)
        }
    }

    @Test func historyAndFiringInstancesComeFromTheStore() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        let rule = try await f.alarms.createAlarm(AlarmRule(uuid: "", name: "cpu", namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization",
                                                            comparisonOperator: .greaterThanOrEqualTo, threshold: 30, period: 60,
                                                            emergencyLevel: .emergent), at: 0)
        let t0 = AlarmWebFixture.now - 120_000, t1 = AlarmWebFixture.now - 60_000
        func entry(_ vm: String, _ from: AlarmStatus, _ to: AlarmStatus, _ time: Int64, _ value: Double) -> AlarmHistoryEntry {
            AlarmHistoryEntry(alarmUuid: rule.uuid, alarmName: rule.name, instanceKey: "VMUuid=\(vm)", labels: ["VMUuid": vm], resourceId: vm,
                              previousStatus: from, currentStatus: to, value: value, threshold: 30, emergencyLevel: .emergent, time: time, notified: to == .alarm)
        }
        let (a, b) = (f.vmUuids[0], f.vmUuids[1])
        try await f.alarms.commit(AlarmRoundCommit(
            states: [AlarmInstanceState(alarmUuid: rule.uuid, instanceKey: "VMUuid=\(a)", labels: ["VMUuid": a], status: .ok, since: t0, lastValue: 10),
                     AlarmInstanceState(alarmUuid: rule.uuid, instanceKey: "VMUuid=\(b)", labels: ["VMUuid": b], status: .alarm, since: t1,
                                        lastValue: 40, lastNotifiedAt: t1, notificationCount: 1)],
            history: [entry(a, .insufficientData, .ok, t0, 10), entry(b, .insufficientData, .ok, t0, 25), entry(b, .ok, .alarm, t1, 40)],
            time: t1))
        try await f.app.test(.router) { c in
            let api = try await AlarmAPIClient.login(c)
            let firing = try await api.call(.get, Self.alarms + "/firing")
            #expect(firing.status == .ok)
            #expect(firing.inventories.count == 1)
            let i = try #require(firing.inventories.first)
            #expect(i["resourceId"] as? String == b)
            #expect(i["value"] as? Double == 40)
            #expect(i["since"] as? Int64 == t1)
            #expect(i["alarmName"] as? String == "cpu")
            #expect(try await api.call(.get, Self.alarms + "/" + rule.uuid).inventory["status"] as? String == "Alarm")
            #expect(try await api.call(.get, Self.alarms + "?q=status=Alarm").total == 1)

            let all = try await api.call(.get, Self.alarms + "/histories?alarmUuid=\(rule.uuid)")
            #expect(all.inventories.count == 3)
            #expect(all.inventories.first?["currentStatus"] as? String == "Alarm")  // newest first
            #expect(try await api.call(.get, Self.alarms + "/histories?resourceId=\(b)").inventories.count == 2)
            #expect(try await api.call(.get, Self.alarms + "/histories?status=Alarm").inventories.count == 1)
            // startTime / endTime are seconds.
            let late = try await api.call(.get, Self.alarms + "/histories?startTime=\((t0 + 1000) / 1000)")
            #expect(late.inventories.map { $0["time"] as? Int64 } == [t1])
            let early = try await api.call(.get, Self.alarms + "/histories?endTime=\((t0 + 1000) / 1000)")
            #expect(early.inventories.count == 2)
            let bad = try await api.call(.get, Self.alarms + "/histories?startTime=yesterday")
            #expect(bad.status == .badRequest && bad.details.contains("'startTime'"))
        }
    }

    @Test func testNotificationEnqueuesAPendingOutboxRow() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        try await f.app.test(.router) { c in
            let api = try await AlarmAPIClient.login(c)
            let e = try #require(try await api.create(Self.endpoints + "/http", ["name": "hook", "url": "http://127.0.0.1:9/"]).inventory["uuid"] as? String)
            let r = try await api.call(.post, Self.endpoints + "/\(e)/test")
            #expect(r.status == .accepted)
            #expect(r.inventory["status"] as? String == "Pending")
            #expect(r.inventory["kind"] as? String == "Test")
            #expect(r.inventory["endpointUuid"] as? String == e)
            let id = try #require(r.inventory["id"] as? Int64)

            let due = try await f.alarms.dueDeliveries(now: AlarmWebFixture.now, limit: 10)
            #expect(due.map(\.id) == [id])
            guard case let .test(t) = due.first?.notice else { Issue.record("not a test notice"); return }
            #expect(t.requestedBy == "admin")

            let list = try await api.call(.get, "/zstack/v1/sns/deliveries?status=Pending&endpointUuid=\(e)")
            #expect(list.inventories.map { $0["id"] as? Int64 } == [id])
            #expect((list.json["counts"] as? [String: Int])?["Pending"] == 1)
            #expect(try await api.call(.get, "/zstack/v1/sns/deliveries?status=Delivered").inventories.isEmpty)
            try await f.alarms.markDelivered(ids: [id], at: AlarmWebFixture.now + 5)
            let counts = try await api.call(.get, "/zstack/v1/sns/deliveries/counts").inventory
            #expect(counts["Delivered"] as? Int == 1 && counts["Pending"] as? Int == 0)
            let delivered = try await api.call(.get, "/zstack/v1/sns/deliveries?status=Delivered")
            #expect(delivered.inventories.first?["deliveredAt"] as? Int64 == AlarmWebFixture.now + 5)
            #expect(try await api.call(.get, "/zstack/v1/sns/deliveries?status=Sent").details.contains("'status'"))
        }
    }

    @Test func theTestNotificationHookIsUsedWhenGiven() async throws {
        let calls = CallLog()
        let f = try await AlarmWebFixture.make(testNotification: { uuid, by in
            calls.record("\(uuid) by \(by)")
            return OutboxEntry(id: 77, idempotencyKey: "k", endpointUuid: uuid, topicUuid: nil,
                               notice: .test(TestNotice(endpointUuid: uuid, requestedBy: by, time: 1)), nextAttemptAt: 1, createdAt: 1)
        })
        defer { f.cleanUp() }
        try await f.app.test(.router) { c in
            let api = try await AlarmAPIClient.login(c)
            let r = try await api.call(.post, Self.endpoints + "/some-endpoint/test")
            #expect(r.status == .accepted)
            #expect(r.inventory["id"] as? Int == 77)
            #expect(calls.entries == ["some-endpoint by admin"])
        }
    }

    @Test func eventSubscriptionsAndSilences() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        try await f.app.test(.router) { c in
            let api = try await AlarmAPIClient.login(c)
            let base = "/zstack/v1/zwatch/events/subscriptions"
            let t = try #require(try await api.create(Self.topics, ["name": "ops"]).inventory["uuid"] as? String)
            let s = try await api.create(base, ["namespace": "ZStack/Host", "eventName": "HostDisconnected", "actions": [t],
                                                "labels": [["key": "HostUuid", "value": f.hostUuid]]])
            #expect(s.status == .ok)
            let uuid = try #require(s.inventory["uuid"] as? String)
            #expect(s.inventory["name"] as? String == "HostDisconnected")
            #expect(try await api.call(.get, base + "/" + uuid).inventory["actions"] as? [String] == [t])
            let upd = try await api.call(.put, base + "/" + uuid, ["params": ["emergencyLevel": "Emergent", "state": "disable"]])
            #expect(upd.inventory["emergencyLevel"] as? String == "Emergent")
            #expect(upd.inventory["state"] as? String == "Disabled")
            #expect(try await api.call(.get, base + "?q=eventName=HostDisconnected").total == 1)
            let bad = try await api.create(base, ["namespace": "ZStack/Host", "eventName": "HostExploded"])
            #expect(bad.status == .badRequest && bad.details.contains("'eventName'"))
            #expect(try await api.call(.delete, base + "/" + uuid).status == .ok)
            #expect(try await api.call(.get, base).total == 0)

            let silences = "/zstack/v1/zwatch/silences"
            let sil = try await api.create(silences, ["matchers": [["key": "VMUuid", "value": f.vmUuids[0]]], "duration": 3600, "comment": "maintenance"])
            #expect(sil.status == .ok)
            let sUuid = try #require(sil.inventory["uuid"] as? String)
            #expect(sil.inventory["active"] as? Bool == true)
            #expect(sil.inventory["endsAt"] as? Int64 == AlarmWebFixture.now + 3_600_000)
            #expect(sil.inventory["createdBy"] as? String == "admin")
            #expect(try await api.call(.get, silences).total == 1)
            #expect(try await api.create(silences, ["duration": 60]).details.contains("'matchers'"))
            #expect(try await api.create(silences, ["matchers": [["key": "a", "value": "b"]]]).details.contains("'endsAt'"))
            #expect(try await api.call(.delete, silences + "/" + sUuid).status == .ok)
            #expect(try await api.call(.get, silences).total == 0)
            #expect(try await api.call(.get, silences + "?all=true").inventories.first?["active"] as? Bool == false)
        }
    }
}

/// Thread-safe record of hook calls.
final class CallLog: Sendable {
    private let lock = Mutex<[String]>([])
    func record(_ s: String) { lock.withLock { $0.append(s) } }
    var entries: [String] { lock.withLock { $0 } }
}

