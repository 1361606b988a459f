import Foundation
import Libvirt
import StratusMetrics
import Testing

@Suite struct VMStatsCalculatorTests {
    static let host = "hosthosthosthosthosthosthosthost"
    static let uuid = "6695EB01-f6a4-8304-79aa-97f2502e193f"
    static let vm = "6695eb01f6a4830479aa97f2502e193f"

    /// A running 2-vCPU domain with 1 GiB of balloon memory.
    static func record(cpu: Double, vcpu0: Double, vcpu1: Double, state: DomainState = .running,
                       usable: Double? = 262_144, rss: Double? = nil, uuid: String = uuid, id: UInt32? = nil) -> DomainStatsRecord {
        var n: [String: Double] = [
            "state.state": Double(state.rawValue), "cpu.time": cpu, "vcpu.current": 2,
            "vcpu.0.time": vcpu0, "vcpu.1.time": vcpu1, "balloon.current": 1_048_576, "balloon.maximum": 2_097_152,
        ]
        n["balloon.usable"] = usable
        n["balloon.rss"] = rss
        return DomainStatsRecord(uuid: uuid, name: "vm", numbers: n, domainID: id)
    }

    /// Values by metric name (and CPUNum), checking every sample's labels and stamp on the way.
    static func values(_ samples: [Sample], stamp: Int64, vm: String = vm) -> [String: Double] {
        var out: [String: Double] = [:]
        for s in samples {
            #expect(s.timestamp == stamp)
            #expect(s.labels["VMUuid"] == vm)
            #expect(s.labels["HostUuid"] == host)
            let name = ZWatchName.split(s.labels.name)
            #expect(name?.namespace == "ZStack/VM")
            let key = (name?.metricName ?? "?") + (s.labels["CPUNum"].map { "#\($0)" } ?? "")
            #expect(out[key] == nil, "duplicate sample \(key)")
            out[key] = s.value
        }
        return out
    }

    static let cpuKeys: Set<String> = [
        "CPUUsedUtilization#0", "CPUUsedUtilization#1", "CPUIdleUtilization#0", "CPUIdleUtilization#1",
        "CPUAverageUsedUtilization", "CPUAllUsedUtilization", "CPUAllIdleUtilization",
    ]
    static let memoryKeys: Set<String> = ["MemoryUsedBytes", "MemoryUsedInPercent", "MemoryFreeBytes", "MemoryFreeInPercent"]

    @Test func firstReadEmitsMemoryOnly() {
        var calc = VMStatsCalculator()
        let v = Self.values(calc.samples(from: [Self.record(cpu: 5e9, vcpu0: 2e9, vcpu1: 3e9)],
                                         hostUuid: Self.host, stamp: 1_000_000, now: 1_000_123), stamp: 1_000_000)
        #expect(Set(v.keys) == Self.memoryKeys)
        // used = 1048576 − 262144 = 786432 KiB of 1048576 KiB.
        #expect(v["MemoryUsedBytes"] == Double(786_432 * 1024))
        #expect(v["MemoryUsedInPercent"] == 75)
        #expect(v["MemoryFreeBytes"] == Double(262_144 * 1024))
        #expect(v["MemoryFreeInPercent"] == 25)
    }

    @Test func twoReadsGiveExactPercentages() {
        var calc = VMStatsCalculator()
        _ = calc.samples(from: [Self.record(cpu: 5e9, vcpu0: 2e9, vcpu1: 3e9)], hostUuid: Self.host, stamp: 0, now: 1_000)
        // 10 s later: cpu.time +15 s of CPU over 2 vCPUs → 75 %; vcpu0 +10 s → 100 %; vcpu1 +5 s → 50 %.
        let v = Self.values(calc.samples(from: [Self.record(cpu: 20e9, vcpu0: 12e9, vcpu1: 8e9)],
                                         hostUuid: Self.host, stamp: 10_000, now: 11_000), stamp: 10_000)
        #expect(Set(v.keys) == Self.cpuKeys.union(Self.memoryKeys))
        #expect(v["CPUUsedUtilization#0"] == 100)
        #expect(v["CPUIdleUtilization#0"] == 0)
        #expect(v["CPUUsedUtilization#1"] == 50)
        #expect(v["CPUIdleUtilization#1"] == 50)
        #expect(v["CPUAverageUsedUtilization"] == 75)
        #expect(v["CPUAllUsedUtilization"] == 75)
        #expect(v["CPUAllIdleUtilization"] == 25)
    }

    @Test func rssIsUsedWhenTheGuestReportsNoUsable() {
        var calc = VMStatsCalculator()
        let v = Self.values(calc.samples(from: [Self.record(cpu: 0, vcpu0: 0, vcpu1: 0, usable: nil, rss: 131_072)],
                                         hostUuid: Self.host, stamp: 0, now: 0), stamp: 0)
        #expect(v["MemoryUsedBytes"] == Double(131_072 * 1024))
        #expect(v["MemoryUsedInPercent"] == 12.5)
        #expect(v["MemoryFreeBytes"] == Double(917_504 * 1024))
        #expect(v["MemoryFreeInPercent"] == 87.5)
    }

    @Test func percentagesAreClamped() {
        var calc = VMStatsCalculator()
        _ = calc.samples(from: [Self.record(cpu: 0, vcpu0: 0, vcpu1: 0, usable: -4)], hostUuid: Self.host, stamp: 0, now: 0)
        // 1 s elapsed but vcpu0 claims 1.5 s and cpu.time 3 s over 2 vCPUs; usable above current.
        let v = Self.values(calc.samples(from: [Self.record(cpu: 3e9, vcpu0: 1.5e9, vcpu1: 0, usable: 2_000_000)],
                                         hostUuid: Self.host, stamp: 1_000, now: 1_000), stamp: 1_000)
        #expect(v["CPUUsedUtilization#0"] == 100)
        #expect(v["CPUUsedUtilization#1"] == 0)
        #expect(v["CPUAllUsedUtilization"] == 100)
        #expect(v["CPUAllIdleUtilization"] == 0)
        #expect(v["MemoryUsedInPercent"] == 0)
        #expect(v["MemoryFreeInPercent"] == 100)
    }

    @Test func aCounterThatWentDownEmitsNothingThenRebases() {
        var calc = VMStatsCalculator()
        _ = calc.samples(from: [Self.record(cpu: 10e9, vcpu0: 5e9, vcpu1: 5e9)], hostUuid: Self.host, stamp: 0, now: 0)
        // vcpu1's counter was reset; the others advanced normally over 10 s.
        let step = Self.values(calc.samples(from: [Self.record(cpu: 20e9, vcpu0: 10e9, vcpu1: 1e9)],
                                            hostUuid: Self.host, stamp: 10_000, now: 10_000), stamp: 10_000)
        #expect(step["CPUUsedUtilization#1"] == nil)
        #expect(step["CPUIdleUtilization#1"] == nil)
        #expect(step["CPUUsedUtilization#0"] == 50)
        #expect(step["CPUAverageUsedUtilization"] == 50)
        #expect(step["CPUAllUsedUtilization"] == 50)
        // Re-based at 1e9: +2 s over the next 10 s is 20 %.
        let next = Self.values(calc.samples(from: [Self.record(cpu: 30e9, vcpu0: 15e9, vcpu1: 3e9)],
                                            hostUuid: Self.host, stamp: 20_000, now: 20_000), stamp: 20_000)
        #expect(next["CPUUsedUtilization#1"] == 20)
        #expect(next["CPUAverageUsedUtilization"] == 35)
    }

    @Test func aRebootEmitsNoCPUForThatStep() {
        var calc = VMStatsCalculator()
        _ = calc.samples(from: [Self.record(cpu: 500e9, vcpu0: 250e9, vcpu1: 250e9)], hostUuid: Self.host, stamp: 0, now: 0)
        // Rebooted: every CPU counter restarted near zero.
        let reboot = Self.values(calc.samples(from: [Self.record(cpu: 2e9, vcpu0: 1e9, vcpu1: 1e9)],
                                              hostUuid: Self.host, stamp: 10_000, now: 10_000), stamp: 10_000)
        #expect(Set(reboot.keys) == Self.memoryKeys)
        let after = Self.values(calc.samples(from: [Self.record(cpu: 6e9, vcpu0: 3e9, vcpu1: 3e9)],
                                             hostUuid: Self.host, stamp: 20_000, now: 20_000), stamp: 20_000)
        #expect(after["CPUAllUsedUtilization"] == 20)
        #expect(after["CPUUsedUtilization#0"] == 20)
    }

    /// Destroyed and started again between two reads, the new process already has more CPU time than
    /// the old one had: only the changed domain id tells, and no bogus rate is emitted.
    @Test func aNewDomainIDIsARestartEvenWhenCountersGrew() {
        var calc = VMStatsCalculator()
        _ = calc.samples(from: [Self.record(cpu: 1e9, vcpu0: 0.5e9, vcpu1: 0.5e9, id: 7)], hostUuid: Self.host, stamp: 0, now: 0)
        let restart = Self.values(calc.samples(from: [Self.record(cpu: 4e9, vcpu0: 2e9, vcpu1: 2e9, id: 8)],
                                               hostUuid: Self.host, stamp: 10_000, now: 10_000), stamp: 10_000)
        #expect(Set(restart.keys) == Self.memoryKeys)
        // Same id again: +2 s per vCPU over 10 s is 20 %, measured from the new process's counters.
        let after = Self.values(calc.samples(from: [Self.record(cpu: 8e9, vcpu0: 4e9, vcpu1: 4e9, id: 8)],
                                             hostUuid: Self.host, stamp: 20_000, now: 20_000), stamp: 20_000)
        #expect(after["CPUUsedUtilization#0"] == 20)
        #expect(after["CPUAllUsedUtilization"] == 20)
        // An unchanged id with growing counters is a normal step (the same numbers with id 7 → 7 emit rates).
        var steady = VMStatsCalculator()
        _ = steady.samples(from: [Self.record(cpu: 1e9, vcpu0: 0.5e9, vcpu1: 0.5e9, id: 7)], hostUuid: Self.host, stamp: 0, now: 0)
        let step = Self.values(steady.samples(from: [Self.record(cpu: 4e9, vcpu0: 2e9, vcpu1: 2e9, id: 7)],
                                              hostUuid: Self.host, stamp: 10_000, now: 10_000), stamp: 10_000)
        #expect(step["CPUUsedUtilization#0"] == 15)
    }

    @Test func aStoppedOrVanishedVMEmitsNothingAndIsForgotten() {
        var calc = VMStatsCalculator()
        let other = "00000000-0000-0000-0000-000000000002"
        _ = calc.samples(from: [Self.record(cpu: 1e9, vcpu0: 1e9, vcpu1: 1e9),
                                Self.record(cpu: 1e9, vcpu0: 1e9, vcpu1: 1e9, uuid: other)],
                         hostUuid: Self.host, stamp: 0, now: 0)
        #expect(calc.trackedDomainCount == 2)
        // The first VM is shut off, the other is no longer listed.
        let stopped = calc.samples(from: [Self.record(cpu: 2e9, vcpu0: 2e9, vcpu1: 2e9, state: .shutoff)],
                                   hostUuid: Self.host, stamp: 10_000, now: 10_000)
        #expect(stopped.isEmpty)
        #expect(calc.trackedDomainCount == 0)
        // Both start again: a first read once more, so memory only.
        let again = calc.samples(from: [Self.record(cpu: 3e9, vcpu0: 3e9, vcpu1: 3e9),
                                        Self.record(cpu: 3e9, vcpu0: 3e9, vcpu1: 3e9, uuid: other)],
                                 hostUuid: Self.host, stamp: 20_000, now: 20_000)
        #expect(Set(again.compactMap { ZWatchName.split($0.labels.name)?.metricName }) == Self.memoryKeys)
        #expect(Set(again.compactMap { $0.labels["VMUuid"] }) == [Self.vm, "00000000000000000000000000000002"])
    }

    @Test func pausedVMEmitsNothing() {
        var calc = VMStatsCalculator()
        #expect(calc.samples(from: [Self.record(cpu: 1e9, vcpu0: 1e9, vcpu1: 1e9, state: .paused)],
                             hostUuid: Self.host, stamp: 0, now: 0).isEmpty)
    }

    @Test func collectorReadsTheRealTestDriver() async throws {
        var specs = TestDriverNode.DomainSpec.demo(hostName: "collector-host")
        specs.append(TestDriverNode.DomainSpec(name: "off", uuid: "99999999-8888-4777-8666-555555555555", running: false))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-vmc-\(UUID().uuidString).xml").path
        try TestDriverNode.xml(hostName: "collector-host", cpus: 16, memoryMiB: 32768, domains: specs)
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let collector = LibvirtVMCollector(connection: try LibvirtConnection(uri: "test://\(path)"), hostUuid: Self.host)
        #expect(collector.name == "vms@test://\(path)")
        let clock = SystemWallClock()
        let first = try await collector.collect(stamp: 10_000, now: clock.now())
        try await Task.sleep(for: .milliseconds(1_100))
        let second = try await collector.collect(stamp: 20_000, now: clock.now())

        let running = specs.filter(\.running)
        let expectedVMs = Set(running.map { VMStatsCalculator.zstackUuid($0.uuid) })
        for (samples, stamp) in [(first, Int64(10_000)), (second, 20_000)] {
            #expect(Set(samples.compactMap { $0.labels["VMUuid"] }) == expectedVMs)
            for s in samples {
                #expect(s.timestamp == stamp)
                #expect(s.labels["HostUuid"] == Self.host)
                if s.labels.name.hasSuffix("Percent") || s.labels.name.hasSuffix("Utilization") {
                    #expect((0...100).contains(s.value), "\(s.labels) = \(s.value)")
                }
            }
        }
        #expect(!first.contains { $0.labels.name.contains("CPU") })

        for spec in running {
            let vm = VMStatsCalculator.zstackUuid(spec.uuid)
            let mine = second.filter { $0.labels["VMUuid"] == vm }
            func value(_ metric: String) -> Double? {
                mine.first { $0.labels.name == ZWatchName.seriesName(namespace: "ZStack/VM", metricName: metric) }?.value
            }
            #expect(value("CPUAllUsedUtilization") != nil)
            #expect(value("MemoryUsedBytes").map { $0 > 0 && $0 <= Double(spec.memoryMiB) * 1_048_576 } == true)
            let cpuNums = Set(mine.filter { $0.labels.name.hasSuffix("::CPUUsedUtilization") }.compactMap { $0.labels["CPUNum"] })
            #expect(cpuNums == Set((0..<spec.vcpus).map(String.init)))
        }
        // The test driver's cpu.time grows at one CPU per second whatever the vCPU count, so the
        // 1-vCPU demo VM reads busier than the 8-vCPU one.
        func all(_ spec: TestDriverNode.DomainSpec) -> Double? {
            second.first { $0.labels["VMUuid"] == VMStatsCalculator.zstackUuid(spec.uuid) && $0.labels.name.hasSuffix("::CPUAllUsedUtilization") }?.value
        }
        let one = try #require(running.first { $0.vcpus == 1 })
        let eight = try #require(running.first { $0.vcpus == 8 })
        #expect(try #require(all(one)) > #require(all(eight)))
    }
}
