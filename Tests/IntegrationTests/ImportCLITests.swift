import Foundation
import StratusMetrics
import Testing

/// `stratus import` as a user runs it: good lines stored exactly, bad lines reported with their
/// numbers, a missing file or a store in use is one error line and a non-zero exit.
@Suite(.serialized) struct ImportCLITests {
    func write(_ text: String, to dir: URL, name: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    @Test func importsGoodLinesAndReportsBadOnes() async throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let now: Int64 = Int64(Date().timeIntervalSince1970 * 1000) / 10_000 * 10_000
        let prom = try write("""
            # TYPE ZStack:VM::CPUAverageUsedUtilization gauge
            ZStack:VM::CPUAverageUsedUtilization{VMUuid="vm1",HostUuid="h1"} 12.5 \(now - 20_000)
            ZStack:VM::CPUAverageUsedUtilization{VMUuid="vm1",HostUuid="h1"} NaN-ish \(now - 10_000)
            ZStack:VM::CPUAverageUsedUtilization{VMUuid="vm1",HostUuid="h1"} 13.25 \(now - 10_000)
            ZStack:VM::CPUAverageUsedUtilization{VMUuid="vm2",HostUuid="h1"} 99
            ZStack:VM::CPUAverageUsedUtilization{VMUuid="vm2",HostUuid="h1"} 1e2 \(now)

            """, to: dir, name: "a.prom")
        let json = try write("""
            {"metric":{"__name__":"ZStack:Host::NetworkInBytes","HostUuid":"h1"},"values":[100,200,300],"timestamps":[\(now - 20_000),\(now - 10_000),\(now)]}
            {"metric":{"__name__":"ZStack:Host::NetworkInBytes","HostUuid":"h2"},"values":[1,2],"timestamps":[\(now)]}
            not json
            """, to: dir, name: "b.jsonl")
        let r = try StratusProcess.run(["import", prom.path, json.path, "--data-dir", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("total: 6 samples accepted, 4 lines rejected, 0 samples refused by the store"), "\(r.stdout)")
        #expect(r.stderr.contains("rejected bad_value: 1 lines (lines 3)"), "\(r.stderr)")
        #expect(r.stderr.contains("rejected missing_field: 1 lines (lines 5)"), "\(r.stderr)")
        #expect(r.stderr.contains("rejected length_mismatch: 1 lines (lines 2)"), "\(r.stderr)")
        #expect(r.stderr.contains("rejected syntax: 1 lines (lines 3)"), "\(r.stderr)")

        let store = try RocksMetricStore(path: dir.appendingPathComponent("metrics").path, options: TSDBOptions())
        defer { store.close() }
        let cpu = try await store.select([.equal("__name__", "ZStack:VM::CPUAverageUsedUtilization")], from: 0, to: .max)
        #expect(cpu.map(\.labels) == [
            Labels(["__name__": "ZStack:VM::CPUAverageUsedUtilization", "VMUuid": "vm1", "HostUuid": "h1"]),
            Labels(["__name__": "ZStack:VM::CPUAverageUsedUtilization", "VMUuid": "vm2", "HostUuid": "h1"]),
        ])
        #expect(cpu.first?.points == [Point(timestamp: now - 20_000, value: 12.5), Point(timestamp: now - 10_000, value: 13.25)])
        #expect(cpu.last?.points == [Point(timestamp: now, value: 100)])
        let net = try await store.select([.equal("__name__", "ZStack:Host::NetworkInBytes")], from: 0, to: .max)
        #expect(net.count == 1)
        #expect(net.first?.points.map(\.value) == [100, 200, 300])
    }

    @Test func stdinWithFormatFromTheFirstLine() async throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let input = try write(#"{"metric":{"__name__":"m","a":"1"},"values":[5],"timestamps":[\#(now)]}"# + "\n", to: dir, name: "in")
        let p = Process()
        p.executableURL = StratusProcess.binary
        p.arguments = ["import", "-", "--data-dir", dir.path]
        p.standardInput = try FileHandle(forReadingFrom: input)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("1 samples accepted"))
    }

    @Test func missingFileIsOneLineAndNothingOpened() throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try StratusProcess.run(["import", dir.appendingPathComponent("nope.prom").path, "--data-dir", dir.path])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: cannot read "), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("metrics").path))
    }

    @Test func nothingAcceptedExitsNonZero() throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = try write("garbage here\n", to: dir, name: "bad.prom")
        let r = try StratusProcess.run(["import", bad.path, "--data-dir", dir.path])
        #expect(r.status == 2)
        #expect(r.stdout.contains("0 samples accepted, 1 lines rejected"))
    }

    @Test func storeInUseIsOneLine() throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try write("m 1 \(Int64(Date().timeIntervalSince1970 * 1000))\n", to: dir, name: "g.prom")
        let store = try RocksMetricStore(path: dir.appendingPathComponent("metrics").path, options: TSDBOptions())
        defer { store.close() }
        let r = try StratusProcess.run(["import", good.path, "--data-dir", dir.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("is in use by a running `stratus serve`; stop it first"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }
}
