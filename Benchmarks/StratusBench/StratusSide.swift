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
    /// Seconds from the first `seriesRef` to `flush()` returning, generation included.
    var ingestSeconds: Double
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

/// `StratusBench serve-stratus`: ingests the fleet in time order (one `append` per round, as
/// collectors write), flushes, prints its figures, then serves the Prometheus API until killed.
struct ServeStratus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve-stratus", abstract: "Child: ingest the fleet into Stratus, then serve /api/v1.")

    @OptionGroup var size: FleetOptions
    @Option(help: "Store directory (created).") var dir: String
    @Option(help: "Port for the Prometheus API on 127.0.0.1.") var port: Int

    func run() async throws {
        let fleet = size.fleet()
        let store = try RocksMetricStore(path: dir + "/metrics", options: benchStoreOptions())
        let figures = try await OffPool.run { try ingest(fleet, into: store) }
        let line = try JSONEncoder().encode(figures)
        FileHandle.standardOutput.write(line + Data("\n".utf8))
        let router = Router()
        PrometheusAPI(store: store, engine: PromQLEngine(store: store)).addRoutes(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }

    func ingest(_ fleet: Fleet, into store: RocksMetricStore) throws -> StratusIngestFigures {
        let t0 = Tools.now()
        let n = fleet.seriesCount
        var refs: [SeriesRef] = []
        refs.reserveCapacity(n)
        for l in fleet.labels { refs.append(try store.seriesRef(for: l)) }
        var batch = SampleBatch(capacity: n)
        var accepted = 0, rejected = 0
        var lastLog = t0
        for k in 0..<fleet.points {
            batch.removeAll()
            let t = fleet.time(k)
            for s in 0..<n { batch.append(refs[s], t, fleet.value(s, k)) }
            let r = try store.append(batch)
            accepted += r.accepted
            rejected += r.rejected.count
            if Tools.now() - lastLog > 10 {
                lastLog = Tools.now()
                Tools.log("stratus: round \(k + 1)/\(fleet.points), \(Int(Double(accepted) / (lastLog - t0))) samples/s")
            }
        }
        try store.flush()
        let elapsed = Tools.now() - t0
        return StratusIngestFigures(
            series: n, samples: fleet.sampleCount, accepted: accepted, rejected: rejected, ingestSeconds: elapsed,
            diskBytesAfterFlush: Tools.diskUsage(dir), vmHWM: Tools.procStatus(0, "VmHWM"), vmRSS: Tools.procStatus(0, "VmRSS"),
            memoryFootprint: store.memoryFootprint)
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
