import ArgumentParser
import Foundation
import CMalloc
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
    @Option(help: "Values: 'ramp' (each series steps by 0.01 a round: tiny heads) or 'noisy' (a fresh 0-100 value with two decimals every round, like a busy gauge: ~2 bytes a sample).")
    var values = "ramp"
    @Option(help: "The store's sealedHold in minutes (how much of the hour a written sealed head keeps; 0 = none). Default: the store's default.")
    var holdMinutes: Int?
    @Option(help: "The store's headCutInterval in minutes (heads cut inside the hour at a per-series time; 0 = off, the store's default; `stratus serve` uses 20).")
    var cutMinutes = 0

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
        /// Resident memory (MiB): just before the boundary round, just after it, the most seen
        /// while the sealed heads were written, once written, and once the hold released them;
        /// the high-water mark at the end; and the store's own count (`memoryFootprint`) before
        /// the boundary and once released.
        var rssBeforeMiB: Int64
        var rssAfterCutMiB: Int64
        var rssWhileDrainingMaxMiB: Int64
        var rssDrainedMiB: Int64
        var rssReleasedMiB: Int64
        var hwmMiB: Int64
        var footprintBeforeMiB: Int
        var footprintReleasedMiB: Int
        /// Rounds appended after the drain until the hold released every sealed head.
        var roundsUntilReleased: Int
        /// Resident memory after `malloc_trim(0)` (glibc gives free pages back) once released, and
        /// how long that call took.
        var rssTrimmedMiB: Int64
        var trimSeconds: Double
    }

    func run() async throws {
        var o = benchStoreOptions()
        o.checkpointWALBytes = Int.max
        o.checkpointInterval = .max
        if let holdMinutes { o.sealedHold = Int64(holdMinutes) * 60_000 }
        o.headCutInterval = Int64(cutMinutes) * 60_000
        guard values == "ramp" || values == "noisy" else { throw ValidationError("--values is 'ramp' or 'noisy', not '\(values)'") }
        let noisy = values == "noisy"
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
                let k = Int(t / 10_000)
                let mantissa = noisy ? Int((UInt64(bitPattern: Int64(i &* 2_654_435_761 ^ k &* 40_503)) &* 0x9E37_79B9_7F4A_7C15) >> 40) % 10_000
                                     : (i &* 2_654_435_761 &+ k) % 10_000
                b.append(ref, t, Double(mantissa) / 100)
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
        let rssBefore = Tools.procStatus(0, "VmRSS") >> 20, footprintBefore = store.memoryFootprint >> 20
        Tools.log("hour-cut: cutting")
        let cut = try await OffPool.run { try round(boundary + 10_000) }
        let rssAfterCut = Tools.procStatus(0, "VmRSS") >> 20
        var rssDrainingMax = rssAfterCut
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
            rssDrainingMax = max(rssDrainingMax, Tools.procStatus(0, "VmRSS") >> 20)
            if drained.count > 10_000 { throw ValidationError("the sealed heads were not written after 10,000 rounds") }
        }
        let drain = Tools.now() - drainStart
        let afterWritten = try await window(t)
        let rssDrained = Tools.procStatus(0, "VmRSS") >> 20
        Tools.log("hour-cut: rounds until the hold releases the sealed heads")
        var roundsUntilReleased = 0
        while t <= boundary + o.sealedHold + 10_000 {
            t += 10_000
            let at = t
            _ = try await OffPool.run { try round(at) }
            roundsUntilReleased += 1
            if roundsUntilReleased > 1_000 { break }
        }
        // The sealing thread releases in the background: give it a moment after the last round.
        try await Task.sleep(for: .seconds(2))
        let rssReleased = Tools.procStatus(0, "VmRSS") >> 20, footprintReleased = store.memoryFootprint >> 20
        let trimStart = Tools.now()
        _ = malloc_trim(0)
        let trimSeconds = Tools.now() - trimStart, rssTrimmed = Tools.procStatus(0, "VmRSS") >> 20
        let figures = Figures(series: n, samplesPerHead: rounds, batch: size, steadyRoundSeconds: steady, cutRoundSeconds: cut,
                              cutCostPerSeriesMicroseconds: (cut - steady) / Double(n) * 1e6,
                              windowSeries: (n + every - 1) / every, drainSeconds: drain, roundsWhileDraining: drained.count,
                              slowestRoundWhileDrainingSeconds: drained.max() ?? 0,
                              meanRoundWhileDrainingSeconds: drained.isEmpty ? 0 : drained.reduce(0, +) / Double(drained.count),
                              windowBeforeSeconds: before, windowAfterSeconds: after, windowAfterWrittenSeconds: afterWritten,
                              rssBeforeMiB: rssBefore, rssAfterCutMiB: rssAfterCut, rssWhileDrainingMaxMiB: rssDrainingMax,
                              rssDrainedMiB: rssDrained, rssReleasedMiB: rssReleased, hwmMiB: Tools.procStatus(0, "VmHWM") >> 20,
                              footprintBeforeMiB: footprintBefore, footprintReleasedMiB: footprintReleased,
                              roundsUntilReleased: roundsUntilReleased, rssTrimmedMiB: rssTrimmed, trimSeconds: trimSeconds)
        FileHandle.standardOutput.write(try JSONEncoder().encode(figures) + Data("\n".utf8))
        store.close()
    }
}
