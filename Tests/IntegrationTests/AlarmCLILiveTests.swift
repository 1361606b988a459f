import Foundation
import GRDB
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `stratus alarm …` and `stratus sns …` as processes against a live `stratus serve` (real
/// processes, real HTTP receiver): output checked, then the state through the REST API, the test
/// notification at the receiver (HMAC with the secret given on the command line) and the secret's
/// absence from alarms.sqlite.
@Suite(.serialized) struct AlarmCLILiveTests {
    typealias Rig = AlarmDeliveryCrashTests.Rig

    /// Runs `stratus <args>` against the rig's server; returns stdout, failing on a non-zero exit.
    func cli(_ rig: Rig, _ args: [String], expectFailure: Bool = false) throws -> StratusProcess.Result {
        let r = try StratusProcess.run(args, env: ["STRATUS_URL": rig.base, "STRATUS_PASSWORD": AlarmDeliveryCrashTests.password])
        if expectFailure {
            #expect(r.status != 0, "stratus \(args.joined(separator: " ")) succeeded: \(r.stdout)")
        } else if r.status != 0 {
            throw TestFailure("stratus \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)")
        }
        return r
    }

    /// The 32-hex-digit uuid after `prefix` in `text`.
    func uuid(after prefix: String, in text: String) throws -> String {
        guard let r = text.range(of: prefix) else { throw TestFailure("no '\(prefix)' in: \(text)") }
        let u = String(text[r.upperBound...].prefix(32))
        guard u.count == 32, u.allSatisfy(\.isHexDigit) else { throw TestFailure("no uuid after '\(prefix)' in: \(text)") }
        return u
    }

    func get(_ rig: Rig, _ path: String, session: String) async throws -> [String: Any] {
        let (status, body) = try await rig.request("GET", path, headers: ["Authorization": "OAuth \(session)"])
        guard status == 200 else { throw TestFailure("GET \(path) answered \(status): \(String(decoding: body, as: UTF8.self))") }
        return try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
    }

    @Test func topicEndpointSubscribeAlarmCreateAndListThroughTheCLI() async throws {
        let rig = Rig()
        defer { rig.stop() }
        let secret = "cli-it-hmac-secret-7f3a"
        try rig.startReceiver(["--secret", secret])
        try await rig.startServe()

        let topicOut = try cli(rig, ["sns", "topic", "create", "cli-ops", "--description", "from the CLI test"]).stdout
        let topic = try uuid(after: "created topic ", in: topicOut)
        #expect(topicOut.contains("(cli-ops)"))

        let hookURL = "http://127.0.0.1:\(rig.receiverPort)/hook"
        let endpointOut = try cli(rig, ["sns", "endpoint", "create-http", "--name", "cli-hook", "--endpoint-url", hookURL,
                                        "--secret", secret]).stdout
        let endpoint = try uuid(after: "created HTTP endpoint ", in: endpointOut)
        #expect(endpointOut.contains("(cli-hook)"))

        let subOut = try cli(rig, ["sns", "subscribe", "--topic", topic, "--endpoint", endpoint]).stdout
        #expect(subOut.contains("endpoint \(endpoint) subscribed to topic \(topic)"))

        let alarmOut = try cli(rig, ["alarm", "create", "--name", "cli-cpu", "--metric", "CPUAverageUsedUtilization",
                                     "--threshold", "85", "--period", "60", "--label", "VMUuid=~.*", "--level", "Emergent",
                                     "--topic", topic]).stdout
        let alarm = try uuid(after: "created alarm ", in: alarmOut)

        // `alarm list`: a row with the new alarm's uuid, name, metric, condition and level (besides the built-ins).
        let list = try cli(rig, ["alarm", "list"]).stdout
        let row = try #require(list.split(separator: "\n").first { $0.contains(alarm) }, "alarm list: \(list)")
        for cell in ["cli-cpu", "ZStack/VM CPUAverageUsedUtilization", "GreaterThanOrEqualTo 85 for 60s", "Emergent", "Enabled"] {
            #expect(row.contains(cell), "'\(cell)' missing in: \(row)")
        }
        #expect(list.split(separator: "\n").first?.contains("UUID") == true)
        let filtered = try cli(rig, ["alarm", "list", "--q", "name=cli-cpu"]).stdout
        #expect(filtered.split(separator: "\n").filter { $0.contains("CPUAverageUsedUtilization") }.count == 1)

        // The API holds what the commands said.
        let session = try await rig.login()
        let a = try #require(try await get(rig, "/zstack/v1/zwatch/alarms/\(alarm)", session: session)["inventory"] as? [String: Any])
        #expect(a["name"] as? String == "cli-cpu" && a["threshold"] as? Double == 85 && a["period"] as? Int == 60)
        #expect(a["actions"] as? [String] == [topic] && a["emergencyLevel"] as? String == "Emergent")
        let labels = try #require(a["labels"] as? [[String: String]])
        #expect(labels == [["key": "VMUuid", "op": "=~", "value": ".*"]])
        let t = try #require(try await get(rig, "/zstack/v1/sns/topics/\(topic)", session: session)["inventory"] as? [String: Any])
        #expect(t["name"] as? String == "cli-ops" && t["endpoints"] as? [String] == [endpoint])
        let e = try #require(try await get(rig, "/zstack/v1/sns/application-endpoints/\(endpoint)", session: session)["inventory"] as? [String: Any])
        #expect(e["url"] as? String == hookURL && e["secret"] as? String == "******")

        // The test notification is signed with the secret the CLI set (stored sealed, opened to send).
        let testOut = try cli(rig, ["sns", "endpoint", "test", endpoint, "--wait", "30"]).stdout
        #expect(testOut.contains("status: Delivered"))
        let got = try await rig.waitReceived(count: 1, timeout: 10)
        #expect(got[0]["hmac_ok"] as? Bool == true)
        #expect((got[0]["json"] as? [String: Any])?["TEST_ENDPOINT_UUID"] as? String == endpoint)
        let configs = try await DatabaseQueue(path: rig.data + "/alarms.sqlite").read {
            try String.fetchAll($0, sql: "SELECT config FROM sns_endpoint")
        }
        #expect(configs.count == 1 && !configs[0].contains(secret) && configs[0].contains("enc:v1:"))

        // Bad input: one `error:` line naming the field, non-zero exit, nothing created.
        let bad = try cli(rig, ["alarm", "create", "--name", "bad", "--metric", "NoSuchMetric", "--threshold", "1"], expectFailure: true)
        #expect(bad.stderr.contains("error:") && bad.stderr.contains("metricName"))
        #expect(try !cli(rig, ["alarm", "list"]).stdout.contains(" bad "))
    }
}
