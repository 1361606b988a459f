import ArgumentParser
import Foundation
import Hummingbird
import StratusMetrics
import Web

/// The figures a Stratus child process reports (one JSON line on stdout).
struct StratusIngestFigures: Codable {
    var series: Int
    var samples: Int
    var accepted: Int
    var rejected: Int
    /// Seconds from opening the import files to `flush()` returning.
    var ingestSeconds: Double
    /// Of which `flush()` (checkpoint, RocksDB flush and compaction).
    var flushSeconds: Double?
    /// User + system CPU seconds of the whole process over the ingest (both cores busy: ~2x wall).
    var cpuSeconds: Double?
    var diskBytesAfterFlush: Int64
    var vmHWM: Int64
    var vmRSS: Int64
    var memoryFootprint: Int
}

/// Store options for benchmark data: VictoriaMetrics runs with 100 y retention, so does Stratus.
func benchStoreOptions() -> TSDBOptions {
    var o = TSDBOptions()
    o.retention = 100 * 365 * 86_400_000
    return o
}

/// `StratusBench serve-stratus`: imports the VictoriaMetrics JSON-lines files through Stratus' own
/// import path (`PipelinedImporter`: read, parse, resolve series, append; as `stratus import`),
/// flushes, prints its figures, then serves the Prometheus API until killed.
struct ServeStratus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve-stratus", abstract: "Child: import the fleet's files into Stratus, then serve /api/v1.")

    @OptionGroup var size: FleetOptions
    @Option(help: "Store directory (created).") var dir: String
    @Option(help: "Port for the Prometheus API on 127.0.0.1.") var port: Int
    @Option(help: "VictoriaMetrics JSON-lines files to import (the ones VictoriaMetrics got).") var file: [String] = []
    @Flag(help: "Exit after printing the figures (an A/B run of the import alone) instead of serving.") var exitAfterImport = false

    func run() async throws {
        let fleet = size.fleet()
        let store = try RocksMetricStore(path: dir + "/metrics", options: benchStoreOptions())
        let files = file
        let figures = try await OffPool.run { try importFiles(files, fleet, into: store) }
        let line = try JSONEncoder().encode(figures)
        FileHandle.standardOutput.write(line + Data("\n".utf8))
        if exitAfterImport {
            store.close()
            return
        }
        let router = Router()
        PrometheusAPI(store: store, engine: PromQLEngine(store: store)).addRoutes(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }

    /// Timed from before the first byte is read to `flush()` returning.
    func importFiles(_ files: [String], _ fleet: Fleet, into store: RocksMetricStore) throws -> StratusIngestFigures {
        let t0 = Tools.now()
        let cpu0 = Tools.cpuSeconds()
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        for f in files {
            let fd = open(f, O_RDONLY)
            guard fd >= 0 else { throw BenchError("cannot open \(f): \(String(cString: strerror(errno)))") }
            fds.append(fd)
        }
        var lastLog = t0
        let summary = try PipelinedImporter(store: store).run(fds.map { ImportInput(fd: $0, format: .vmJSON) }, progressInterval: 10) { p in
            guard !p.done, Tools.now() - lastLog > 10 else { return }
            lastLog = Tools.now()
            Tools.log("stratus: \(p.bytesRead >> 20) MiB read, \(Int(Double(p.samples) / (lastLog - t0))) samples/s")
        }
        let f0 = Tools.now()
        try store.flush()
        let elapsed = Tools.now() - t0
        let flushSeconds = Tools.now() - f0
        let cpu = Tools.cpuSeconds() - cpu0
        Tools.log(String(format: "stratus: import %.1f s + flush %.1f s, CPU %.1f s (%.2f cores)", elapsed - flushSeconds, flushSeconds, cpu, cpu / elapsed))
        if summary.rejectedLines > 0 || summary.rejectedSamples > 0 { for l in summary.report() { Tools.log("stratus: \(l)") } }
        return StratusIngestFigures(
            series: fleet.seriesCount, samples: fleet.sampleCount, accepted: summary.accepted,
            rejected: summary.rejectedSamples + summary.rejectedLines, ingestSeconds: elapsed, flushSeconds: flushSeconds, cpuSeconds: cpu,
            diskBytesAfterFlush: Tools.diskUsage(dir), vmHWM: Tools.procStatus(0, "VmHWM"), vmRSS: Tools.procStatus(0, "VmRSS"),
            memoryFootprint: store.memoryFootprint)
    }
}

/// The figures of the bulk-API mode.
struct BulkIngestFigures: Codable {
    var samples: Int
    var accepted: Int
    /// Seconds inside `seriesRef`, `append` and the final `flush()`; generating batches is not counted.
    var appendSeconds: Double
}

/// `StratusBench bulk-ingest`: the store's bulk API alone — series-major `SampleBatch`es of up to
/// 100 k samples (each series' hour of points together, as an import file has them), generation
/// not timed, `append` and the final `flush()` timed. One JSON line.
struct BulkIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bulk-ingest", abstract: "Child: the bulk append API alone (one JSON line).")

    @OptionGroup var size: FleetOptions
    @Option(help: "Store directory (created; removed by the caller).") var dir: String

    func run() async throws {
        let fleet = size.fleet()
        let store = try RocksMetricStore(path: dir + "/metrics", options: benchStoreOptions())
        let figures = try await OffPool.run { () throws -> BulkIngestFigures in
            var timed = 0.0
            var t = Tools.now()
            var refs: [SeriesRef] = []
            for l in fleet.labels { refs.append(try store.seriesRef(for: l)) }
            timed += Tools.now() - t
            var batch = SampleBatch(capacity: 100_000 + 360)
            var accepted = 0
            let perChunk = 360
            var chunkStart = 0
            while chunkStart < fleet.points {
                let chunkEnd = min(fleet.points, chunkStart + perChunk)
                for s in 0..<fleet.seriesCount {
                    for k in chunkStart..<chunkEnd { batch.append(refs[s], fleet.time(k), fleet.value(s, k)) }
                    if batch.count >= 100_000 || (s == fleet.seriesCount - 1 && chunkEnd == fleet.points) {
                        t = Tools.now()
                        accepted += try store.append(batch).accepted
                        timed += Tools.now() - t
                        batch.removeAll()
                    }
                }
                chunkStart = chunkEnd
            }
            t = Tools.now()
            try store.flush()
            timed += Tools.now() - t
            return BulkIngestFigures(samples: fleet.sampleCount, accepted: accepted, appendSeconds: timed)
        }
        FileHandle.standardOutput.write(try JSONEncoder().encode(figures) + Data("\n".utf8))
        store.close()
    }
}

/// Runs blocking store work on its own thread, off the cooperative pool.
enum OffPool {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            Thread.detachNewThread {
                c.resume(with: Result { try body() })
            }
        }
    }
}

/// The figures of the active-series mode.
struct ActiveSeriesFigures: Codable {
    var series: Int
    var rounds: Int
    var seconds: Double
    var vmRSS: Int64
    var vmHWM: Int64
    var memoryFootprint: Int
    /// VmRSS after opening the empty store, before the first series.
    var baselineRSS: Int64
    var rssPerSeries: Double { Double(vmRSS) / Double(max(series, 1)) }
    var addedRSSPerSeries: Double { Double(vmRSS - baselineRSS) / Double(max(series, 1)) }
}

/// `StratusBench active-series`: one store, N distinct realistic series each given a few rounds;
/// reports resident memory per active series.
struct ActiveSeries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "active-series", abstract: "Memory per active series (one JSON line).")

    @Option(help: "Distinct series.") var series = 2_000_000
    @Option(help: "Rounds of samples per series.") var rounds = 3
    @Option(help: "Store directory (created; removed by the caller).") var dir: String

    func run() async throws {
        let store = try RocksMetricStore(path: dir + "/metrics", options: benchStoreOptions())
        let target = series, rounds = rounds
        let baseline = Tools.procStatus(0, "VmRSS")
        let figures = try await OffPool.run { () throws -> ActiveSeriesFigures in
            let t0 = Tools.now()
            var refs: [SeriesRef] = []
            refs.reserveCapacity(target)
            var shard: UInt64 = 0
            let start = Fleet.defaultEnd
            // Label sets come from fleets of 500 VMs + 5 hosts (~20 k series), one at a time, so
            // the generator never holds millions of label sets.
            while refs.count < target {
                let f = Fleet(vms: 500, hosts: 5, hours: 1, seed: 1_000 + shard)
                shard += 1
                var batch = SampleBatch(capacity: f.seriesCount)
                for s in 0..<f.seriesCount where refs.count < target {
                    let ref = try store.seriesRef(for: f.labels[s])
                    refs.append(ref)
                    batch.append(ref, start, f.value(s, 0))
                }
                _ = try store.append(batch)
                if shard % 20 == 0 { Tools.log("active-series: \(refs.count) series, RSS \(Tools.procStatus(0, "VmRSS") >> 20) MiB") }
            }
            var batch = SampleBatch(capacity: 100_000)
            for r in 1..<max(rounds, 1) {
                let t = start + Int64(r) * 10_000
                for (i, ref) in refs.enumerated() {
                    batch.append(ref, t, Double((i &* 2_654_435_761 &+ r) % 10_000) / 100)
                    if batch.count == 100_000 { _ = try store.append(batch); batch.removeAll() }
                }
                if !batch.isEmpty { _ = try store.append(batch); batch.removeAll() }
            }
            return ActiveSeriesFigures(
                series: refs.count, rounds: rounds, seconds: Tools.now() - t0, vmRSS: Tools.procStatus(0, "VmRSS"),
                vmHWM: Tools.procStatus(0, "VmHWM"), memoryFootprint: store.memoryFootprint, baselineRSS: baseline)
        }
        FileHandle.standardOutput.write(try JSONEncoder().encode(figures) + Data("\n".utf8))
        store.close()
    }
}
