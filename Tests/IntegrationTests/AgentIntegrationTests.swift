import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `stratus agent` against a real `stratus serve`: the manager is killed (SIGKILL) mid-stream and
/// restarted on the same data dir; the agent spools meanwhile and replays in order, so the host's
/// gauge has one point per grid second across the outage, none twice.
@Suite(.serialized) struct AgentIntegrationTests {
    static let password = "agent-it-pw"

    struct Manager {
        let base: String
        func request(_ method: String, _ path: String, session: String? = nil, body: String? = nil) async throws -> (Int, Data) {
            var r = URLRequest(url: URL(string: base + path)!)
            r.httpMethod = method
            if let session { r.setValue("OAuth \(session)", forHTTPHeaderField: "Authorization") }
            if let body { r.httpBody = Data(body.utf8) }
            let (data, response) = try await URLSession.shared.data(for: r)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        }

        func login() async throws -> String {
            let (_, data) = try await request("PUT", "/zstack/v1/accounts/login",
                                              body: #"{"logInByAccount":{"accountName":"admin","password":"\#(AgentIntegrationTests.password)"}}"#)
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            return try #require((json?["inventory"] as? [String: Any])?["uuid"] as? String)
        }

        /// Raw points (ms) of the host's MemoryUsedBytes over the last `minutes`.
        func points(host: String, session: String, minutes: Int = 10) async throws -> [Int64] {
            let q = "ZStack:Host::MemoryUsedBytes{HostUuid=\"\(host)\"}[\(minutes)m]"
            let encoded = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let (status, data) = try await request("GET", "/api/v1/query?query=\(encoded)", session: session)
            guard status == 200 else { throw TestFailure("query answered \(status): \(String(decoding: data, as: UTF8.self))") }
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let result = ((json?["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
            guard let values = result.first?["values"] as? [[Any]] else { return [] }
            return values.compactMap { ($0.first as? Double).map { Int64(($0 * 1000).rounded()) } }
        }
    }

    static func startServe(data: String, port: Int) throws -> (Process, Pipe, Pipe) {
        try StratusProcess.start(["serve", "--no-demo", "--no-local-host", "--interval", "1", "--data-dir", data, "--port", "\(port)"],
                                 env: ["STRATUS_ADMIN_PASSWORD": password])
    }

    static func batchFiles(_ dir: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".batch") }.count
    }

    @Test func theAgentBuffersThroughAManagerRestartWithNothingLostOrDuplicated() async throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data").path
        let spool = dir.appendingPathComponent("spool").path
        let port = StratusProcess.freePort()
        let manager = Manager(base: "http://127.0.0.1:\(port)")

        var (serve, _, _) = try Self.startServe(data: data, port: port)
        var processes = [serve]
        defer { for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        #expect(await StratusProcess.waitHealthy(manager.base + "/healthz"), "serve did not come up")

        // Registered the way an operator does it: `stratus host register-agent` against the live server.
        let registered = try StratusProcess.run([
            "host", "register-agent", "--url", manager.base, "--password", Self.password,
            "--name", "kvm-it", "--management-ip", "127.0.0.1", "--cpu-num", "2", "--memory-size", "4294967296",
        ])
        #expect(registered.status == 0, "register-agent failed: \(registered.stderr)")
        func field(_ prefix: String) -> String? {
            registered.stdout.split(separator: "\n").first { $0.hasPrefix(prefix) }
                .map { String($0.dropFirst(prefix.count)).split(separator: " ").first.map(String.init) ?? "" }
        }
        let host = try #require(field("registered host "), "no host uuid in: \(registered.stdout)")
        let token = try #require(field("agent token (shown once): "), "no token in: \(registered.stdout)")
        let session = try await manager.login()
        let (status, body) = try await manager.request("GET", "/zstack/v1/hosts/\(host)", session: session)
        #expect(status == 200 && String(decoding: body, as: UTF8.self).contains("kvm-it"), "the registered host is not in the inventory")
        // A bad name is refused with the field named, and nothing is registered.
        let bad = try StratusProcess.run(["host", "register-agent", "--url", manager.base, "--password", Self.password,
                                          "--name", "bad name!", "--management-ip", "127.0.0.1"])
        #expect(bad.status != 0 && bad.stderr.contains("params.name"), "\(bad.stderr)")

        let (agent, _, agentErr) = try StratusProcess.start([
            "agent", "--manager", manager.base, "--token", token, "--libvirt", "test:///default", "--interval", "1", "--spool-dir", spool,
        ])
        processes.append(agent)

        // Pushes land.
        var before: [Int64] = []
        let deadline = Date().addingTimeInterval(60)
        while before.count < 4 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(500))
            before = try await manager.points(host: host, session: session)
        }
        #expect(before.count >= 4, "the agent's samples did not reach the manager")

        // The manager dies; the agent spools.
        kill(serve.processIdentifier, SIGKILL)
        serve.waitUntilExit()
        try await Task.sleep(for: .seconds(5))
        #expect(Self.batchFiles(spool) >= 3, "the agent should have spooled the rounds of the outage")
        #expect(agent.isRunning, "the agent must survive the manager's outage")

        // The manager comes back on the same data; the spool drains.
        (serve, _, _) = try Self.startServe(data: data, port: port)
        processes.append(serve)
        #expect(await StratusProcess.waitHealthy(manager.base + "/healthz"), "serve did not restart")
        let drainDeadline = Date().addingTimeInterval(60)
        while Self.batchFiles(spool) > 1 && Date() < drainDeadline { try await Task.sleep(for: .milliseconds(250)) }
        try await Task.sleep(for: .seconds(3))
        kill(agent.processIdentifier, SIGTERM)
        agent.waitUntilExit()

        let session2 = try await manager.login()
        let after = try await manager.points(host: host, session: session2)
        let stderr = String(decoding: agentErr.fileHandleForReading.availableData, as: UTF8.self)
        #expect(after.count >= before.count + 8, "too few points after the restart: \(after.count)\n\(stderr)")
        #expect(Set(after).count == after.count, "duplicated timestamps")
        #expect(after == after.sorted())
        let gaps = zip(after, after.dropFirst()).filter { $1 - $0 != 1000 }
        #expect(gaps.isEmpty, "gaps in the series: \(gaps)\n\(stderr)")
        #expect(after.allSatisfy { $0 % 1000 == 0 }, "every point on the 1 s grid")
        // The restarted manager knew none of the agent's series refs: it answered 409 and the agent
        // resent that batch with series texts (compact batches, `AgentRefBatchEncoder`).
        #expect(stderr.contains("(409); resending batch"), "the agent never resent with texts after the restart:\n\(stderr)")
    }
}
