import Agent
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing

/// `stratus simulate` against a real `stratus serve`: the hosts and VMs it registers show in the
/// API, and every VM's CPU series is queryable with points.
@Suite(.serialized) struct SimulateIntegrationTests {
    static func json(_ data: Data) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    @Test func threeHostsAndTwelveVMsReachTheManagerAndAreQueryable() async throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = StratusProcess.freePort()
        let base = "http://127.0.0.1:\(port)"
        let password = "sim-test-pw-1"
        let (serve, serveOut, serveErr) = try StratusProcess.start(
            ["serve", "--data-dir", dir.path, "--port", "\(port)", "--no-demo", "--no-local-host", "--interval", "1"],
            env: ["STRATUS_ADMIN_PASSWORD": password])
        // Keep the pipes drained so a chatty server never blocks on a full pipe.
        let serveLog = Mutex("")
        serveOut.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
        serveErr.fileHandleForReading.readabilityHandler = { h in
            let text = String(decoding: h.availableData, as: UTF8.self)
            serveLog.withLock { $0 = String(($0 + text).suffix(4_000)) }
        }
        defer {
            if serve.isRunning { serve.terminate() }
            serve.waitUntilExit()
        }
        try #require(await StratusProcess.waitHealthy("\(base)/healthz"), "serve did not become healthy")

        let started = Int64(Date().timeIntervalSince1970)
        let sim = try StratusProcess.run(["simulate", "--manager", base, "--hosts", "3", "--vms", "12", "--interval", "1s",
                                          "--duration", "5s", "--seed", "21"],
                                         env: ["STRATUS_ADMIN_PASSWORD": password], timeout: 120)
        #expect(sim.status == 0, "simulate failed: \(sim.stderr)\n\(sim.stdout)")
        let summaryLine = try #require(sim.stdout.split(separator: "\n").last { $0.hasPrefix("summary ") }, "no summary: \(sim.stdout)")
        let summary = try JSONDecoder().decode(SimulatorSummary.self, from: Data(summaryLine.dropFirst("summary ".count).utf8))
        #expect(summary.hosts == 3 && summary.vms == 12)
        #expect(summary.rounds >= 4)
        #expect(summary.errors == 0, "\(sim.stdout)")
        #expect(summary.samples > 0 && summary.rejected == 0)
        #expect(sim.stdout.contains("round 1: samples"))

        // The API: 3 hosts and the 12 VMs the seed makes.
        var login = URLRequest(url: URL(string: "\(base)/zstack/v1/accounts/login")!)
        login.httpMethod = "PUT"
        login.httpBody = Data(#"{"logInByAccount":{"accountName":"admin","password":"\#(password)"}}"#.utf8)
        let (lb, _) = try await URLSession.shared.data(for: login)
        let session = try #require((Self.json(lb)["inventory"] as? [String: Any])?["uuid"] as? String)
        func get(_ path: String) async throws -> [String: Any] {
            var r = URLRequest(url: URL(string: base + path)!)
            r.setValue("OAuth \(session)", forHTTPHeaderField: "Authorization")
            let (data, response) = try await URLSession.shared.data(for: r)
            #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(path): \(String(decoding: data, as: UTF8.self))")
            return Self.json(data)
        }
        let hosts = try await get("/zstack/v1/hosts")
        #expect(hosts["total"] as? Int == 3, "\(hosts)")
        let vms = try await get("/zstack/v1/vm-instances?limit=1000")
        #expect(vms["total"] as? Int == 12, "\(vms)")
        let fleet = SimFleet(seed: 21, hosts: 3, vms: 12)
        let listed = Set(((vms["inventories"] as? [[String: Any]]) ?? []).compactMap { $0["uuid"] as? String })
        #expect(listed == Set(fleet.vms.map(\.uuid)))

        // Every VM that ran has CPU points.
        let end = Int64(Date().timeIntervalSince1970) + 1
        for vm in fleet.vms where vm.initiallyRunning {
            let q = "/zstack/v1/zwatch/metrics?namespace=ZStack/VM&metricName=CPUAllUsedUtilization&period=1"
                + "&startTime=\(started - 5)&endTime=\(end)&labels=VMUuid%3D\(vm.uuid)"
            let data = (try await get(q))["data"] as? [[String: Any]] ?? []
            #expect(data.count >= 2, "VM \(vm.name) \(vm.uuid): \(data.count) points")
            #expect(data.allSatisfy { ($0["value"] as? Double).map { (0...100).contains($0) } ?? false })
        }
        serve.terminate()
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0, "\(serveLog.withLock { $0 })")
    }

    @Test func aWrongPasswordIsOneClearLine() async throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = StratusProcess.freePort()
        let (serve, _, _) = try StratusProcess.start(
            ["serve", "--data-dir", dir.path, "--port", "\(port)", "--no-demo", "--no-local-host"],
            env: ["STRATUS_ADMIN_PASSWORD": "right-one"])
        defer {
            if serve.isRunning { serve.terminate() }
            serve.waitUntilExit()
        }
        try #require(await StratusProcess.waitHealthy("http://127.0.0.1:\(port)/healthz"))
        let r = try StratusProcess.run(["simulate", "--manager", "http://127.0.0.1:\(port)", "--hosts", "1", "--vms", "1",
                                        "--duration", "10s", "--admin-password", "wrong-one"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: login as admin: the manager answered HTTP 401"), "\(r.stderr)")
    }
}
