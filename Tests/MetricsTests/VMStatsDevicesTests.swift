import Foundation
import Libvirt
import Testing
@testable import StratusMetrics

/// Disk and network rates of `VMStatsCalculator` on Fixtures/domstats-*.txt: four reads 10 s
/// apart of `web` (2 vCPUs, disk vda, CD-ROM hdc with zero counters, empty CD-ROM sdc without
/// counters, NIC vnet0), `db` (1 vCPU, vda, vdb, vnet1) and `old` (shut off). Read 3: web
/// rebooted and db's vdb wr.bytes alone went down; read 4: web got vnet2 hot-plugged, db lost vdb.
@Suite struct VMStatsDevicesTests {
    static let host = "hosthosthosthosthosthosthosthost"
    static let web = "3f6f0c3e8f5a4c499d2a6e0c6b1f7a01"
    static let db = "a1b2c3d4000040008000000000000002"
    static let reads = ["domstats-1.txt", "domstats-2.txt", "domstats-3-reboot.txt", "domstats-4-hotplug.txt"]

    /// Runs reads 1…`upTo` (now = 0, 10 000, …) and returns the last one's values by VM.
    func run(upTo last: Int) throws -> [String: [String: Double]] {
        var calc = VMStatsCalculator()
        var samples: [Sample] = []
        for i in 0..<last {
            samples = calc.samples(from: try domainStatsFixture(Self.reads[i]), hostUuid: Self.host,
                                   stamp: 100_000 + Int64(i) * 10_000, now: Int64(i) * 10_000)
        }
        var byVM: [String: [Sample]] = [:]
        for s in samples {
            #expect(s.labels["HostUuid"] == Self.host)
            #expect(s.timestamp == 100_000 + Int64(last - 1) * 10_000)
            #expect(ZWatchName.split(s.labels.name)?.namespace == "ZStack/VM")
            byVM[s.labels["VMUuid"] ?? "?", default: []].append(s)
        }
        #expect(Set(byVM.keys).isSubset(of: [Self.web, Self.db]))
        return byVM.mapValues(valuesByMetric)
    }

    static func keys(_ v: [String: Double]?, _ prefix: String) -> Set<String> {
        Set((v ?? [:]).keys.filter { $0.hasPrefix(prefix) })
    }

    @Test func fixtureParses() throws {
        let r = try domainStatsFixture("domstats-1.txt")
        #expect(r.map(\.name) == ["web", "db", "old"])
        #expect(r[0].strings["block.1.name"] == "hdc")
        #expect(r[0].numbers["block.0.rd.bytes"] == 4_096_000)
        #expect(r[2].state == .shutoff)
    }

    @Test func firstReadEmitsNoRates() throws {
        let v = try run(upTo: 1)
        for vm in [Self.web, Self.db] {
            #expect(Self.keys(v[vm], "Disk").isEmpty)
            #expect(Self.keys(v[vm], "Network").isEmpty)
            #expect(Self.keys(v[vm], "Memory").count == 4)
        }
    }

    @Test func twoReadsGivePerDeviceRatesAndSums() throws {
        let v = try run(upTo: 2)
        let web = try #require(v[Self.web])
        // web over 10 s — vda: rd.reqs 1000 → 1500, rd.bytes 4096000 → 6144000, wr.reqs 300 → 400,
        // wr.bytes 1228800 → 1638400; hdc all 0; sdc has no counters.
        #expect(web["DiskReadOps/vda"] == 50)
        #expect(web["DiskReadBytes/vda"] == 204_800)
        #expect(web["DiskWriteOps/vda"] == 10)
        #expect(web["DiskWriteBytes/vda"] == 40_960)
        #expect(web["DiskReadOps/hdc"] == 0)
        #expect(web["DiskWriteBytes/hdc"] == 0)
        #expect(Self.keys(web, "Disk").filter { $0.hasSuffix("/sdc") }.isEmpty)
        #expect(web["DiskAllReadOps"] == 50)
        #expect(web["DiskAllReadBytes"] == 204_800)
        #expect(web["DiskAllWriteOps"] == 10)
        #expect(web["DiskAllWriteBytes"] == 40_960)
        // vnet0: rx 10000000 → 10500000 B, 8000 → 8400 pkts, 0 errs, drop 5 → 7;
        //        tx 2000000 → 2100000 B, 3000 → 3150 pkts, errs 1 → 1, drop 0.
        #expect(web["NetworkInBytes/vnet0"] == 50_000)
        #expect(web["NetworkInPackets/vnet0"] == 40)
        #expect(web["NetworkInErrors/vnet0"] == 0)
        #expect(web["NetworkInDroppedBytes/vnet0"] == 0.2)
        #expect(web["NetworkOutBytes/vnet0"] == 10_000)
        #expect(web["NetworkOutPackets/vnet0"] == 15)
        #expect(web["NetworkOutErrors/vnet0"] == 0)
        #expect(web["NetworkOutDroppedBytes/vnet0"] == 0)
        #expect(web["NetworkAllInBytes"] == 50_000)
        #expect(web["NetworkAllOutBytes"] == 10_000)
        #expect(web["NetworkAllInPackets"] == 40)
        #expect(web["NetworkAllOutPackets"] == 15)
        // cpu.time +12 s over 2 vCPUs; vcpu0 +7 s, vcpu1 +5 s.
        #expect(approx(web["CPUAllUsedUtilization"], 60))
        #expect(approx(web["CPUUsedUtilization/0"], 70))
        #expect(approx(web["CPUUsedUtilization/1"], 50))
        // balloon: 2097152 KiB current, 1048576 usable.
        #expect(web["MemoryUsedInPercent"] == 50)
        #expect(Self.keys(web, "Disk").count == 8 + 4)
        #expect(Self.keys(web, "Network").count == 8 + 4)

        let db = try #require(v[Self.db])
        // vda: 200 → 260 reads, 819200 → 1064960 B, 500 → 700 writes, 2048000 → 2867200 B.
        // vdb: 10 → 30, 40960 → 122880, 1000 → 1100, 8192000 → 9011200.
        #expect(db["DiskReadOps/vda"] == 6)
        #expect(db["DiskReadBytes/vda"] == 24_576)
        #expect(db["DiskWriteOps/vda"] == 20)
        #expect(db["DiskWriteBytes/vda"] == 81_920)
        #expect(db["DiskReadOps/vdb"] == 2)
        #expect(db["DiskReadBytes/vdb"] == 8_192)
        #expect(db["DiskWriteOps/vdb"] == 10)
        #expect(db["DiskWriteBytes/vdb"] == 81_920)
        #expect(db["DiskAllReadOps"] == 8)
        #expect(db["DiskAllReadBytes"] == 32_768)
        #expect(db["DiskAllWriteOps"] == 30)
        #expect(db["DiskAllWriteBytes"] == 163_840)
        // vnet1: rx 500000 → 530000 B, 1000 → 1030 pkts; tx 700000 → 780000 B, 900 → 960 pkts.
        #expect(db["NetworkInBytes/vnet1"] == 3_000)
        #expect(db["NetworkOutBytes/vnet1"] == 8_000)
        #expect(db["NetworkAllInPackets"] == 3)
        #expect(db["NetworkAllOutPackets"] == 6)
        // rss 262144 of 1048576 KiB.
        #expect(db["MemoryUsedInPercent"] == 25)
    }

    @Test func aRebootRebasesEveryCounterOfThatVMOnly() throws {
        let v = try run(upTo: 3)
        // web's cpu.time went down: memory only, not even hdc's unchanged zeros.
        let web = try #require(v[Self.web])
        #expect(Set(web.keys) == ["MemoryUsedBytes", "MemoryUsedInPercent", "MemoryFreeBytes", "MemoryFreeInPercent"])
        let db = try #require(v[Self.db])
        // db: only vdb's wr.bytes went down (9011200 → 4096): that counter alone is re-based.
        #expect(db["DiskWriteBytes/vdb"] == nil)
        #expect(db["DiskWriteOps/vdb"] == 5)
        #expect(db["DiskReadBytes/vdb"] == 8_192)
        #expect(db["DiskWriteBytes/vda"] == 40_960)
        // The sum covers the disks with a delta: vda alone for write bytes, both for the rest.
        #expect(db["DiskAllWriteBytes"] == 40_960)
        #expect(db["DiskAllWriteOps"] == 15)
        #expect(db["DiskAllReadOps"] == 6)
        #expect(db["DiskAllReadBytes"] == 24_576)
        #expect(approx(db["CPUAllUsedUtilization"], 80))
    }

    @Test func afterARebootAndAHotPlugRatesResume() throws {
        let v = try run(upTo: 4)
        let web = try #require(v[Self.web])
        // Against the re-based read 3 — vda: 40 → 140 reads, 163840 → 573440 B, 5 → 25 writes,
        // 20480 → 102400 B. vnet0 (now net.1): rx 3000 → 53000 B, 20 → 120 pkts, drop 0 → 1;
        // tx 1500 → 21500 B, 10 → 60 pkts. vnet2 is new: nothing yet, and not in the sums.
        #expect(web["DiskReadOps/vda"] == 10)
        #expect(web["DiskReadBytes/vda"] == 40_960)
        #expect(web["DiskWriteOps/vda"] == 2)
        #expect(web["DiskWriteBytes/vda"] == 8_192)
        #expect(web["NetworkInBytes/vnet0"] == 5_000)
        #expect(web["NetworkInPackets/vnet0"] == 10)
        #expect(web["NetworkInDroppedBytes/vnet0"] == 0.1)
        #expect(web["NetworkOutBytes/vnet0"] == 2_000)
        #expect(Self.keys(web, "Network").filter { $0.hasSuffix("/vnet2") }.isEmpty)
        #expect(web["NetworkAllInBytes"] == 5_000)
        #expect(web["NetworkAllOutBytes"] == 2_000)
        #expect(web["NetworkAllInPackets"] == 10)
        #expect(web["NetworkAllOutPackets"] == 5)
        // cpu.time 3 → 13 s over 2 vCPUs; vcpu0 1.5 → 7.5 s; vcpu1 1.2 → 5.2 s.
        #expect(approx(web["CPUAllUsedUtilization"], 50))
        #expect(approx(web["CPUUsedUtilization/0"], 60))
        #expect(approx(web["CPUUsedUtilization/1"], 40))

        let db = try #require(v[Self.db])
        // vdb was unplugged: nothing for it, the sums are vda's (300 → 350 reads, 1228800 → 1433600 B).
        #expect(db.keys.filter { $0.hasSuffix("/vdb") }.isEmpty)
        #expect(db["DiskReadOps/vda"] == 5)
        #expect(db["DiskAllReadOps"] == 5)
        #expect(db["DiskAllReadBytes"] == 20_480)
    }

    @Test func aHotPluggedNICGetsRatesFromItsSecondRead() throws {
        var calc = VMStatsCalculator()
        var four = try domainStatsFixture("domstats-4-hotplug.txt")
        _ = calc.samples(from: four, hostUuid: Self.host, stamp: 0, now: 0)
        // 10 s later vnet2 (net.0) moved 100 → 10100 B received.
        four[0].numbers["net.0.rx.bytes"] = 10_100
        let web = valuesByMetric(calc.samples(from: four, hostUuid: Self.host, stamp: 0, now: 10_000).filter { $0.labels["VMUuid"] == Self.web })
        #expect(web["NetworkInBytes/vnet2"] == 1_000)
        #expect(web["NetworkInBytes/vnet0"] == 0)
        #expect(web["NetworkAllInBytes"] == 1_000)
    }

    @Test func hostCountsListEveryDomainAndTheRunningOnes() throws {
        let records = try domainStatsFixture("domstats-1.txt")
        let samples = VMStatsCalculator.hostCountSamples(from: records, hostUuid: Self.host, stamp: 7_000)
        #expect(samples.count == 2)
        for s in samples {
            #expect(s.labels.withoutName == ["HostUuid": Self.host])
            #expect(s.timestamp == 7_000)
        }
        let v = valuesByMetric(samples)
        #expect(v == ["VMCount": 3, "RunningVMCount": 2])
        #expect(valuesByMetric(VMStatsCalculator.hostCountSamples(from: [], hostUuid: Self.host, stamp: 0)) == ["VMCount": 0, "RunningVMCount": 0])
    }
}
