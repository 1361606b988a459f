import Control
import Foundation
import Hummingbird
import Logging
import StratusMetrics
import Testing
import Web

/// Debian's `promtool` as a real Prometheus API client against the app on a loopback port,
/// authenticating with HTTP Basic (an account's name and password).
@Suite(.serialized) struct PromtoolTests {
    static let promtool = "/usr/bin/promtool"
    static let password = "promtool-pw"

    /// The app on 127.0.0.1 (a free port) over a seeded store, for the duration of `body`.
    /// Host h1's CPU is 12.5 and VM v1's CPU is 0, 1, 2, … every 10 s over the 5 minutes up to `end`.
    private func withServer(_ body: (_ url: String, _ end: Int64) async throws -> Void) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.promtool) else {
            Issue.record("\(Self.promtool) is missing: run scripts/install-deps.sh (it installs Debian's prometheus package; CI does)")
            return
        }
        let inventory = try SQLiteInventoryStore(path: nil)
        _ = try await inventory.createAccount(name: "admin", passwordHash: PasswordHasher.hash(Self.password, iterations: 1_000),
                                              type: "SystemAdmin", at: 0)
        let end = SystemWallClock().now() / 10_000 * 10_000
        let store = MemoryMetricStore()
        var samples: [Sample] = []
        for i in 0...30 {
            let t = end - 300_000 + Int64(i) * 10_000
            samples.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/Host", metricName: "CPUAllUsedUtilization", ["HostUuid": "h1"]),
                                  timestamp: t, value: 12.5))
            samples.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/VM", metricName: "CPUAllUsedUtilization",
                                                             ["VMUuid": "v1", "HostUuid": "h1"]), timestamp: t, value: Double(i)))
        }
        try await store.write(samples)
        let deps = WebDependencies(inventory: inventory, metricStore: store, clock: SystemWallClock(), collectionInterval: 10_000)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: try await StratusWeb.router(deps),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "Stratus"),
                              onServerRunning: { channel in
                                  portSink.yield(channel.localAddress?.port ?? 0)
                                  portSink.finish()
                              },
                              logger: Logger(label: "promtool-test"))
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        do {
            var it = ports.makeAsyncIterator()
            let port = try #require(await it.next())
            try #require(port > 0)
            try await body("http://admin:\(Self.password)@127.0.0.1:\(port)", end)
        } catch {
            server.cancel()
            _ = await server.result
            throw error
        }
        server.cancel()
        _ = await server.result
    }

    /// Runs promtool off the cooperative pool; returns its exit status and output.
    private func promtool(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
        try await withCheckedThrowingContinuation { cont in
            DispatchQueue.global().async {
                do {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: Self.promtool)
                    p.arguments = args
                    let out = Pipe(), err = Pipe()
                    p.standardOutput = out
                    p.standardError = err
                    try p.run()
                    let o = out.fileHandleForReading.readDataToEndOfFile()
                    let e = err.fileHandleForReading.readDataToEndOfFile()
                    p.waitUntilExit()
                    cont.resume(returning: (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self)))
                } catch {
                    cont.resume(throwing: error)
                }
            }
        }
    }

    private func seconds(_ ms: Int64) -> String { String(ms / 1000) }

    @Test func instantQuery() async throws {
        try await withServer { url, end in
            let r = try await promtool(["query", "instant", "--time=\(seconds(end))", url, "ZStack:Host::CPUAllUsedUtilization"])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.trimmingCharacters(in: .whitespacesAndNewlines)
                == #"ZStack:Host::CPUAllUsedUtilization{HostUuid="h1"} => 12.5 @[\#(seconds(end))]"#)
            // (end - 1m, end] holds the VM's samples 25…30: average 27.5.
            let avg = try await promtool(["query", "instant", "--time=\(seconds(end))", url,
                                          "avg_over_time(ZStack:VM::CPUAllUsedUtilization[1m])"])
            #expect(avg.status == 0, "\(avg.err)")
            #expect(avg.out.contains(#"{HostUuid="h1", VMUuid="v1"} => 27.5 @[\#(seconds(end))]"#), "\(avg.out)")
        }
    }

    @Test func rangeQuery() async throws {
        try await withServer { url, end in
            let r = try await promtool(["query", "range", "--start=\(seconds(end - 60_000))", "--end=\(seconds(end))", "--step=30s",
                                        url, #"ZStack:VM::CPUAllUsedUtilization{VMUuid="v1"}"#])
            #expect(r.status == 0, "\(r.err)")
            let lines = r.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(lines.first?.hasPrefix("ZStack:VM::CPUAllUsedUtilization{") == true, "\(r.out)")
            // Samples 24, 27 and 30 sit exactly on the steps.
            #expect(Array(lines.dropFirst()) == ["24 @[\(seconds(end - 60_000))]", "27 @[\(seconds(end - 30_000))]", "30 @[\(seconds(end))]"])
        }
    }

    @Test func seriesAndLabelValues() async throws {
        try await withServer { url, _ in
            let r = try await promtool(["query", "series", #"--match={__name__=~"ZStack:.*"}"#, url])
            #expect(r.status == 0, "\(r.err)")
            let lines = r.out.split(separator: "\n").map(String.init).sorted()
            #expect(lines == [#"{HostUuid="h1", VMUuid="v1", __name__="ZStack:VM::CPUAllUsedUtilization"}"#,
                              #"{HostUuid="h1", __name__="ZStack:Host::CPUAllUsedUtilization"}"#])
            let names = try await promtool(["query", "labels", url, "__name__"])
            #expect(names.status == 0, "\(names.err)")
            #expect(names.out.split(separator: "\n") == ["ZStack:Host::CPUAllUsedUtilization", "ZStack:VM::CPUAllUsedUtilization"])
            let vms = try await promtool(["query", "labels", url, "VMUuid"])
            #expect(vms.out.split(separator: "\n") == ["v1"])
        }
    }

    @Test func wrongCredentialsAreRefused() async throws {
        try await withServer { url, end in
            let wrong = url.replacingOccurrences(of: Self.password, with: "nope")
            let r = try await promtool(["query", "instant", "--time=\(seconds(end))", wrong, "1"])
            #expect(r.status != 0)
            #expect((r.out + r.err).contains("401") || (r.out + r.err).lowercased().contains("unauthorized"), "\(r.out)\(r.err)")
        }
    }
}
