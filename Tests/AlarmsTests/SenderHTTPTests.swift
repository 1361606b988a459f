import Alarms
import Foundation
import Testing

/// The HTTP sender against the real `http_receiver.py`, which verifies the HMAC itself.
@Suite struct SenderHTTPTests {
    @Test func flatKeysArriveSignedWithTheIdempotencyKeyAndBasicAuth() async throws {
        let receiver = try ReceiverProcess.http(["--secret", "s3cret"])
        defer { receiver.stop() }
        let endpoint = SenderFixture.http(receiver.url + "/hook", username: "alice", password: "pw:with:colons", secret: "s3cret")
        let attempt = SenderFixture.attempt(endpoint, [SenderFixture.alarm()])

        let result = await HTTPNotificationSender().deliver(attempt)
        #expect(result == .delivered)
        let records = try receiver.records()
        try #require(records.count == 1)
        let r = records[0]
        #expect(r["path"] as? String == "/hook")
        #expect(r["hmac_ok"] as? Bool == true)
        #expect(r["idempotency_key"] as? String == "alarm:alarm-cpu-high:HostUuid=host-1,VMUuid=vm-1:Firing:1763721061123@ep-http")
        #expect(r["basic_auth"] as? [String] == ["alice", "pw:with:colons"])
        let body = try #require(r["json"] as? [String: String])
        for key in NoticeFields.alarmKeys { #expect(body[key] != nil, "missing \(key)") }
        #expect(body["ALARM_NAME"] == "cpu-high")
        #expect(body["ALARM_UUID"] == "alarm-cpu-high")
        #expect(body["ALARM_NAMESPACE"] == "ZStack/VM")
        #expect(body["ALARM_METRIC"] == "CPUAverageUsedUtilization")
        #expect(body["ALARM_THRESHOLD"] == "80")
        #expect(body["ALARM_CURRENT_VALUE"] == "91.5")
        #expect(body["ALARM_COMPARISON_OPERATOR"] == "GreaterThanOrEqualTo")
        #expect(body["ALARM_PREVIOUS_STATUS"] == "OK")
        #expect(body["ALARM_CURRENT_STATUS"] == "Alarm")
        #expect(body["ALARM_EMERGENCY_LEVEL"] == "Important")
        #expect(body["ALARM_TIME"] == "1763721061123")
        #expect(body["ALARM_TIME_TEXT"] == "2025-11-21T10:31:01.123Z")
        #expect(body["ALARM_RESOURCE_ID"] == "vm-1")
        #expect(body["ALARM_NOTIFICATION_KIND"] == "Firing")
        #expect(body["IDEMPOTENCY_KEY"] == r["idempotency_key"] as? String)
        let labels = try JSONSerialization.jsonObject(with: Data(try #require(body["ALARM_LABELS"]).utf8)) as? [String: String]
        #expect(labels == ["VMUuid": "vm-1", "HostUuid": "host-1"])
        #expect(body["MESSAGE"]?.contains("cpu-high") == true)
    }

    @Test func aBodySignedWithAnotherSecretFailsTheReceiversCheck() async throws {
        let receiver = try ReceiverProcess.http(["--secret", "right"])
        defer { receiver.stop() }
        let result = await HTTPNotificationSender().deliver(SenderFixture.attempt(SenderFixture.http(receiver.url, secret: "wrong"), [SenderFixture.alarm()]))
        #expect(result == .delivered)
        let r = try #require(try receiver.records().first)
        #expect(r["hmac_ok"] as? Bool == false)
        #expect(r["basic_auth"] is NSNull)
    }

    @Test func theSignatureMatchesOpenSSLForTheSameBody() throws {
        // Independent of our HMAC code: `openssl dgst -sha256 -hmac <key>` over the same bytes.
        let body = Array("{\"ALARM_NAME\":\"cpu ≥ 80 %\"}".utf8)
        let openssl = try ReceiverProcess.run("/usr/bin/env", ["openssl", "dgst", "-sha256", "-hmac", "k€y", "-r"], stdin: body)
        try #require(openssl.status == 0)
        let hex = String(decoding: openssl.stdout, as: UTF8.self).split(separator: " ").first.map(String.init)
        #expect(NotificationSignature.httpSignature(secret: "k€y", body: body) == "sha256=" + (hex ?? "?"))
    }

    @Test func eventNoticesCarryTheEventKeys() async throws {
        let receiver = try ReceiverProcess.http()
        defer { receiver.stop() }
        #expect(await HTTPNotificationSender().deliver(SenderFixture.attempt(SenderFixture.http(receiver.url), [SenderFixture.event()])) == .delivered)
        let r = try #require(try receiver.records().first)
        let body = try #require(r["json"] as? [String: String])
        for key in NoticeFields.eventKeys { #expect(body[key] != nil, "missing \(key)") }
        #expect(body["EVENT_NAME"] == "VMStateChanged")
        #expect(body["EVENT_RESOURCE_ID"] == "vm-2")
        #expect(body["EVENT_SUBSCRIPTION_UUID"] == "sub-1")
        #expect(body["NOTIFICATION_TYPE"] == "Event")
        #expect(body["ALARM_NAME"] == nil)
        #expect(r["hmac_ok"] is NSNull)  // no secret configured: no header to check
        #expect((r["headers"] as? [String: String])?["X-Stratus-Signature"] == nil)
    }

    @Test func severalNoticesAreOneArrayWithABatchKey() async throws {
        let receiver = try ReceiverProcess.http(["--secret", "x"])
        defer { receiver.stop() }
        let attempt = SenderFixture.attempt(SenderFixture.http(receiver.url, secret: "x"), [SenderFixture.alarm(), SenderFixture.event()])
        #expect(await HTTPNotificationSender().deliver(attempt) == .delivered)
        let r = try #require(try receiver.records().first)
        #expect(r["hmac_ok"] as? Bool == true)
        let array = try #require(r["json"] as? [[String: String]])
        #expect(array.map { $0["IDEMPOTENCY_KEY"] } == attempt.idempotencyKeys)
        #expect((r["idempotency_key"] as? String)?.hasPrefix("batch-sha256:") == true)
    }

    @Test func alertmanagerFormatSendsAWebhookV4Message() async throws {
        let receiver = try ReceiverProcess.http(["--secret", "am"])
        defer { receiver.stop() }
        let endpoint = SenderFixture.http(receiver.url, secret: "am", format: .alertmanager)
        let firing = SenderFixture.alarm(.firing, labels: ["VMUuid": "vm-1"])
        let recovered = SenderFixture.alarm(.recovery, value: 12, labels: ["VMUuid": "vm-2"], time: SenderFixture.time + 60_000)
        let sender = HTTPNotificationSender(externalURL: "http://stratus.example:8080/")
        #expect(await sender.deliver(SenderFixture.attempt(endpoint, [firing, recovered])) == .delivered)

        let r = try #require(try receiver.records().first)
        #expect(r["hmac_ok"] as? Bool == true)
        let m = try #require(r["json"] as? [String: Any])
        #expect(m["version"] as? String == "4")
        #expect(m["status"] as? String == "firing")
        #expect(m["receiver"] as? String == "webhook")
        #expect(m["externalURL"] as? String == "http://stratus.example:8080/")
        #expect(m["groupKey"] as? String == "{}:{alertname=\"cpu-high\"}")
        #expect(m["groupLabels"] as? [String: String] == ["alertname": "cpu-high"])
        #expect(m["truncatedAlerts"] as? Int == 0)
        let common = try #require(m["commonLabels"] as? [String: String])
        #expect(common["alertname"] == "cpu-high" && common["severity"] == "Important" && common["VMUuid"] == nil)
        #expect(m["commonAnnotations"] is [String: String])
        let alerts = try #require(m["alerts"] as? [[String: Any]])
        try #require(alerts.count == 2)
        #expect(alerts.map { $0["status"] as? String } == ["firing", "resolved"])
        #expect((alerts[0]["labels"] as? [String: String])?["VMUuid"] == "vm-1")
        #expect(alerts[0]["startsAt"] as? String == "2025-11-21T10:31:01.123Z")
        #expect(alerts[0]["endsAt"] as? String == "0001-01-01T00:00:00Z")
        #expect(alerts[1]["endsAt"] as? String == "2025-11-21T10:32:01.123Z")
        #expect(alerts[0]["generatorURL"] as? String == "http://stratus.example:8080/alarms/alarm-cpu-high")
        let annotations = try #require(alerts[1]["annotations"] as? [String: String])
        #expect(annotations["idempotencyKey"] == SenderFixture.attempt(endpoint, [recovered]).idempotencyKeys[0])
        #expect(annotations["value"] == "12")
        for a in alerts {
            let fp = try #require(a["fingerprint"] as? String)
            #expect(fp.count == 16 && fp.allSatisfy(\.isHexDigit))
        }
        #expect(alerts[0]["fingerprint"] as? String != alerts[1]["fingerprint"] as? String)
    }

    @Test func fingerprintsMatchPrometheusFNV1a() throws {
        // Reference values from an independent Python FNV-1a over `name 0xff value 0xff`:
        // python3 -c 'h=0xcbf29ce484222325
        // for b in b"alertname\xffcpu\xff": h=((h^b)*0x100000001b3)%2**64
        // print("%016x"%h)'
        #expect(AlertmanagerMessage.fingerprint([:]) == "cbf29ce484222325")
        let script = """
            h=0xcbf29ce484222325
            for b in b"alertname\\xffcpu\\xffseverity\\xffImportant\\xff": h=((h^b)*0x100000001b3)%2**64
            print("%016x"%h)
            """
        let py = try ReceiverProcess.run("/usr/bin/env", ["python3", "-c", script])
        try #require(py.status == 0)
        let expected = String(decoding: py.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(AlertmanagerMessage.fingerprint(["severity": "Important", "alertname": "cpu"]) == expected)
    }

    @Test func statusesAndTransportErrorsAreClassified() async throws {
        let sender = HTTPNotificationSender(timeoutMs: 5_000)
        for (status, retryable) in [(503, true), (500, true), (429, true), (408, true), (404, false), (400, false), (401, false)] {
            let receiver = try ReceiverProcess.http(["--status", "\(status)"])
            defer { receiver.stop() }
            let result = await sender.deliver(SenderFixture.attempt(SenderFixture.http(receiver.url), [SenderFixture.alarm()]))
            guard case let .failed(reason, isRetryable) = result else {
                Issue.record("status \(status) was \(result)")
                continue
            }
            #expect(isRetryable == retryable, "status \(status)")
            #expect(reason.contains("HTTP \(status)"))
        }
        // Connection refused: a port that had a receiver a moment ago.
        let gone = try ReceiverProcess.http()
        gone.stop()
        let refused = await sender.deliver(SenderFixture.attempt(SenderFixture.http(gone.url), [SenderFixture.alarm()]))
        #expect(refused.isRetryableFailure)
        // A URL curl will not take is permanent.
        let bad = await sender.deliver(SenderFixture.attempt(SenderFixture.http("ftp://127.0.0.1/x"), [SenderFixture.alarm()]))
        #expect(bad.isPermanentFailure)
    }

    @Test func aRetryAfterFailureCarriesTheSameIdempotencyKey() async throws {
        let receiver = try ReceiverProcess.http(["--fail-first", "1"])
        defer { receiver.stop() }
        let attempt = SenderFixture.attempt(SenderFixture.http(receiver.url), [SenderFixture.alarm()])
        let sender = HTTPNotificationSender()
        #expect(await sender.deliver(attempt).isRetryableFailure)
        #expect(await sender.deliver(attempt) == .delivered)
        let keys = try receiver.records().map { $0["idempotency_key"] as? String }
        #expect(keys.count == 2 && keys[0] == keys[1] && keys[0] == attempt.idempotencyKeys[0])
        #expect(try receiver.records().map { $0["replied"] as? Int } == [503, 200])
    }

    @Test func aSenderGivenAnotherEndpointTypeFailsPermanently() async {
        let result = await HTTPNotificationSender().deliver(SenderFixture.attempt(SenderFixture.dingTalk("http://127.0.0.1:1"), [SenderFixture.alarm()]))
        #expect(result.isPermanentFailure)
    }
}

extension DeliveryResult {
    var isRetryableFailure: Bool { if case .failed(_, true) = self { true } else { false } }
    var isPermanentFailure: Bool { if case .failed(_, false) = self { true } else { false } }
}
