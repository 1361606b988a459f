import Alarms
import ArgumentParser
import Foundation
import StratusMetrics

/// `StratusBench alarms`: 100,000 `Any` alarms, each on one VM (`VMUuid=<uuid>`), over 100,000 VMs'
/// `ZStack/VM` `CPUAverageUsedUtilization` in a real `RocksMetricStore` (temp dir), 10 s interval,
/// period 300 s, with 400 s of history so the period is full. 1 % of the VMs are hot and fire in
/// the first round; 0.1 % fire in steady round 2 (their only cool sample leaves the period) and
/// 0.1 % of the hot ones cool down and recover in steady round 3.
///
/// Prints series / alarms, samples loaded per round, the first round's time, the median of the
/// steady rounds (+10 s each, a new sample per VM appended before each), transitions / notices per
/// round, the `select` alone, and peak RSS (`bash Benchmarks/alarms.sh`).
struct AlarmBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "alarms", abstract: "Alarm evaluation rounds at 100 k alarms × 100 k VMs.")

    @Option(help: "VMs (= series = alarms).") var vms = 100_000
    @Option(help: "Steady rounds after the first.") var rounds = 5
    @Option(help: "Alarm period (s).") var period = 300
    @Option(help: "Store directory (default: a temp dir, removed at the end).") var dir: String?

    static let interval: Int64 = 10_000
    static let metric = "CPUAverageUsedUtilization"

    /// 32 hex digits, deterministic.
    static func vmUuid(_ i: Int) -> String {
        let h = String(UInt64(i) &* 0x9E37_79B9_7F4A_7C15, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h + String(format: "%016x", i)
    }

    /// CPU % of VM `i` at step `k` (step 0 = oldest history sample).
    static func value(_ i: Int, _ k: Int, historySteps: Int) -> Double {
        let noise = Double((i &* 2_654_435_761 &+ k &* 40_503) % 1_000) / 100  // 0 ..< 10
        if i % 1_000 == 100 && k >= historySteps + 2 { return 40 + noise }   // hot, cools at steady round 3
        if i % 100 == 0 { return 82 + noise }                                  // hot: fires in the first round
        if i % 1_000 == 51 { return k == historySteps - 29 ? 50 : 85 + noise } // fires at steady round 2
        return 5 + 5 * noise                                                   // 5 … 55
    }

    /// CPU seconds of the whole process (every thread: the evaluator and the store's select).
    static func cpu() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func run() async throws {
        let dir = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("stratus-alarms-\(UUID().uuidString)").path
        let ownDir = self.dir == nil
        defer { if ownDir { try? FileManager.default.removeItem(atPath: dir) } }
        let vms = vms, periodMs = Int64(period) * 1000
        let historySteps = Int(periodMs / Self.interval) + 10
        // The newest history sample is at `now`, on the 10 s grid.
        let now = (SystemWallClock().now() / Self.interval) * Self.interval
        let firstStep = historySteps - 1
        @Sendable func time(_ k: Int) -> Int64 { now - Int64(firstStep - k) * Self.interval }

        let store = try RocksMetricStore(path: dir + "/metrics")
        Tools.log("alarms: writing \(vms) VMs × \(historySteps) samples into \(dir)")
        let t0 = Tools.now()
        let refs: [SeriesRef] = try await OffPool.run {
            var refs: [SeriesRef] = []
            refs.reserveCapacity(vms)
            for i in 0..<vms {
                let labels = ZWatchName.labels(namespace: "ZStack/VM", metricName: Self.metric,
                                               ["VMUuid": Self.vmUuid(i), "HostUuid": Self.vmUuid(1_000_000 + i % 10_000)])
                refs.append(try store.seriesRef(for: labels))
            }
            var batch = SampleBatch(capacity: 100_000)
            for k in 0..<historySteps {
                for i in 0..<vms {
                    batch.append(refs[i], time(k), Self.value(i, k, historySteps: historySteps))
                    if batch.count == 100_000 { _ = try store.append(batch); batch.removeAll() }
                }
            }
            if !batch.isEmpty { _ = try store.append(batch) }
            return refs
        }
        let ingestSeconds = Tools.now() - t0
        Tools.log(String(format: "alarms: history written in %.1f s", ingestSeconds))

        let rules = (0..<vms).map { i in
            AlarmRule(uuid: String(format: "a%031x", i), name: "cpu \(i)", namespace: "ZStack/VM", metricName: Self.metric,
                      labels: [AlarmLabel(key: "VMUuid", value: Self.vmUuid(i))], comparisonOperator: .greaterThanOrEqualTo,
                      threshold: 80, period: period, type: .any, repeatInterval: 1800, repeatCount: -1,
                      enableRecovery: true, emergencyLevel: .important, actions: ["topic-ops"])
        }
        let evaluator = AlarmEvaluator(states: [], metrics: store)
        let rssBefore = Tools.procStatus(0, "VmRSS")

        var lines: [String] = []
        func report(_ label: String, _ seconds: Double, _ cpu: Double, _ c: AlarmRoundCommit, _ s: AlarmRoundStats) {
            let fired = c.history.filter { $0.currentStatus == .alarm }.count
            let recovered = c.history.filter { $0.currentStatus == .ok }.count
            let line = "| \(label) | \(String(format: "%.3f", seconds)) | \(String(format: "%.3f", cpu)) | \(s.series) | \(s.samples) | \(s.instances) | "
                + "\(c.history.count) (\(fired) → Alarm, \(recovered) → OK) | \(c.notices.count) | \(c.states.count) |"
            lines.append(line)
            Tools.log(line)
        }

        var t = Tools.now()
        var cpu0 = Self.cpu()
        let first = try await evaluator.evaluate(rules, at: now)
        let firstSeconds = Tools.now() - t
        report("first", firstSeconds, Self.cpu() - cpu0, first, await evaluator.lastRound)

        var steady: [Double] = []
        var steadyCPU: [Double] = []
        for r in 1...max(rounds, 1) {
            let k = firstStep + r
            try await OffPool.run {
                var batch = SampleBatch(capacity: vms)
                for i in 0..<vms { batch.append(refs[i], time(k), Self.value(i, k, historySteps: historySteps)) }
                _ = try store.append(batch)
            }
            t = Tools.now()
            cpu0 = Self.cpu()
            let c = try await evaluator.evaluate(rules, at: time(k))
            let seconds = Tools.now() - t
            let cpu = Self.cpu() - cpu0
            steady.append(seconds)
            steadyCPU.append(cpu)
            report("steady \(r)", seconds, cpu, c, await evaluator.lastRound)
        }

        // The store's select alone, as the round issues it (3 runs, median).
        let last = time(firstStep + max(rounds, 1))
        var selects: [Double] = []
        var selectsCPU: [Double] = []
        var selected = 0
        for _ in 0..<3 {
            t = Tools.now()
            cpu0 = Self.cpu()
            let series = try await store.select([.equal(Labels.nameKey, ZWatchName.seriesName(namespace: "ZStack/VM", metricName: Self.metric))],
                                                from: last - periodMs + 1, to: last)
            selects.append(Tools.now() - t)
            selectsCPU.append(Self.cpu() - cpu0)
            selected = series.count
        }

        // The store's window aggregates (the `AggregatingStore` fast path), same window, for comparison.
        var aggs: [Double] = []
        var aggsCPU: [Double] = []
        for _ in 0..<3 {
            t = Tools.now()
            cpu0 = Self.cpu()
            _ = try await store.aggregateWindows([.equal(Labels.nameKey, ZWatchName.seriesName(namespace: "ZStack/VM", metricName: Self.metric))],
                                                 start: last, end: last, step: periodMs, window: periodMs)
            aggs.append(Tools.now() - t)
            aggsCPU.append(Self.cpu() - cpu0)
        }

        let median = steady.sorted()[steady.count / 2]
        let selectMedian = selects.sorted()[1]
        let cpuMedian = steadyCPU.sorted()[steadyCPU.count / 2]
        let selectCPUMedian = selectsCPU.sorted()[1]
        var out = """
            # Alarm evaluation benchmark

            \(vms) series / \(vms) alarms (type Any, `VMUuid=<uuid>`, >= 80 for \(period) s), RocksMetricStore, 10 s interval, \
            \(historySteps) samples of history per series (written in \(String(format: "%.1f", ingestSeconds)) s).

            | round | wall s | CPU s | series | samples loaded | instances | transitions | notices | states committed |
            |---|---|---|---|---|---|---|---|---|

            """
        out += lines.joined(separator: "\n") + "\n\n"
        out += String(format: "- first round: %.3f s; steady rounds median of %d: %.3f s wall, %.3f s CPU", firstSeconds, steady.count, median, cpuMedian)
            + " (target < 1 s: \(median < 1 ? "met" : "NOT met") on wall time)\n"
        out += String(format: "- `select(__name__=…, %d s)` alone (for comparison; a round reads by `aggregateSeries`): %.3f s wall / %.3f s CPU, median of 3 (%d series)\n",
                      period, selectMedian, selectCPUMedian, selected)
        out += String(format: "- `aggregateWindows(__name__=…, one %d s window)` alone: %.3f s wall / %.3f s CPU, median of 3\n", period, aggs.sorted()[1], aggsCPU.sorted()[1])
        out += "- load average while running: \((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?") on \(ProcessInfo.processInfo.activeProcessorCount) cores\n"
        out += "- peak RSS (VmHWM): \(Tools.procStatus(0, "VmHWM") >> 20) MiB; RSS before the first round \(rssBefore >> 20) MiB, after the last \(Tools.procStatus(0, "VmRSS") >> 20) MiB\n"
        print(out)
        store.close()
    }
}
