import Alarms
import Foundation
import Testing

/// A recovery carries its episode start (`AlarmNotice.episodeStart`): Alertmanager v4 bodies get
/// the true `startsAt`, ZStack bodies `ALARM_STARTS_AT`; checked at a real local HTTP receiver.
@Suite struct SenderEpisodeStartTests {
    static let fired = SenderFixture.time
    static let recovered = SenderFixture.time + 5 * 60_000 + 30_000

    static func recovery(episodeStart: Int64?) -> Notice {
        guard case var .alarm(a) = SenderFixture.alarm(.recovery, value: 12, labels: ["VMUuid": "vm-2"], time: recovered) else {
            fatalError("SenderFixture.alarm makes alarm notices")
        }
        a.episodeStart = episodeStart
        return .alarm(a)
    }

    @Test func alertmanagerRecoveryHasTheEpisodeStartAsStartsAt() async throws {
        let receiver = try ReceiverProcess.http(["--secret", "am"])
        defer { receiver.stop() }
        let endpoint = SenderFixture.http(receiver.url, secret: "am", format: .alertmanager)
        let sender = HTTPNotificationSender(externalURL: "http://stratus.example:8080/")
        #expect(await sender.deliver(SenderFixture.attempt(endpoint, [Self.recovery(episodeStart: Self.fired)])) == .delivered)
        let r = try #require(try receiver.records().first)
        #expect(r["hmac_ok"] as? Bool == true)
        let alert = try #require(((r["json"] as? [String: Any])?["alerts"] as? [[String: Any]])?.first)
        #expect(alert["status"] as? String == "resolved")
        #expect(alert["startsAt"] as? String == "2025-11-21T10:31:01.123Z")
        #expect(alert["endsAt"] as? String == "2025-11-21T10:36:31.123Z")
    }

    @Test func zstackBodyCarriesAlarmStartsAtAndOldNoticesFallBackToTheirTime() async throws {
        let receiver = try ReceiverProcess.http([])
        defer { receiver.stop() }
        let endpoint = SenderFixture.http(receiver.url)
        let sender = HTTPNotificationSender(externalURL: "")
        // A notice queued by an older version: its outbox JSON has no `episodeStart`.
        let json = try JSONEncoder().encode(Self.recovery(episodeStart: Self.fired))
        var object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        var alarm = try #require(object["alarm"] as? [String: Any])
        var inner = try #require(alarm["_0"] as? [String: Any])
        #expect(inner["episodeStart"] as? Int64 == Self.fired)
        inner["episodeStart"] = nil
        alarm["_0"] = inner
        object["alarm"] = alarm
        let legacy = try JSONDecoder().decode(Notice.self, from: try JSONSerialization.data(withJSONObject: object))
        guard case let .alarm(old) = legacy else { Issue.record("not an alarm"); return }
        #expect(old.episodeStart == nil && old.startsAt == Self.recovered)

        for notice in [Self.recovery(episodeStart: Self.fired), legacy] {
            #expect(await sender.deliver(SenderFixture.attempt(endpoint, [notice])) == .delivered)
        }
        let bodies = try receiver.records().compactMap { $0["json"] as? [String: String] }
        try #require(bodies.count == 2)
        #expect(bodies[0]["ALARM_STARTS_AT"] == String(Self.fired) && bodies[0]["ALARM_TIME"] == String(Self.recovered))
        #expect(bodies[0]["ALARM_STARTS_AT_TEXT"] == "2025-11-21T10:31:01.123Z")
        #expect(bodies[1]["ALARM_STARTS_AT"] == String(Self.recovered))
    }
}
