import ArgumentParser
import Foundation
import Hummingbird
import StratusMetrics
import Web

/// `StratusBench query-profile`: Q1–Q3 latency, Stratus against VictoriaMetrics, on stores kept
/// between runs (built once: Stratus through the bulk API, VictoriaMetrics from JSON-lines files),
/// so a query change can be measured in a minute instead of the whole benchmark's nine. Requests
/// alternate between the two servers (A/B in the same load window); each server is its own process.
/// `--hammer` then keeps sending one query to Stratus for `perf record`. A developer's tool: the
/// table of record is `compare`'s.
struct QueryProfile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "query-profile", abstract: "Q1–Q3 latency on kept stores, A/B with VictoriaMetrics.")

    @OptionGroup var size: FleetOptions
    @Option(help: "Stratus store directory (built when it holds no finished store).") var dir: String
    @Option(help: "VictoriaMetrics data directory (imported when not finished; none skips VictoriaMetrics).") var vmDir: String?
    @Option(help: "victoria-metrics binary.") var victoriaMetrics = "/usr/bin/victoria-metrics"
    @Option(help: "Requests per query and server.") var runs = 100
    @Option(help: "After measuring, send this query (Q1, Q2, Q3) to Stratus for --hammer-seconds.") var hammer: String?
    @Option(help: "Seconds of --hammer.") var hammerSeconds = 20.0
    @Option(help: "Use this running Stratus (http://127.0.0.1:port) instead of starting one.") var stratusURL: String?
    @Option(help: "Use this running VictoriaMetrics instead of starting one.") var vmURL: String?

    func run() async throws {
        let fleet = size.fleet()
        let queries = BenchQuery.all(fleet)
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        if !FileManager.default.fileExists(atPath: dir + "/READY") {
            Tools.log("building the Stratus store in \(dir)")
            let (status, _) = try Tools.run(exe, ["query-serve", "--dir", dir, "--port", "0", "--build-only"] + size.arguments())
            guard status == 0 else { throw BenchError("building the Stratus store failed (\(status))") }
        }
        var started: VictoriaMetrics?
        if vmURL == nil, let vmDir {
            started = try await startVM(fleet, vmDir)
        }
        defer { started?.stop() }
        let vm: String? = vmURL ?? started?.base
        let child = Process()
        defer { if child.isRunning { child.terminate(); child.waitUntilExit() } }
        let stratus: String
        if let stratusURL {
            stratus = stratusURL
        } else {
            let port = Tools.freePort()
            child.executableURL = URL(fileURLWithPath: exe)
            child.arguments = ["query-serve", "--dir", dir, "--port", "\(port)"] + size.arguments()
            try child.run()
            stratus = "http://127.0.0.1:\(port)"
            Tools.log("Stratus pid \(child.processIdentifier)\(started.map { ", VictoriaMetrics pid \($0.process.processIdentifier)" } ?? "")")
        }
        guard await Tools.waitHealthy(stratus + "/api/v1/status/buildinfo", timeout: 120) else { throw BenchError("Stratus did not answer") }

        // Warm both (first requests open files, fill caches), then alternate.
        for q in queries {
            for _ in 0..<3 {
                _ = try await Tools.get(stratus + q.path(nocache: false))
                if let vm { _ = try await Tools.get(vm + q.path(nocache: true)) }
            }
        }
        var sTimes = [[Double]](repeating: [], count: queries.count + 1)
        var vTimes = [[Double]](repeating: [], count: queries.count + 1)
        for _ in 0..<runs {
            for (i, q) in queries.enumerated() {
                sTimes[i].append(try await timed(stratus + q.path(nocache: false)))
                if let vm { vTimes[i].append(try await timed(vm + q.path(nocache: true))) }
            }
            // The HTTP floor: a reply that does no work.
            sTimes[queries.count].append(try await timed(stratus + "/api/v1/status/buildinfo"))
            if let vm { vTimes[queries.count].append(try await timed(vm + "/health")) }
        }
        let names = queries.map { String($0.name.prefix(2)) } + ["floor (buildinfo / health)"]
        print("load: \(loadAverage())")
        print("query | Stratus median ms | p10 | VictoriaMetrics median ms | p10 | Stratus/VM")
        for i in names.indices {
            let s = stats(sTimes[i]), v = stats(vTimes[i])
            print("\(names[i]) | \(f(s.0)) | \(f(s.1)) | \(vm == nil ? "-" : f(v.0)) | \(vm == nil ? "-" : f(v.1)) | \(vm == nil ? "-" : f(s.0 / v.0))")
        }
        if let vm {
            for q in queries {
                let a = try Answer(json: try await Tools.get(stratus + q.path(nocache: false)).1)
                let b = try Answer(json: try await Tools.get(vm + q.path(nocache: true)).1)
                print("\(q.name.prefix(2)) answers: \(a.difference(from: b).map { "DISAGREE: \($0)" } ?? "AGREE") (\(a.series.count) series, \(a.pointCount) points)")
            }
        }
        if let hammer, let q = queries.first(where: { $0.name.hasPrefix(hammer) }) {
            Tools.log("hammering \(q.name) for \(hammerSeconds) s")
            let deadline = Tools.now() + hammerSeconds
            var n = 0
            while Tools.now() < deadline { _ = try await Tools.get(stratus + q.path(nocache: false)); n += 1 }
            Tools.log("\(n) requests, \(f(hammerSeconds * 1000 / Double(n))) ms each")
        }
    }

    private func timed(_ url: String) async throws -> Double {
        let t0 = Tools.now()
        let (status, data) = try await Tools.get(url)
        let ms = (Tools.now() - t0) * 1000
        guard status == 200 else { throw BenchError("\(url) answered \(status): \(String(decoding: data.prefix(300), as: UTF8.self))") }
        return ms
    }

    private func stats(_ v: [Double]) -> (Double, Double) {
        guard !v.isEmpty else { return (.nan, .nan) }
        let s = v.sorted()
        return (s[s.count / 2], s[s.count / 10])
    }

    private func f(_ v: Double) -> String { String(format: "%.3f", v) }

    private func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    /// VictoriaMetrics on `vmDir`, importing the fleet first when the directory is not finished.
    private func startVM(_ fleet: Fleet, _ vmDir: String) async throws -> VictoriaMetrics {
        let ready = FileManager.default.fileExists(atPath: vmDir + "/READY")
        try FileManager.default.createDirectory(atPath: vmDir, withIntermediateDirectories: true)
        let vm = try VictoriaMetrics(binary: victoriaMetrics, dataDir: vmDir + "/data", port: Tools.freePort(), logPath: vmDir + "/vm.log")
        guard await Tools.waitHealthy(vm.base + "/health") else { vm.stop(); throw BenchError("VictoriaMetrics did not start; see \(vmDir)/vm.log") }
        if !ready {
            Tools.log("writing JSON lines and importing them into VictoriaMetrics")
            let files = try writeVMFiles(fleet, dir: vmDir, files: 2)
            _ = try vm.importFiles(files)
            for f in files { try? FileManager.default.removeItem(atPath: f) }
            _ = try await vm.get("/internal/force_flush")
            let countQuery = "/api/v1/query?query=\(Tools.encode("sum(count_over_time({__name__=~\"ZStack:.+\"}[\(size.hours + 1)h]))"))&time=\(fleet.end / 1000)&nocache=1"
            let w0 = Tools.now()
            while Tools.now() - w0 < 300 {
                let n = Int(try Answer(json: try await vm.get(countQuery)).series.values.first?.first?.1 ?? 0)
                if n >= fleet.sampleCount { break }
                try await Task.sleep(for: .seconds(1))
            }
            _ = FileManager.default.createFile(atPath: vmDir + "/READY", contents: nil)
        }
        return vm
    }
}

/// `StratusBench query-serve`: the Stratus side of `query-profile`. Builds the store through the
/// bulk API when `dir` holds no finished one (then flushes and marks it), else reopens it; then
/// serves the Prometheus API as `serve-stratus` does.
struct QueryServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "query-serve", abstract: "Child of query-profile: build or open a store, serve /api/v1.")

    @OptionGroup var size: FleetOptions
    @Option(help: "Store directory.") var dir: String
    @Option(help: "Port on 127.0.0.1.") var port: Int
    @Flag(help: "Build the store and exit.") var buildOnly = false
    @Flag(help: "Build pending rollups (one maintain pass at the fleet's end) before serving, once per store.") var rollups = false

    func run() async throws {
        let fleet = size.fleet()
        let ready = FileManager.default.fileExists(atPath: dir + "/READY")
        if !ready { try? FileManager.default.removeItem(atPath: dir) }
        let store = try RocksMetricStore(path: dir + "/metrics", options: benchStoreOptions())
        if !ready {
            try await OffPool.run {
                var refs: [SeriesRef] = []
                for l in fleet.labels { refs.append(try store.seriesRef(for: l)) }
                var batch = SampleBatch(capacity: 100_000 + 360)
                var chunkStart = 0
                while chunkStart < fleet.points {
                    let chunkEnd = min(fleet.points, chunkStart + 360)
                    for s in 0..<fleet.seriesCount {
                        for k in chunkStart..<chunkEnd { batch.append(refs[s], fleet.time(k), fleet.value(s, k)) }
                        if batch.count >= 100_000 { _ = try store.append(batch); batch.removeAll() }
                    }
                    chunkStart = chunkEnd
                }
                if !batch.isEmpty { _ = try store.append(batch) }
                try store.flush()
            }
            _ = FileManager.default.createFile(atPath: dir + "/READY", contents: nil)
        }
        if rollups && !FileManager.default.fileExists(atPath: dir + "/ROLLUPS") {
            let t0 = Tools.now()
            let report = try await OffPool.run { try store.maintain(now: fleet.end) }
            Tools.log("maintain: \(report.rollupsBuilt) rollup entries in \(String(format: "%.1f", Tools.now() - t0)) s")
            _ = FileManager.default.createFile(atPath: dir + "/ROLLUPS", contents: nil)
        }
        if buildOnly { store.close(); return }
        let router = Router()
        PrometheusAPI(store: store, engine: PromQLEngine(store: store)).addRoutes(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
