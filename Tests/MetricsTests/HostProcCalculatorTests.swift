import Foundation
import Testing
@testable import StratusMetrics

/// Expected numbers are worked out by hand from the jiffies in Fixtures/host-proc (stat-1 and
/// stat-2 recorded 5 s apart on a 2-CPU machine; stat-3 crafted with cpu1 and the total reset;
/// stat-4 crafted after it). total = user+nice+system+idle+iowait+irq+softirq+steal.
@Suite struct HostProcCalculatorTests {
    private let uuid = "host-1"

    /// Values by metric name and CPUNum ("" for none).
    private func byMetric(_ samples: [Sample]) -> [String: Double] {
        var out: [String: Double] = [:]
        for s in samples {
            let metric = ZWatchName.split(s.labels.name)!.metricName
            out[metric + (s.labels["CPUNum"].map { "/" + $0 } ?? "")] = s.value
        }
        return out
    }

    private func read(_ calc: inout HostProcCalculator, _ stat: String, _ meminfo: String = "meminfo-1.txt", stamp: Int64 = 10_000) throws -> [Sample] {
        try calc.samples(procStat: try hostProcFixture(stat), meminfo: try hostProcFixture(meminfo), hostUuid: uuid, stamp: stamp)
    }

    private let memoryMetrics: Set<String> = ["MemoryUsedBytes", "MemoryUsedInPercent", "MemoryFreeBytes", "MemoryFreeInPercent"]

    @Test func firstReadEmitsMemoryOnly() throws {
        var calc = HostProcCalculator()
        let samples = try read(&calc, "stat-1.txt")
        let m = byMetric(samples)
        #expect(Set(m.keys) == memoryMetrics)
        // meminfo-1: MemTotal 24684084 kB, MemAvailable 24173168 kB.
        #expect(m["MemoryUsedBytes"] == Double((24_684_084 - 24_173_168) * 1024))
        #expect(m["MemoryFreeBytes"] == Double(24_173_168 * 1024))
        #expect(m["MemoryUsedInPercent"] == Double(510_916) / Double(24_684_084) * 100)
        #expect(m["MemoryFreeInPercent"] == Double(24_173_168) / Double(24_684_084) * 100)
        for s in samples {
            #expect(s.labels["HostUuid"] == uuid)
            #expect(s.timestamp == 10_000)
            #expect(ZWatchName.split(s.labels.name)?.namespace == "ZStack/Host")
        }
    }

    @Test func secondReadEmitsCPUFromJiffyDeltas() throws {
        var calc = HostProcCalculator()
        _ = try read(&calc, "stat-1.txt")
        let m = byMetric(try read(&calc, "stat-2.txt", "meminfo-2.txt", stamp: 20_000))
        // cpu0: Δuser 8, Δsystem 8, Δidle 481 → total 497, used 16.
        #expect(m["CPUUsedUtilization/0"] == 16.0 / 497 * 100)
        #expect(m["CPUIdleUtilization/0"] == 481.0 / 497 * 100)
        // cpu1: Δuser 8, Δsystem 5, Δidle 488, Δsoftirq 1 → total 502, used 14.
        #expect(m["CPUUsedUtilization/1"] == 14.0 / 502 * 100)
        #expect(m["CPUIdleUtilization/1"] == 488.0 / 502 * 100)
        #expect(m["CPUAverageUsedUtilization"] == (16.0 / 497 * 100 + 14.0 / 502 * 100) / 2)
        // cpu: Δuser 16, Δsystem 14, Δidle 968, Δiowait 0, Δsoftirq 1 → total 999, used 31.
        #expect(m["CPUAllUsedUtilization"] == 31.0 / 999 * 100)
        #expect(m["CPUAllIdleUtilization"] == 968.0 / 999 * 100)
        #expect(m["CPUUserUtilization"] == 16.0 / 999 * 100)
        #expect(m["CPUSystemUtilization"] == 14.0 / 999 * 100)
        #expect(m["CPUWaitUtilization"] == 0)
        // meminfo-2: MemAvailable 24190112 kB.
        #expect(m["MemoryFreeBytes"] == Double(24_190_112 * 1024))
        #expect(m.count == 4 + 1 + 5 + 4)
    }

    @Test func counterThatWentDownRebasesAndEmitsNothingThenResumes() throws {
        var calc = HostProcCalculator()
        _ = try read(&calc, "stat-1.txt")
        _ = try read(&calc, "stat-2.txt")
        let reset = byMetric(try read(&calc, "stat-3-reset.txt"))
        // cpu1 and the total went down: nothing for them. cpu0: Δuser 30, Δsystem 17, Δidle 89,
        // Δiowait 10, Δsoftirq 1, Δsteal 1 → total 148, used 49.
        #expect(Set(reset.keys) == memoryMetrics.union(["CPUUsedUtilization/0", "CPUIdleUtilization/0", "CPUAverageUsedUtilization"]))
        #expect(reset["CPUUsedUtilization/0"] == 49.0 / 148 * 100)
        #expect(reset["CPUIdleUtilization/0"] == 89.0 / 148 * 100)
        #expect(reset["CPUAverageUsedUtilization"] == 49.0 / 148 * 100)

        let after = byMetric(try read(&calc, "stat-4-after-reset.txt"))
        // Deltas against the re-based stat-3. cpu0: Δuser 100, Δsystem 50, Δidle 100, Δiowait 10 → 260, used 150.
        #expect(after["CPUUsedUtilization/0"] == 150.0 / 260 * 100)
        // cpu1: Δuser 200, Δsystem 50, Δidle 100 → 350, used 250.
        #expect(after["CPUUsedUtilization/1"] == 250.0 / 350 * 100)
        #expect(after["CPUIdleUtilization/1"] == 100.0 / 350 * 100)
        // cpu: Δuser 300, Δsystem 100, Δidle 200, Δiowait 10 → 610, used 400.
        #expect(after["CPUAllUsedUtilization"] == 400.0 / 610 * 100)
        #expect(after["CPUAllIdleUtilization"] == 200.0 / 610 * 100)
        #expect(after["CPUUserUtilization"] == 300.0 / 610 * 100)
        #expect(after["CPUSystemUtilization"] == 100.0 / 610 * 100)
        #expect(after["CPUWaitUtilization"] == 10.0 / 610 * 100)
    }

    @Test func parseErrorsNameFileAndLineAndKeepTheState() throws {
        var calc = HostProcCalculator()
        _ = try read(&calc, "stat-1.txt")
        let meminfo = try hostProcFixture("meminfo-1.txt")
        #expect(throws: MetricsError.corrupt(key: "/proc/stat line 2", reason: "expected at least 4 non-negative jiffy counters after 'cpu0': 'cpu0 1 x 3 4'")) {
            try calc.samples(procStat: "cpu  1 2 3 4\ncpu0 1 x 3 4\n", meminfo: meminfo, hostUuid: uuid, stamp: 0)
        }
        #expect {
            try calc.samples(procStat: "intr 1 2\n", meminfo: meminfo, hostUuid: uuid, stamp: 0)
        } throws: { error in
            guard case let MetricsError.corrupt(key, _) = error else { return false }
            return key == "/proc/stat"
        }
        #expect(throws: MetricsError.corrupt(key: "/proc/meminfo line 1", reason: "expected 'MemTotal: <number> kB', found 'MemTotal: lots kB'")) {
            try calc.samples(procStat: try hostProcFixture("stat-2.txt"), meminfo: "MemTotal: lots kB\n", hostUuid: uuid, stamp: 0)
        }
        #expect(throws: MetricsError.self) {
            try calc.samples(procStat: try hostProcFixture("stat-2.txt"), meminfo: "MemFree: 1 kB\n", hostUuid: uuid, stamp: 0)
        }
        // The failed reads changed nothing: stat-2 still deltas against stat-1.
        let m = byMetric(try read(&calc, "stat-2.txt"))
        #expect(m["CPUAllUsedUtilization"] == 31.0 / 999 * 100)
    }

    @Test func memAvailableFallsBackOnOldKernels() throws {
        var calc = HostProcCalculator()
        let m = byMetric(try calc.samples(
            procStat: "cpu  1 2 3 4\n", meminfo: "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n",
            hostUuid: uuid, stamp: 0))
        #expect(m["MemoryFreeBytes"] == Double(400 * 1024))
        #expect(m["MemoryUsedInPercent"] == 60.0)
    }
}
