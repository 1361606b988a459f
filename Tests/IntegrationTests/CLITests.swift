import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `stratus` as a user runs it: bad input gets one clear line and a non-zero exit, nothing stored;
/// a good start serves, survives a restart and stops cleanly on SIGTERM.
@Suite(.serialized) struct CLITests {
    /// The one `error:` line a failed start prints, asserting there is no stack trace.
    func errorLine(_ r: StratusProcess.Result) -> String {
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n").filter { !$0.contains(" info ") }
        #expect(lines.count == 1, "expected one error line, got: \(r.stderr)")
        return lines.first.map(String.init) ?? ""
    }

    @Test func versionPrints() throws {
        let r = try StratusProcess.run(["version"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("stratus 0."))
    }

    @Test func unknownFlagIsRefused() throws {
        let r = try StratusProcess.run(["serve", "--frobnicate"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("Unknown option '--frobnicate'"))
    }

    @Test func unwritableDataDirIsOneLine() throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a-file")
        #expect(FileManager.default.createFile(atPath: file.path, contents: Data("x".utf8)))
        let r = try StratusProcess.run(["serve", "--data-dir", file.appendingPathComponent("data").path, "--port", "\(StratusProcess.freePort())"])
        let line = errorLine(r)
        #expect(line.hasPrefix("error: cannot create data dir"))
        #expect(line.contains("--data-dir"))
    }

    @Test func portInUseIsOneLine() throws {
        let port = StratusProcess.freePort()
        // Hold the port.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(rc == 0)
        listen(fd, 1)
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try StratusProcess.run(["serve", "--data-dir", dir.path, "--port", "\(port)"])
        let line = errorLine(r)
        #expect(line.contains("127.0.0.1:\(port) is already in use"))
        #expect(line.contains("--port"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("inventory.sqlite").path))
    }

    @Test func aHypervisorURILibvirtRejectsStoresNothing() throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try StratusProcess.run(["serve", "--data-dir", dir.path, "--port", "\(StratusProcess.freePort())",
                                        "--hypervisor", "nosuchdriver:///x"])
        let line = errorLine(r)
        #expect(line.hasPrefix("error: hypervisor nosuchdriver:///x:"))
        #expect(line.contains("check --hypervisor"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("inventory.sqlite").path))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("metrics").path))
    }

    @Test func outOfRangeSettingsAndBadConfigAreRefused() throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(errorLine(try StratusProcess.run(["serve", "--port", "70000"])).contains("port 70000 is out of range"))
        #expect(errorLine(try StratusProcess.run(["serve", "--interval", "0"])).contains("interval 0 s is out of range"))
        #expect(errorLine(try StratusProcess.run(["serve"], env: ["STRATUS_PORT": "eighty"])).contains("STRATUS_PORT='eighty'"))
        let bad = dir.appendingPathComponent("stratus.yaml")
        try "port: [not a number".write(to: bad, atomically: true, encoding: .utf8)
        let line = errorLine(try StratusProcess.run(["serve", "--config", bad.path]))
        #expect(line.contains("config file '\(bad.path)' is not valid"))
        #expect(errorLine(try StratusProcess.run(["serve", "--config", dir.appendingPathComponent("none.yaml").path])).contains("cannot read config file"))
        // The YAML keys of the host-monitor and alarm settings are read and range-checked like their flags.
        let ranges = dir.appendingPathComponent("ranges.yaml")
        try "pingInterval: 0\n".write(to: ranges, atomically: true, encoding: .utf8)
        #expect(errorLine(try StratusProcess.run(["serve", "--config", ranges.path])).contains("ping interval 0 s is out of range"))
        try "alarmHistoryRetention: 5m\n".write(to: ranges, atomically: true, encoding: .utf8)
        #expect(errorLine(try StratusProcess.run(["serve", "--config", ranges.path, "--data-dir", dir.appendingPathComponent("d").path]))
            .contains("alarm history retention '5m'"))
        try "headCutMinutes: 5\n".write(to: ranges, atomically: true, encoding: .utf8)
        #expect(errorLine(try StratusProcess.run(["serve", "--config", ranges.path])).contains("head cut interval 5 min is out of range; use 0"))
        #expect(errorLine(try StratusProcess.run(["serve"], env: ["STRATUS_HEAD_CUT_MINUTES": "ten"])).contains("STRATUS_HEAD_CUT_MINUTES='ten'"))
        #expect(errorLine(try StratusProcess.run(["serve", "--head-cut-minutes", "90"])).contains("head cut interval 90 min is out of range"))
        // A flag still beats the file.
        try "alarmInterval: 0\n".write(to: ranges, atomically: true, encoding: .utf8)
        #expect(errorLine(try StratusProcess.run(["serve", "--config", ranges.path, "--alarm-interval", "7200"]))
            .contains("alarm evaluation interval 7200 s"))
    }

    /// Starts with demo hosts, answers the API, stops cleanly on SIGTERM, and a second start on the
    /// same data dir finds everything (no duplicate hosts, same password).
    @Test func servesRestartsAndStopsCleanly() async throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = StratusProcess.freePort()
        let base = "http://127.0.0.1:\(port)"
        var hostCounts: [Int] = []
        for run in 0..<2 {
            let (p, out, _) = try StratusProcess.start(["serve", "--data-dir", dir.path, "--port", "\(port)", "--interval", "1"],
                                                       env: run == 0 ? [:] : ["STRATUS_ADMIN_PASSWORD": "ignored-on-second-run"])
            #expect(await StratusProcess.waitHealthy("\(base)/healthz"), "serve did not become healthy")
            if run == 0 {
                // The generated password was printed once; use it.
                var printed = ""
                for _ in 0..<50 where !printed.contains("password:") {
                    printed += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
                }
                let password = try #require(printed.split(separator: "\n").first { $0.contains("password:") }?
                    .split(separator: " ").last.map(String.init))
                try "\(password)".write(to: dir.appendingPathComponent("pw"), atomically: true, encoding: .utf8)
            }
            let password = try String(contentsOf: dir.appendingPathComponent("pw"), encoding: .utf8)
            var login = URLRequest(url: URL(string: "\(base)/zstack/v1/accounts/login")!)
            login.httpMethod = "PUT"
            login.httpBody = Data(#"{"logInByAccount":{"accountName":"admin","password":"\#(password)"}}"#.utf8)
            let (body, response) = try await URLSession.shared.data(for: login)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            let session = try #require(((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["inventory"] as? [String: Any])?["uuid"] as? String)
            var hosts = URLRequest(url: URL(string: "\(base)/zstack/v1/hosts")!)
            hosts.setValue("OAuth \(session)", forHTTPHeaderField: "Authorization")
            let (hb, _) = try await URLSession.shared.data(for: hosts)
            hostCounts.append(((try JSONSerialization.jsonObject(with: hb) as? [String: Any])?["total"] as? Int) ?? -1)
            p.terminate()  // SIGTERM
            let deadline = Date().addingTimeInterval(15)
            while p.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
            #expect(!p.isRunning, "serve did not stop within 15 s of SIGTERM")
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
        // Two demo hosts and this machine, the same after a restart.
        #expect(hostCounts == [3, 3])
    }
}
