import ArgumentParser
import Foundation
import StratusMetrics

/// `StratusBench hour-cut`: what an hour boundary costs the ingest path. N series get `rounds`
/// samples 10 s apart ending just before an hour; then one round before the boundary and the first
/// round after it (every head is cut into a stored chunk) are appended in agent-sized batches
/// (`--batch`, as pushes arrive) and timed, and a 5-minute window aggregate over every
/// `--window-every`-th series (an alarm round's query) is timed before and after the cut. One JSON line.
struct HourCut: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hour-cut", abstract: "Ingest round before vs. at an hour boundary (one JSON line).")

    @Option(help: "Series.") var series = 1_000_000
    @Option(help: "Rounds (10 s apart) before the boundary; each head holds this many samples when it is cut.") var rounds = 120
    @Option(help: "Samples per append (an agent push carries ~400).") var batch = 400
    @Option(help: "The window reads every K-th series (1 = all). A fleet's alarm series lie apart: a VM's CPU series is about one in 17 of its series.")
    var windowEvery = 1
    @Option(help: "Store directory (created; removed by the caller).") var dir: String

    struct Figures: Codable {
        var series: Int
        var samplesPerHead: Int
        var batch: Int
        /// Seconds to append one round before the boundary, and the first round after it.
        var steadyRoundSeconds: Double
        var cutRoundSeconds: Double
        var cutCostPerSeriesMicroseconds: Double
        /// Series the window reads (every `windowEvery`-th).
        var windowSeries: Int
        /// A 5-minute window aggregate over those series (an alarm round's query) just before the
        /// boundary and just after it (the window then reaches into the chunks just cut).
        var windowBeforeSeconds: Double
        var windowAfterSeconds: Double
    }

    func run() async throws {
        var o = benchStoreOptions()
        o.checkpointWALBytes = Int.max
        o.checkpointInterval = .max
        let store = try RocksMetricStore(path: dir + "/metrics", options: o)
        let n = series, rounds = max(2, rounds), size = max(1, batch), every = max(1, windowEvery)
        let hour: Int64 = 3_600_000
        let boundary = (Fleet.defaultEnd / hour + 1) * hour
        let first = boundary - Int64(rounds) * 10_000
        let refs = try await OffPool.run { () throws -> [SeriesRef] in
            var refs: [SeriesRef] = []
            refs.reserveCapacity(n)
            var labels: [Labels] = []
            for i in 0..<n {
                labels.append(ZWatchName.labels(namespace: "ZStack/VM", metricName: i % every == 0 ? "CPUUsedUtilization" : "MemoryUsedBytes",
                                                ["VMUuid": String(format: "%032x", i), "HostUuid": String(format: "%032x", i / 400)]))
                if labels.count == 100_000 || i == n - 1 {
                    refs += try store.seriesRefs(for: labels).map { try $0.get() }
                    labels.removeAll(keepingCapacity: true)
                }
            }
            return refs
        }
        /// Appends one round at `t` in batches of `size`; seconds taken.
        @Sendable func round(_ t: Int64) throws -> Double {
            let t0 = Tools.now()
            var b = SampleBatch(capacity: size)
            for (i, ref) in refs.enumerated() {
                b.append(ref, t, Double((i &* 2_654_435_761 &+ Int(t / 10_000)) % 10_000) / 100)
                if b.count == size { b.prepareLog(); _ = try store.append(b); b.removeAll() }
            }
            if !b.isEmpty { b.prepareLog(); _ = try store.append(b) }
            return Tools.now() - t0
        }
        /// A 5-minute window aggregate over every series ending at `to`; seconds taken.
        func window(_ to: Int64) async throws -> Double {
            let t0 = Tools.now()
            let got = try await store.aggregateSeries([.equal(Labels.nameKey, "ZStack:VM::CPUUsedUtilization")], from: to - 300_000, to: to)
            precondition(got.refs.count == (n + every - 1) / every, "the window saw \(got.refs.count) series")
            return Tools.now() - t0
        }
        let steady = try await OffPool.run { () throws -> Double in
            for r in 0..<(rounds - 1) {
                _ = try round(first + Int64(r) * 10_000)
                if r % 20 == 0 { Tools.log("hour-cut: round \(r) of \(rounds)") }
            }
            return try round(boundary - 10_000)
        }
        let before = try await window(boundary - 10_000)
        Tools.log("hour-cut: cutting")
        let cut = try await OffPool.run { try round(boundary + 10_000) }
        Tools.log("hour-cut: window after the cut")
        let after = try await window(boundary + 10_000)
        let figures = Figures(series: n, samplesPerHead: rounds, batch: size, steadyRoundSeconds: steady, cutRoundSeconds: cut,
                              cutCostPerSeriesMicroseconds: (cut - steady) / Double(n) * 1e6,
                              windowSeries: (n + every - 1) / every, windowBeforeSeconds: before, windowAfterSeconds: after)
        FileHandle.standardOutput.write(try JSONEncoder().encode(figures) + Data("\n".utf8))
        store.close()
    }
}
