import Alarms
import Foundation
import StratusMetrics
import Testing

/// The DingTalk sender against `http_receiver.py`, which recomputes the robot signature itself.
@Suite struct SenderDingTalkTests {
    static let secret = "SEC0123456789abcdef+/="

    @Test func aSignedMarkdownMessageWithMentionsPassesTheReceiversCheck() async throws {
        let receiver = try ReceiverProcess.http(["--dingtalk-secret", Self.secret, "--dingtalk"])
        defer { receiver.stop() }
        let clock = ManualWallClock(start: 1_763_721_099_000)
        let endpoint = SenderFixture.dingTalk(receiver.url + "/robot/send?access_token=abc", secret: Self.secret,
                                              atMobiles: ["13800000001", "13900000002"], atAll: false)
        let result = await DingTalkSender(clock: clock).deliver(SenderFixture.attempt(endpoint, [SenderFixture.alarm()]))
        #expect(result == .delivered)

        let r = try #require(try receiver.records().first)
        #expect(r["dingtalk_sign_ok"] as? Bool == true)
        let query = try #require(r["query"] as? [String: String])
        #expect(query["access_token"] == "abc")
        #expect(query["timestamp"] == "1763721099000")
        let body = try #require(r["json"] as? [String: Any])
        #expect(body["msgtype"] as? String == "markdown")
        let markdown = try #require(body["markdown"] as? [String: String])
        #expect(markdown["title"]?.contains("cpu-high") == true)
        let text = try #require(markdown["text"])
        #expect(text.hasPrefix("### [Important] cpu-high: Firing"))
        #expect(text.contains("**91.5**"))
        #expect(text.contains("@13800000001") && text.contains("@13900000002"))
        let at = try #require(body["at"] as? [String: Any])
        #expect(at["atMobiles"] as? [String] == ["13800000001", "13900000002"])
        #expect(at["isAtAll"] as? Bool == false)
        #expect(r["idempotency_key"] as? String == SenderFixture.attempt(endpoint, [SenderFixture.alarm()]).idempotencyKeys[0])
    }

    @Test func aWrongSecretFailsTheReceiversCheck() async throws {
        let receiver = try ReceiverProcess.http(["--dingtalk-secret", Self.secret, "--dingtalk"])
        defer { receiver.stop() }
        let endpoint = SenderFixture.dingTalk(receiver.url + "/robot/send", secret: "SECother", atAll: true)
        #expect(await DingTalkSender().deliver(SenderFixture.attempt(endpoint, [SenderFixture.event()])) == .delivered)
        let r = try #require(try receiver.records().first)
        #expect(r["dingtalk_sign_ok"] as? Bool == false)
        let at = try #require((r["json"] as? [String: Any])?["at"] as? [String: Any])
        #expect(at["isAtAll"] as? Bool == true)
    }

    @Test func theSignMatchesAnOpenSSLComputation() throws {
        // base64(HmacSHA256(secret, "<ts>\n<secret>")) computed by openssl, not by our code.
        let ts: Int64 = 1_700_000_000_000
        let message = Array("\(ts)\n\(Self.secret)".utf8)
        let mac = try ReceiverProcess.run("/usr/bin/env", ["openssl", "dgst", "-sha256", "-hmac", Self.secret, "-binary"], stdin: message)
        try #require(mac.status == 0 && mac.stdout.count == 32)
        let b64 = try ReceiverProcess.run("/usr/bin/env", ["openssl", "base64", "-A"], stdin: mac.stdout)
        let expected = String(decoding: b64.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(NotificationSignature.dingTalkSign(secret: Self.secret, timestamp: ts) == expected)
        let url = NotificationSignature.signedDingTalkURL("https://oapi.dingtalk.com/robot/send?access_token=t", secret: Self.secret, timestamp: ts)
        let encoded = expected.replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "/", with: "%2F")
            .replacingOccurrences(of: "=", with: "%3D")
        #expect(url == "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=\(ts)&sign=\(encoded)")
    }

    @Test func bodiesOverTwentyThousandBytesAreCutToValidJSONWithTheMentionsKept() async throws {
        let receiver = try ReceiverProcess.http(["--dingtalk"])
        defer { receiver.stop() }
        // Multi-byte characters and characters JSON escapes, so a byte-wise cut would break UTF-8 or JSON.
        let huge = String(repeating: "告警\"\\\n", count: 6_000)
        let notice = SenderFixture.alarm(labels: ["VMUuid": "vm-1", "Note": huge])
        let endpoint = SenderFixture.dingTalk(receiver.url, atMobiles: ["13800000001"])
        let attempt = SenderFixture.attempt(endpoint, [notice])
        let result = await DingTalkSender().deliver(attempt)
        #expect(result == .delivered, "\(result)")

        let r = try #require(try receiver.records().first)
        // The instance key holds the huge label: the header carries its hash instead.
        #expect(r["idempotency_key"] as? String == "sha256:" + NotificationSignature.hex(NotificationSignature.sha256(Array(attempt.idempotencyKeys[0].utf8))))
        let headers = try #require(r["headers"] as? [String: String])
        let length = try #require(Int(headers["Content-Length"] ?? ""))
        #expect(length <= 20_000)
        #expect(length > 19_000)  // cut close to the limit, not emptied
        let text = try #require(((r["json"] as? [String: Any])?["markdown"] as? [String: String])?["text"])
        #expect(text.contains("truncated by Stratus"))
        #expect(text.hasSuffix("@13800000001"))
        #expect(!text.contains("\u{FFFD}"))  // the receiver decoded valid UTF-8
    }

    @Test func theCapHoldsForAnyLimitAndSmallBodiesAreUntouched() throws {
        let text = String(repeating: "é€😀\"\n", count: 3_000)
        for limit in [600, 1_000, 4_321, 20_000] {
            let body = try DingTalkSender.body(title: "t", text: text, atMobiles: ["1"], atAll: false, maxBytes: limit)
            #expect(body.count <= limit)
            let parsed = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
            #expect(parsed?["msgtype"] as? String == "markdown")
        }
        let small = try DingTalkSender.body(title: "t", text: "hello", atMobiles: [], atAll: false, maxBytes: 20_000)
        let parsed = try JSONSerialization.jsonObject(with: Data(small)) as? [String: Any]
        #expect((parsed?["markdown"] as? [String: String])?["text"] == "hello")
    }

    @Test func errcodesAreFailures() async throws {
        for (code, retryable) in [(130_101, true), (310_000, false), (300_001, false)] {
            let receiver = try ReceiverProcess.http(["--errcode", "\(code)"])
            defer { receiver.stop() }
            let result = await DingTalkSender().deliver(SenderFixture.attempt(SenderFixture.dingTalk(receiver.url), [SenderFixture.alarm()]))
            guard case let .failed(reason, isRetryable) = result else {
                Issue.record("errcode \(code) was \(result)")
                continue
            }
            #expect(isRetryable == retryable, "errcode \(code)")
            #expect(reason.contains("errcode \(code)"))
        }
        let notJSON = try ReceiverProcess.http()  // answers `ok`, not DingTalk JSON
        defer { notJSON.stop() }
        #expect(await DingTalkSender().deliver(SenderFixture.attempt(SenderFixture.dingTalk(notJSON.url), [SenderFixture.alarm()])).isRetryableFailure)
        let badGateway = try ReceiverProcess.http(["--status", "502", "--dingtalk"])
        defer { badGateway.stop() }
        #expect(await DingTalkSender().deliver(SenderFixture.attempt(SenderFixture.dingTalk(badGateway.url), [SenderFixture.alarm()])).isRetryableFailure)
    }

    @Test func severalNoticesBecomeOneSummaryMessage() async throws {
        let receiver = try ReceiverProcess.http(["--dingtalk"])
        defer { receiver.stop() }
        let notices = [SenderFixture.alarm(name: "cpu-high"), SenderFixture.alarm(name: "mem-high"), SenderFixture.event()]
        let endpoint = SenderFixture.dingTalk(receiver.url)
        #expect(await DingTalkSender().deliver(SenderFixture.attempt(endpoint, notices)) == .delivered)
        let records = try receiver.records()
        try #require(records.count == 1)
        let markdown = try #require((records[0]["json"] as? [String: Any])?["markdown"] as? [String: String])
        #expect(markdown["title"] == "Stratus: 3 notifications (2 alarms, 1 event)")
        let text = try #require(markdown["text"])
        #expect(text.contains("cpu-high") && text.contains("mem-high") && text.contains("VMStateChanged"))
        #expect((records[0]["idempotency_key"] as? String)?.hasPrefix("batch-sha256:") == true)
    }
}
