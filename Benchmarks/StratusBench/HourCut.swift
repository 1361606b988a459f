import ArgumentParser
import Foundation
import StratusMetrics

/// `StratusBench hour-cut`: what an hour boundary costs the ingest path. N series get `rounds`
/// samples 10 s apart ending just before an hour; then one round before the boundary and the first
/// round after it (every head is sealed) are appended in agent-sized batches (`--batch`, as pushes
/// arrive) and timed; then rounds go on back to back while the sealing thread writes the sealed
/// heads, and the slowest of them and the time to drain are reported. A 5-minute window aggregate
/// over every `--window-every`-th series (an alarm round's query) is timed before the boundary,
/// just after it (sealed heads pending) and once they are written. One JSON line.
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
        /// Seconds from the cut round's end until no sealed head was pending, the rounds appended
        /// meanwhile, and the slowest and mean of them.
        var drainSeconds: Double
        var roundsWhileDraining: Int
        var slowestRoundWhileDrainingSeconds: Double
        var meanRoundWhileDrainingSeconds: Double
        /// A 5-minute window aggregate over those series (an alarm round's query) just before the
        /// boundary, just after it (the window reaches into the sealed heads, still pending) and
        /// once they are written.
        var windowBeforeSeconds: Double
        var windowAfterSeconds: Double
        var windowAfterWrittenSeconds: Double
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
        Tools.log("hour-cut: rounds while the sealed heads are written")
        let drainStart = Tools.now()
        var drained: [Double] = []
        var t = boundary + 10_000
        while try await store.stats().sealedHeadsPending > 0 {
            t += 10_000
            let at = t
            drained.append(try await OffPool.run { try round(at) })
            if drained.count > 10_000 { throw ValidationError("the sealed heads were not written after 10,000 rounds") }
        }
        let drain = Tools.now() - drainStart
        let afterWritten = try await window(t)
        let figures = Figures(series: n, samplesPerHead: rounds, batch: size, steadyRoundSeconds: steady, cutRoundSeconds: cut,
                              cutCostPerSeriesMicroseconds: (cut - steady) / Double(n) * 1e6,
                              windowSeries: (n + every - 1) / every, drainSeconds: drain, roundsWhileDraining: drained.count,
                              slowestRoundWhileDrainingSeconds: drained.max() ?? 0,
                              meanRoundWhileDrainingSeconds: drained.isEmpty ? 0 : drained.reduce(0, +) / Double(drained.count),
                              windowBeforeSeconds: before, windowAfterSeconds: after, windowAfterWrittenSeconds: afterWritten)
        FileHandle.standardOutput.write(try JSONEncoder().encode(figures) + Data("\n".utf8))
        store.close()
    }
}
