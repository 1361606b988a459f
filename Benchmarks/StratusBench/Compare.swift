import ArgumentParser
import Foundation
import StratusMetrics

/// `StratusBench compare` (the default): the whole benchmark; prints and writes the table.
struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compare", abstract: "Run the benchmark and print the table.")

    @OptionGroup var size: FleetOptions
    @Flag(help: "Smoke size: 20 VMs, 5 hosts, 2 h, 100 k active series.") var quick = false
    @Option(help: "Series for the active-series memory test (0 skips it).") var activeSeries = 2_000_000
    @Option(help: "Scratch directory (removed at the end).") var workDir = NSTemporaryDirectory() + "stratus-bench"
    @Option(help: "Markdown output.") var output = "Benchmarks/results/latest.md"
    @Option(help: "victoria-metrics binary.") var victoriaMetrics = "/usr/bin/victoria-metrics"
    @Flag(inversion: .prefixedNo, help: "Also time the bulk append API alone (info row).") var bulkAPI = true
    @Option(help: "Keep the generated JSON-lines files in this directory and reuse them on the next run when they were made for the same fleet (default: written to the scratch directory and removed).") var filesDir: String?

    func run() async throws {
        let started = Tools.now()
        var size = self.size
        var active = activeSeries
        if quick { size.vms = 20; size.hosts = 5; size.hours = 2; active = min(active, 100_000) }
        let fleet = size.fleet()
        Tools.log("fleet: \(size.vms) VMs, \(size.hosts) hosts, \(size.hours) h at 10 s: \(fleet.seriesCount) series, \(fleet.sampleCount) samples")
        print("series: \(fleet.seriesCount), samples: \(fleet.sampleCount)")
        try? FileManager.default.removeItem(atPath: workDir)
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        let queries = BenchQuery.all(fleet)

        // VictoriaMetrics: files first (not timed), then import, flush, queries; stopped before Stratus runs.
        let t0 = Tools.now()
        let files = try filesDir.map { try keptVMFiles(fleet, size: size, dir: $0, files: 2) } ?? writeVMFiles(fleet, dir: workDir, files: 2)
        let fileBytes = files.reduce(Int64(0)) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int64) ?? 0) }
        Tools.log("wrote \(fileBytes >> 20) MiB of JSON lines in \(Int(Tools.now() - t0)) s")
        var vmf = VMFigures()
        vmf.version = (try? Tools.run("/usr/bin/dpkg-query", ["-W", "-f=${Version}", "victoria-metrics"]).1) ?? "?"
        let vm = try VictoriaMetrics(binary: victoriaMetrics, dataDir: workDir + "/vm", port: Tools.freePort(), logPath: workDir + "/vm.log")
        var vmAnswers: [(Double, Answer)] = []
        do {
            guard await Tools.waitHealthy(vm.base + "/health") else { throw BenchError("VictoriaMetrics did not start; see \(workDir)/vm.log") }
            Tools.log("VictoriaMetrics: importing")
            vmf.postSeconds = try vm.importFiles(files)
            let f0 = Tools.now()
            _ = try await vm.get("/internal/force_flush")
            vmf.flushSeconds = Tools.now() - f0
            // Make sure every sample is searchable. Counting scans everything, so only a count that
            // comes up short turns into ingest time (from the first short count until complete).
            let countQuery = "/api/v1/query?query=\(Tools.encode("sum(count_over_time({__name__=~\"ZStack:.+\"}[\(size.hours + 1)h]))"))&time=\(fleet.end / 1000)&nocache=1"
            func visible() async throws -> Int {
                Int(try Answer(json: try await vm.get(countQuery)).series.values.first?.first?.1 ?? 0)
            }
            vmf.samplesVisible = try await visible()
            if vmf.samplesVisible < fleet.sampleCount {
                let w0 = Tools.now()
                while vmf.samplesVisible < fleet.sampleCount && Tools.now() - w0 < 300 {
                    try await Task.sleep(for: .seconds(1))
                    vmf.samplesVisible = try await visible()
                }
                vmf.visibleWaitSeconds = Tools.now() - w0
            }
            vmf.diskAfterFlush = await stableDiskUsage(vm.dataDir, poll: 1)
            // force_merge works per monthly partition and in the background: ask for every month
            // the data touches, then wait until the directory stops changing.
            let months = Set([fleet.start, fleet.end].map { ms in
                ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1000)).prefix(7).replacingOccurrences(of: "-", with: "_")
            })
            for m in months.sorted() { _ = try? await vm.get("/internal/force_merge?partition_prefix=\(m)") }
            vmf.diskAfterMerge = await stableDiskUsage(vm.dataDir, poll: 2)
            for q in queries { vmAnswers.append(try await timeQuery(q, base: vm.base, nocache: true)) }
            vmf.vmHWM = Tools.procStatus(vm.process.processIdentifier, "VmHWM")
            vm.stop()
        } catch {
            vm.stop()
            throw error
        }
        Tools.log("VictoriaMetrics: ingest \(String(format: "%.1f", vmf.ingestSeconds)) s, \(vmf.samplesVisible) samples visible")

        // Stratus: a child process of this binary, so its RSS is its own. It imports the very files
        // VictoriaMetrics got, through its own import path.
        let port = Tools.freePort()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        child.arguments = ["serve-stratus", "--dir", workDir + "/stratus", "--port", "\(port)"] + size.arguments() + files.flatMap { ["--file", $0] }
        let out = Pipe()
        child.standardOutput = out
        try child.run()
        var stratusAnswers: [(Double, Answer)] = []
        let sf: StratusIngestFigures
        var stratusHWM: Int64 = 0
        do {
            Tools.log("Stratus: ingesting")
            guard let line = readLine(out.fileHandleForReading), let f = try? JSONDecoder().decode(StratusIngestFigures.self, from: Data(line.utf8)) else {
                throw BenchError("serve-stratus exited without figures (status \(child.isRunning ? "running" : "\(child.terminationStatus)"))")
            }
            sf = f
            if filesDir == nil { for f in files { try? FileManager.default.removeItem(atPath: f) } }
            guard await Tools.waitHealthy("http://127.0.0.1:\(port)/api/v1/status/buildinfo", timeout: 60) else { throw BenchError("serve-stratus API did not answer") }
            for q in queries { stratusAnswers.append(try await timeQuery(q, base: "http://127.0.0.1:\(port)", nocache: false)) }
            // The child's own reading after ingest is the fallback when /proc/<pid> can't be read.
            stratusHWM = max(Tools.procStatus(child.processIdentifier, "VmHWM"), sf.vmHWM)
            child.terminate()
            child.waitUntilExit()
        } catch {
            if child.isRunning { child.terminate(); child.waitUntilExit() }
            throw error
        }
        Tools.log("Stratus: ingest \(String(format: "%.1f", sf.ingestSeconds)) s, \(sf.accepted) accepted, \(sf.rejected) rejected")

        // The bulk append API alone (info), in its own child and store.
        var bulk: BulkIngestFigures?
        if bulkAPI {
            Tools.log("Stratus bulk API: ingesting")
            try? FileManager.default.removeItem(atPath: workDir + "/stratus")
            let (status, text) = try Tools.run(child.executableURL!.path, ["bulk-ingest", "--dir", workDir + "/bulk"] + size.arguments())
            if status == 0, let line = text.split(separator: "\n").last { bulk = try? JSONDecoder().decode(BulkIngestFigures.self, from: Data(line.utf8)) }
            if bulk == nil { Tools.log("bulk-ingest failed (status \(status))") }
            try? FileManager.default.removeItem(atPath: workDir + "/bulk")
        }

        // Active series memory, in its own child.
        var activeFigures: ActiveSeriesFigures?
        if active > 0 {
            Tools.log("active series: \(active)")
            let (status, text) = try Tools.run(child.executableURL!.path, ["active-series", "--series", "\(active)", "--dir", workDir + "/active"])
            if status == 0, let line = text.split(separator: "\n").last { activeFigures = try? JSONDecoder().decode(ActiveSeriesFigures.self, from: Data(line.utf8)) }
            if activeFigures == nil { Tools.log("active-series failed (status \(status))") }
        }

        var agreement: [String?] = []
        for (i, q) in queries.enumerated() {
            let diff = stratusAnswers[i].1.difference(from: vmAnswers[i].1)
            agreement.append(diff)
            print("\(q.name): \(diff == nil ? "AGREE" : "DISAGREE: \(diff!)") (\(stratusAnswers[i].1.series.count) series, \(stratusAnswers[i].1.pointCount) points)")
        }
        let report = BenchReport(
            fleet: fleet, size: size, fileBytes: fileBytes, vm: vmf, stratus: sf, bulk: bulk, stratusHWM: stratusHWM, queries: queries,
            vmLatency: vmAnswers.map(\.0), stratusLatency: stratusAnswers.map(\.0), agreement: agreement, active: activeFigures,
            activeTarget: active, runSeconds: Tools.now() - started)
        let md = report.markdown()
        print(md)
        try? FileManager.default.createDirectory(atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try md.write(toFile: output, atomically: true, encoding: .utf8)
        if agreement.contains(where: { $0 != nil }) { throw ExitCode(3) }
    }

    /// The size of `dir` once three polls `poll` seconds apart agree (at most 5 minutes):
    /// VictoriaMetrics writes and merges parts in the background.
    func stableDiskUsage(_ dir: String, poll: Double) async -> Int64 {
        var last = Tools.diskUsage(dir), stable = 0
        let t0 = Tools.now()
        while stable < 3 && Tools.now() - t0 < 300 {
            try? await Task.sleep(for: .milliseconds(Int(poll * 1000)))
            let now = Tools.diskUsage(dir)
            stable = now == last ? stable + 1 : 0
            last = now
        }
        return last
    }

    /// One line from a pipe (the child's figures), nil at EOF.
    func readLine(_ h: FileHandle) -> String? {
        var bytes: [UInt8] = []
        while true {
            let d = h.readData(ofLength: 1)
            guard let b = d.first else { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if b == 0x0A { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(b)
        }
    }
}
