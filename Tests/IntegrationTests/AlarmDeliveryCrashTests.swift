import Alarms
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Delivery that loses nothing, against real processes: `stratus serve` (killed with SIGKILL and
/// restarted on the same data dir), the HTTP receiver `Tests/receivers/http_receiver.py`, and the
/// alarm store file read beside the server.
@Suite(.serialized) struct AlarmDeliveryCrashTests {
    static let password = "alarm-it-pw"
    static let receiverScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("receivers/http_receiver.py").path

    /// One test's processes and files; everything it started is SIGKILLed by `stop()`.
    final class Rig: @unchecked Sendable {  // used by one test task at a time; the lock-free fields are set before sharing
        let dir = StratusProcess.tempDir()
        var data: String { dir.appendingPathComponent("data").path }
        var receiverOut: String { dir.appendingPathComponent("received.jsonl").path }
        let port = StratusProcess.freePort()
        let receiverPort = StratusProcess.freePort()
        var processes: [Process] = []
        var base: String { "http://127.0.0.1:\(port)" }

        func stop() {
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            try? FileManager.default.removeItem(at: dir)
        }

        /// The alarm store file `serve` uses (created now if it does not exist yet).
        func store() throws -> SQLiteAlarmStore {
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            return try SQLiteAlarmStore(path: data + "/alarms.sqlite")
        }

        /// Starts serve and waits until it answers.
        @discardableResult
        func startServe() async throws -> Process {
            let (p, _, _) = try StratusProcess.start(
                ["serve", "--no-demo", "--no-local-host", "--interval", "1", "--alarm-interval", "1", "--data-dir", data, "--port", "\(port)"],
                env: ["STRATUS_ADMIN_PASSWORD": AlarmDeliveryCrashTests.password])
            processes.append(p)
            guard await StratusProcess.waitHealthy(base + "/healthz") else { throw TestFailure("serve did not come up on \(base)") }
            return p
        }

        func killServe(_ p: Process) {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }

        /// Starts the receiver on `receiverPort` and waits for its `listening` line.
        func startReceiver(_ extra: [String] = []) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", AlarmDeliveryCrashTests.receiverScript, "--port", "\(receiverPort)", "--out", receiverOut] + extra
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            processes.append(p)
            var seen = Data()
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline, !String(decoding: seen, as: UTF8.self).contains("listening") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen.append(chunk)
            }
            guard String(decoding: seen, as: UTF8.self).contains("listening") else {
                throw TestFailure("http_receiver.py did not start: \(String(decoding: seen, as: UTF8.self))")
            }
        }

        /// The requests the receiver recorded.
        func received() -> [[String: Any]] {
            guard let text = try? String(contentsOfFile: receiverOut, encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        func request(_ method: String, _ path: String, headers: [String: String] = [:], body: String? = nil) async throws -> (Int, Data) {
            var r = URLRequest(url: URL(string: base + path)!)
            r.httpMethod = method
            for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
            if let body { r.httpBody = Data(body.utf8) }
            let (data, response) = try await URLSession.shared.data(for: r)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        }

        func login() async throws -> String {
            let (_, data) = try await request("PUT", "/zstack/v1/accounts/login",
                                              body: #"{"logInByAccount":{"accountName":"admin","password":"\#(AlarmDeliveryCrashTests.password)"}}"#)
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            return try #require((json?["inventory"] as? [String: Any])?["uuid"] as? String)
        }

        /// Puts one sample of the custom metric `ItTest/App` `Load` at now.
        func putLoad(_ value: Double, session: String) async throws {
            let (status, body) = try await request(
                "POST", "/zstack/v1/zwatch/metrics", headers: ["Authorization": "OAuth \(session)"],
                body: #"{"params":{"namespace":"ItTest/App","data":[{"metricName":"Load","value":\#(value),"labels":{"App":"shop"}}]}}"#)
            guard status == 200 else { throw TestFailure("PutMetricData answered \(status): \(String(decoding: body, as: UTF8.self))") }
        }

        /// A topic, an HTTP endpoint at the receiver's port, and the alarm `Load >= 10 for 10 s` on it.
        func defineAlarm() async throws -> (endpoint: SNSEndpoint, alarm: AlarmRule) {
            let store = try store()
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let topic = try await store.createTopic(SNSTopic(uuid: "", name: "it-topic"), at: now)
            let endpoint = try await store.createEndpoint(
                SNSEndpoint(uuid: "", name: "it-hook", config: .http(HTTPEndpointConfig(url: "http://127.0.0.1:\(receiverPort)/hook"))), at: now)
            try await store.subscribe(endpointUuid: endpoint.uuid, topicUuid: topic.uuid)
            let alarm = try await store.createAlarm(
                AlarmRule(uuid: "", name: "shop load", namespace: "ItTest/App", metricName: "Load", comparisonOperator: .greaterThanOrEqualTo,
                          threshold: 10, period: 10, actions: [topic.uuid]), at: now)
            return (endpoint, alarm)
        }

        /// Polls the outbox (read beside the server) until `condition` holds for the endpoint's entries.
        func waitOutbox(_ endpoint: String, timeout: Double, _ what: String,
                        until condition: ([OutboxEntry]) -> Bool) async throws -> [OutboxEntry] {
            let store = try store()
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let entries = try await store.outbox(OutboxQuery(endpointUuid: endpoint, limit: 100))
                if condition(entries) { return entries }
                try await Task.sleep(for: .milliseconds(100))
            }
            let entries = try await store.outbox(OutboxQuery(endpointUuid: endpoint, limit: 100))
            throw TestFailure("timed out after \(timeout) s waiting for \(what); outbox: \(entries.map { "\($0.idempotencyKey) \($0.status) attempts=\($0.attempts) \($0.lastError ?? "")" })")
        }

        func waitReceived(count: Int, timeout: Double) async throws -> [[String: Any]] {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let r = received()
                if r.count >= count { return r }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw TestFailure("the receiver got \(received().count) requests within \(timeout) s, expected \(count)")
        }
    }

    @Test func aNotificationPendingAtKill9IsDeliveredAfterRestartWithTheSameKey() async throws {
        let rig = Rig()
        defer { rig.stop() }
        let (endpoint, alarm) = try await rig.defineAlarm()
        let serve = try await rig.startServe()
        try await rig.putLoad(50, session: try await rig.login())

        // Nothing listens at the endpoint yet: the firing notification fails and stays pending.
        let pending = try await rig.waitOutbox(endpoint.uuid, timeout: 60, "a pending entry with a failed attempt") {
            $0.count == 1 && $0[0].status == .pending && $0[0].attempts >= 1
        }
        let key = pending[0].idempotencyKey
        #expect(key.hasPrefix("alarm:\(alarm.uuid):"))
        #expect(key.contains(":Firing:"))
        rig.killServe(serve)

        try rig.startReceiver()
        try await rig.startServe()
        let delivered = try await rig.waitOutbox(endpoint.uuid, timeout: 90, "the entry delivered after the restart") {
            $0.contains { $0.status == .delivered }
        }
        // Let any late repeat arrive before counting.
        try await Task.sleep(for: .seconds(2))
        let got = rig.received()
        #expect(!got.isEmpty)
        #expect(Set(got.compactMap { $0["idempotency_key"] as? String }) == [key])
        #expect(got.allSatisfy { ($0["json"] as? [String: Any])?["ALARM_UUID"] as? String == alarm.uuid })
        // One transition, one notification: no other entry was created for the endpoint.
        #expect(delivered.map(\.idempotencyKey) == [key])
        let history = try await rig.store().history(AlarmHistoryQuery(alarmUuid: alarm.uuid))
        #expect(history.filter { $0.currentStatus == .alarm }.count == 1)
    }

    @Test func aKillDuringTheRequestLeadsToADeliveryAgainWithTheSameKey() async throws {
        let rig = Rig()
        defer { rig.stop() }
        let (endpoint, _) = try await rig.defineAlarm()
        // The receiver records each request, then waits 6 s before answering 200.
        try rig.startReceiver(["--delay-ms", "6000"])
        let serve = try await rig.startServe()
        try await rig.putLoad(50, session: try await rig.login())

        let first = try await rig.waitReceived(count: 1, timeout: 60)
        // The request is in flight (its answer is seconds away): kill the server now.
        rig.killServe(serve)
        let entries = try await rig.waitOutbox(endpoint.uuid, timeout: 5, "the entry still pending after the kill") {
            $0.count == 1 && $0[0].status == .pending
        }
        let key = entries[0].idempotencyKey
        #expect(first[0]["idempotency_key"] as? String == key)

        try await rig.startServe()
        _ = try await rig.waitOutbox(endpoint.uuid, timeout: 90, "the entry delivered after the restart") {
            $0.count == 1 && $0[0].status == .delivered
        }
        let got = rig.received()
        // At least once: sent again after the restart, always with the same key.
        #expect(got.count >= 2)
        #expect(Set(got.compactMap { $0["idempotency_key"] as? String }) == [key])
    }

    @Test func aVMStateChangeReachesTheEndpointThroughAnEventSubscription() async throws {
        let rig = Rig()
        defer { rig.stop() }
        let (endpoint, _) = try await rig.defineAlarm()
        let store = try rig.store()
        let topic = try #require(try await store.topics().first)
        let sub = try await store.createEventSubscription(
            EventSubscription(uuid: "", name: "vm stopped", namespace: "ZStack/VM", eventName: "VMStateChanged",
                              labels: [AlarmLabel(key: "NewState", value: "Stopped")], actions: [topic.uuid]), at: 0)
        try rig.startReceiver()
        try await rig.startServe()
        let session = try await rig.login()

        // An agent host reports a VM running, then stopped: the inventory writes VMStateChanged.
        let (status, body) = try await rig.request(
            "POST", "/zstack/v1/hosts/agents", headers: ["Authorization": "OAuth \(session)"],
            body: #"{"params":{"name":"kvm-it","managementIp":"127.0.0.1","cpuNum":2,"memorySize":4294967296}}"#)
        try #require(status == 200, "\(String(decoding: body, as: UTF8.self))")
        let inventory = try #require((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["inventory"] as? [String: Any])
        let token = try #require(inventory["agentToken"] as? String)
        let vm = "0123456789abcdef0123456789abcdef"
        for state in ["Running", "Stopped"] {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let (s, b) = try await rig.request(
                "PUT", "/zstack/v1/agent/vms", headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
                body: #"{"time":\#(now),"vms":[{"uuid":"\#(vm)","name":"it-vm","state":"\#(state)","cpuNum":1,"memorySize":536870912}]}"#)
            try #require((200..<300).contains(s), "\(String(decoding: b, as: UTF8.self))")
            try await Task.sleep(for: .milliseconds(50))
        }
        let got = try await rig.waitReceived(count: 1, timeout: 30)
        try await Task.sleep(for: .seconds(2))
        let events = rig.received().filter { ($0["idempotency_key"] as? String)?.hasPrefix("event:\(sub.uuid):") == true }
        #expect(events.count == 1)
        let json = try #require(got.first?["json"] as? [String: Any])
        #expect(json["EVENT_NAME"] as? String == "VMStateChanged")
        #expect(json["EVENT_RESOURCE_ID"] as? String == vm)
        _ = endpoint
    }
}
