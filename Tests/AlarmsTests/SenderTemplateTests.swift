import Alarms
import Foundation
import Testing

/// Templates (custom, recovery, built-in, invalid) and the flat fields they render.
@Suite struct SenderTemplateTests {
    static let custom = "{{ALARM_NAME}} is {{ALARM_CURRENT_STATUS}} at {{ALARM_CURRENT_VALUE}}{{#LABELS}} {{key}}={{value}}{{/LABELS}} <raw>"
    static let recovery = "RECOVERED {{ALARM_NAME}}{{#IS_RECOVERY}} (recovery){{/IS_RECOVERY}}{{^IS_FIRING}} not firing{{/IS_FIRING}}"

    @Test func customAndRecoveryTemplatesReachTheReceiver() async throws {
        let receiver = try ReceiverProcess.http()
        defer { receiver.stop() }
        let endpoint = SenderFixture.http(receiver.url, template: Self.custom, recoveryTemplate: Self.recovery)
        let sender = HTTPNotificationSender()
        #expect(await sender.deliver(SenderFixture.attempt(endpoint, [SenderFixture.alarm()])) == .delivered)
        #expect(await sender.deliver(SenderFixture.attempt(endpoint, [SenderFixture.alarm(.recovery, value: 12)])) == .delivered)
        let messages = try receiver.records().map { ($0["json"] as? [String: String])?["MESSAGE"] }
        // Custom templates are text: no HTML escaping of `<raw>` or of values.
        #expect(messages == ["cpu-high is Alarm at 91.5 HostUuid=host-1 VMUuid=vm-1 <raw>", "RECOVERED cpu-high (recovery) not firing"])
    }

    @Test func aDingTalkEndpointUsesItsTemplateAsTheMarkdownText() async throws {
        let receiver = try ReceiverProcess.http(["--dingtalk"])
        defer { receiver.stop() }
        let endpoint = SenderFixture.dingTalk(receiver.url, atMobiles: ["13800000001"], template: "**{{EVENT_NAME}}** on {{EVENT_RESOURCE_ID}}")
        #expect(await DingTalkSender().deliver(SenderFixture.attempt(endpoint, [SenderFixture.event()])) == .delivered)
        let text = ((try receiver.records().first?["json"] as? [String: Any])?["markdown"] as? [String: String])?["text"]
        #expect(text == "**VMStateChanged** on vm-2\n\n@13800000001")
    }

    @Test func aTemplateThatDoesNotCompileIsAValidationErrorNamingTheField() {
        for bad in ["{{#IS_ALARM}}unclosed", "{{ALARM_NAME", "{{#A}}x{{/B}}"] {
            do {
                try NoticeRenderer.validate(template: bad)
                Issue.record("'\(bad)' was accepted")
            } catch {
                #expect(error.field == "template")
                #expect(error.reason.contains("line 1"))
            }
        }
        let endpoint = SenderFixture.http("http://127.0.0.1:1", template: "ok {{ALARM_NAME}}", recoveryTemplate: "{{#x}}")
        let error = #expect(throws: AlarmValidationError.self) { try NoticeRenderer.validate(endpoint: endpoint) }
        #expect(error?.field == "recoveryTemplate")
        #expect(throws: Never.self) { try NoticeRenderer.validate(template: Self.custom) }
    }

    @Test func aStoredTemplateThatDoesNotCompileFallsBackToTheBuiltInOne() {
        let renderer = NoticeRenderer(template: "{{#broken}}", recoveryTemplate: nil)
        #expect(renderer.templateProblem?.contains("template") == true)
        let fields = NoticeFields(SenderFixture.alarm(), idempotencyKey: "k")
        #expect(renderer.text([fields]) == NoticeRenderer(template: nil, recoveryTemplate: nil).text([fields]))
        #expect(renderer.text([fields]).contains("Alarm cpu-high: Firing"))
    }

    /// The cache hands back the compiled renderer while the templates are unchanged, and an edited
    /// template renders its new text at once.
    @Test func theRendererCacheFollowsTemplateEdits() {
        let cache = NoticeRendererCache(capacity: 2)
        let fields = NoticeFields(SenderFixture.alarm(), idempotencyKey: "k")
        let first = SenderFixture.http("http://127.0.0.1:1", template: "one {{ALARM_NAME}}", recoveryTemplate: nil)
        #expect(cache.renderer(for: first).text([fields]) == "one cpu-high")
        #expect(cache.renderer(for: first).text([fields]) == "one cpu-high")
        #expect(cache.count == 1)
        let edited = SenderFixture.http("http://127.0.0.1:1", template: "two {{ALARM_NAME}}", recoveryTemplate: nil)
        #expect(cache.renderer(for: edited).text([fields]) == "two cpu-high")
        #expect(cache.count == 2)
        // Past capacity it starts over, still rendering correctly.
        let third = SenderFixture.http("http://127.0.0.1:1", template: "three {{ALARM_NAME}}", recoveryTemplate: nil)
        #expect(cache.renderer(for: third).text([fields]) == "three cpu-high")
        #expect(cache.count == 1)
        // No templates: the built-in text, nothing cached.
        let plain = SenderFixture.http("http://127.0.0.1:1", template: nil, recoveryTemplate: nil)
        #expect(cache.renderer(for: plain).text([fields]).contains("Alarm cpu-high: Firing"))
        #expect(cache.count == 1)
    }

    @Test func builtInMessagesCoverEveryNoticeKind() {
        let r = NoticeRenderer(template: nil, recoveryTemplate: nil)
        let test = Notice.test(TestNotice(endpointUuid: "ep-1", requestedBy: "admin", time: SenderFixture.time))
        let alarm = NoticeFields(SenderFixture.alarm(), idempotencyKey: "k1")
        let event = NoticeFields(SenderFixture.event(), idempotencyKey: "k2")
        let testFields = NoticeFields(test, idempotencyKey: "k3")
        #expect(r.subject([alarm]) == "[Important] cpu-high Firing: CPUAverageUsedUtilization 91.5 (>= 80) on vm-1")
        #expect(r.subject([event]) == "[Normal] VMStateChanged on vm-2 (vm-state)")
        #expect(r.subject([testFields]) == "Test notification for endpoint ep-1")
        #expect(r.text([event]).contains("Labels:       NewState=Stopped, OldState=Running, VMUuid=vm-2"))
        #expect(r.text([testFields]).contains("requested by admin at 2025-11-21T10:31:01.123Z"))
        #expect(r.markdown([alarm]).contains("- **Value**: **91.5**"))
        #expect(r.html([alarm, event]).contains("<h2>Stratus: 2 notifications (1 alarm, 1 event)</h2>"))
        #expect(testFields["NOTIFICATION_TYPE"] == "Test" && testFields["TEST_REQUESTED_BY"] == "admin")
        #expect(Set(testFields.values.keys) == Set(NoticeFields.testKeys))
        #expect(Set(alarm.values.keys) == Set(NoticeFields.alarmKeys))
        #expect(Set(event.values.keys) == Set(NoticeFields.eventKeys))
    }

    @Test func numbersAndTimesAreFormattedAsDocumented() {
        #expect(NoticeFields.number(80) == "80")
        #expect(NoticeFields.number(91.5) == "91.5")
        #expect(NoticeFields.number(-0.25) == "-0.25")
        #expect(NoticeFields.number(.nan) == "NaN")
        #expect(NoticeFields.number(.infinity) == "+Inf")
        let missing = NoticeFields(SenderFixture.alarm(value: nil), idempotencyKey: nil)
        #expect(missing["ALARM_CURRENT_VALUE"] == "")
        #expect(missing["IDEMPOTENCY_KEY"] == "")
        // Against Foundation's formatter, not our own arithmetic.
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        for ms: Int64 in [0, 1, 999, 1_000, SenderFixture.time, 4_102_444_800_000 - 1] {
            #expect(NoticeFields.rfc3339(ms) == f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)))
        }
    }

    @Test func theEndpointSenderRoutesByConfig() async throws {
        let http = try ReceiverProcess.http()
        defer { http.stop() }
        let ding = try ReceiverProcess.http(["--dingtalk"])
        defer { ding.stop() }
        let sender = EndpointSender()
        #expect(await sender.deliver(SenderFixture.attempt(SenderFixture.http(http.url), [SenderFixture.alarm()])) == .delivered)
        #expect(await sender.deliver(SenderFixture.attempt(SenderFixture.dingTalk(ding.url), [SenderFixture.alarm()])) == .delivered)
        #expect((try http.records().first?["json"] as? [String: String])?["ALARM_NAME"] == "cpu-high")
        #expect((try ding.records().first?["json"] as? [String: Any])?["msgtype"] as? String == "markdown")
        #expect(await sender.deliver(DeliveryAttempt(endpoint: SenderFixture.http(http.url), notices: [], idempotencyKeys: [])).isPermanentFailure)
    }
}
