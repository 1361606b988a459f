import Alarms
import Foundation
import Testing

@Suite struct AlarmStoreValidationTests {
    typealias F = AlarmStoreFixtures

    /// A rule change and the field its error must name.
    static let badRules: [(String, @Sendable (inout AlarmRule) -> Void)] = [
        ("name", { $0.name = "  " }),
        ("name", { $0.name = String(repeating: "x", count: 256) }),
        ("namespace", { $0.namespace = "ZStack/Nope" }),
        ("namespace", { $0.namespace = "not a namespace" }),
        ("metricName", { $0.metricName = "CPUUsage" }),
        ("metricName", { $0.namespace = "MyApp/Orders"; $0.metricName = "bad-name"; $0.labels = [] }),
        ("labels", { $0.labels = [AlarmLabel(key: "VMUuid", op: "==", value: "x")] }),
        ("labels", { $0.labels = [AlarmLabel(key: "VMUuid", op: "=~", value: "(")] }),
        ("labels", { $0.labels = [AlarmLabel(key: "VmUuid", value: "x")] }),
        ("threshold", { $0.threshold = .nan }),
        ("threshold", { $0.threshold = .infinity }),
        ("period", { $0.period = 0 }),
        ("period", { $0.period = 86_401 }),
        ("repeatInterval", { $0.repeatInterval = 0 }),
        ("repeatCount", { $0.repeatCount = -2 }),
        ("actions", { $0.actions = ["0123456789abcdef0123456789abcdef"] }),
    ]

    @Test(arguments: 0..<badRules.count)
    func badRuleNamesItsFieldAndStoresNothing(index: Int) async throws {
        let (field, change) = Self.badRules[index]
        let store = try SQLiteAlarmStore(path: nil)
        var rule = F.rule()
        change(&rule)
        let error = await #expect(throws: AlarmValidationError.self) { try await store.createAlarm(rule, at: 1) }
        #expect(error?.field == field, "\(error.map(String.init(describing:)) ?? "no error")")
        #expect(error?.reason.isEmpty == false)
        #expect(try await store.alarms().isEmpty)

        let good = try await store.createAlarm(F.rule(), at: 1)
        var bad = good
        change(&bad)
        bad.uuid = good.uuid
        let updateError = await #expect(throws: AlarmValidationError.self) { try await store.updateAlarm(bad, at: 2) }
        #expect(updateError?.field == field)
        #expect(try await store.alarms() == [good])
    }

    @Test func acceptedRuleShapes() throws {
        let v = AlarmRuleValidator()
        var custom = F.rule()
        custom.namespace = "MyApp/Orders"
        custom.metricName = "queue_depth"
        custom.labels = [AlarmLabel(key: "shop", value: "eu")]
        try v.validate(custom)
        var host = F.rule()
        host.namespace = "ZStack/Host"
        host.metricName = "DiskUsedCapacityInPercent"
        host.labels = [AlarmLabel(key: "MountPoint", op: "!~", value: "/boot.*")]
        host.repeatCount = -1
        host.period = 10
        try v.validate(host)
    }

    static let badEndpoints: [(String, EndpointConfig)] = [
        ("url", .http(HTTPEndpointConfig(url: "ftp://example.com/x"))),
        ("url", .http(HTTPEndpointConfig(url: "not a url"))),
        ("password", .http(HTTPEndpointConfig(url: "http://example.com/", username: "u"))),
        ("username", .http(HTTPEndpointConfig(url: "http://example.com/", password: "p"))),
        ("secret", .http(HTTPEndpointConfig(url: "http://example.com/", secret: ""))),
        ("url", .dingTalk(DingTalkEndpointConfig(url: "oapi.dingtalk.com/robot/send"))),
        ("atMobiles", .dingTalk(DingTalkEndpointConfig(url: "https://oapi.dingtalk.com/robot/send", atMobiles: ["13x"]))),
        ("smtpServer", .email(EmailEndpointConfig(smtpServer: "", from: "a@b.c", recipients: ["x@y.z"]))),
        ("smtpPort", .email(EmailEndpointConfig(smtpServer: "smtp", smtpPort: 0, from: "a@b.c", recipients: ["x@y.z"]))),
        ("smtpPort", .email(EmailEndpointConfig(smtpServer: "smtp", smtpPort: 65_536, from: "a@b.c", recipients: ["x@y.z"]))),
        ("from", .email(EmailEndpointConfig(smtpServer: "smtp", from: "alarms", recipients: ["x@y.z"]))),
        ("recipients", .email(EmailEndpointConfig(smtpServer: "smtp", from: "a@b.c", recipients: []))),
        ("recipients", .email(EmailEndpointConfig(smtpServer: "smtp", from: "a@b.c", recipients: ["ok@y.z", "bad address@y.z"]))),
        ("password", .email(EmailEndpointConfig(smtpServer: "smtp", username: "u", from: "a@b.c", recipients: ["x@y.z"]))),
    ]

    @Test(arguments: 0..<badEndpoints.count)
    func badEndpointNamesItsField(index: Int) async throws {
        let (field, config) = Self.badEndpoints[index]
        let store = try SQLiteAlarmStore(path: nil)
        let error = await #expect(throws: AlarmValidationError.self) {
            try await store.createEndpoint(SNSEndpoint(uuid: "", name: "ep", config: config), at: 1)
        }
        #expect(error?.field == field, "\(error.map(String.init(describing:)) ?? "no error")")
        #expect(try await store.endpoints().isEmpty)
    }

    @Test func badRecipientIsNamed() throws {
        let e = SNSEndpoint(uuid: "", name: "m", config: .email(EmailEndpointConfig(
            smtpServer: "smtp", from: "a@b.c", recipients: ["ok@y.z", "oops@"])))
        #expect(throws: AlarmValidationError.self) { try SNSValidator().validate(e) }
        do { try SNSValidator().validate(e) } catch { #expect(error.reason.contains("oops@")) }
    }

    @Test func badTemplatesAndNamesAreRejected() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        var e = F.http()
        e.template = "{{#ALARM_NAME}} unclosed"
        let t = await #expect(throws: AlarmValidationError.self) { try await store.createEndpoint(e, at: 1) }
        #expect(t?.field == "template")
        e.template = nil
        e.recoveryTemplate = "{{/x}}"
        let r = await #expect(throws: AlarmValidationError.self) { try await store.createEndpoint(e, at: 1) }
        #expect(r?.field == "recoveryTemplate")
        e.recoveryTemplate = nil
        e.name = ""
        let n = await #expect(throws: AlarmValidationError.self) { try await store.createEndpoint(e, at: 1) }
        #expect(n?.field == "name")
        let tn = await #expect(throws: AlarmValidationError.self) { try await store.createTopic(SNSTopic(uuid: "", name: ""), at: 1) }
        #expect(tn?.field == "name")
    }

    @Test func eventSubscriptionAndSilenceErrorsNameTheirFields() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let cases: [(String, EventSubscription)] = [
            ("name", EventSubscription(uuid: "", name: "", namespace: "ZStack/VM", eventName: "VmCrash")),
            ("namespace", EventSubscription(uuid: "", name: "n", namespace: "ZStack/L3Network", eventName: "VmCrash")),
            ("eventName", EventSubscription(uuid: "", name: "n", namespace: "ZStack/Host", eventName: "VmCrash")),
            ("labels", EventSubscription(uuid: "", name: "n", namespace: "ZStack/VM", eventName: "VmCrash",
                                         labels: [AlarmLabel(key: "VMUuid", op: "=~", value: "[")])),
            ("actions", EventSubscription(uuid: "", name: "n", namespace: "ZStack/VM", eventName: "VmCrash", actions: ["missing"])),
        ]
        for (field, s) in cases {
            let e = await #expect(throws: AlarmValidationError.self) { try await store.createEventSubscription(s, at: 1) }
            #expect(e?.field == field)
        }
        #expect(try await store.eventSubscriptions().isEmpty)
        let silences: [(String, Silence)] = [
            ("matchers", Silence(uuid: "", matchers: [], startsAt: 0, endsAt: 10)),
            ("matchers", Silence(uuid: "", matchers: [AlarmLabel(key: "a", op: "~", value: "b")], startsAt: 0, endsAt: 10)),
            ("endsAt", Silence(uuid: "", matchers: [AlarmLabel(key: "a", value: "b")], startsAt: 10, endsAt: 10)),
        ]
        for (field, s) in silences {
            let e = await #expect(throws: AlarmValidationError.self) { try await store.createSilence(s, at: 1) }
            #expect(e?.field == field)
        }
        #expect(try await store.silences(endingAfter: .min).isEmpty)
    }
}
