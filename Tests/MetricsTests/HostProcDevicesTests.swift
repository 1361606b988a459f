import Foundation
import Testing
@testable import StratusMetrics

/// Disk, network, load and capacity metrics of `HostProcCalculator` on Fixtures/proc-*:
/// proc-1 and proc-2 recorded on this 2-CPU machine 4.177 s apart (8 MiB written and read with
/// O_DIRECT, 250 UDP packets over lo, a few DNS lookups between them); proc-3-reset hand-edited
/// 10 s later (vda's counters reset, vdb and eth1 hot-plugged, eth0's receive counters reset, a
/// VM's tap vnet0 appeared); proc-4-after-reset another 10 s later. Physical disks: vda, vdb; physical NICs: eth0, eth1.
@Suite struct HostProcDevicesTests {
    private let uuid = "host-1"

    private func step(_ calc: inout HostProcCalculator, _ dir: String, now: Int64,
                      filesystems: [FilesystemUsage] = []) throws -> [String: Double] {
        let samples = try calc.samples(try hostRead(dir, filesystems: filesystems), hostUuid: uuid, stamp: 1_000_000 + now, now: now)
        for s in samples {
            #expect(s.labels["HostUuid"] == uuid)
            #expect(s.timestamp == 1_000_000 + now)
            #expect(ZWatchName.split(s.labels.name)?.namespace == "ZStack/Host")
        }
        return valuesByMetric(samples)
    }

    private func keys(_ v: [String: Double], prefix: String) -> Set<String> {
        Set(v.keys.filter { $0.hasPrefix(prefix) })
    }

    @Test func firstReadEmitsGaugesOnly() throws {
        var calc = HostProcCalculator()
        let v = try step(&calc, "proc-1", now: 0)
        #expect(keys(v, prefix: "Disk").isEmpty)
        #expect(keys(v, prefix: "Network").isEmpty)
        #expect(keys(v, prefix: "CPU").isEmpty)
        // proc-1/loadavg: 0.34 1.00 1.46.
        #expect(v["LoadAverage1"] == 0.34)
        #expect(v["LoadAverage5"] == 1.00)
        #expect(v["LoadAverage15"] == 1.46)
        #expect(v["MemoryFreeBytes"] == Double(24_196_764 * 1024))
    }

    @Test func recordedReadsGiveDiskAndNetworkRates() throws {
        var calc = HostProcCalculator()
        _ = try step(&calc, "proc-1", now: 0)
        let v = try step(&calc, "proc-2", now: 4_177)
        let s = 4.177
        // vda: reads 399759 → 399902, sectors read 30848794 → 30865410, writes 638366 → 638416,
        // sectors written 159450944 → 159467976. loop*, zram0 are not physical: nothing for them.
        #expect(approx(v["DiskReadOps/vda"], 143 / s))
        #expect(approx(v["DiskReadBytes/vda"], 16_616 * 512 / s))
        #expect(approx(v["DiskWriteOps/vda"], 50 / s))
        #expect(approx(v["DiskWriteBytes/vda"], 17_032 * 512 / s))
        #expect(keys(v, prefix: "Disk") == ["DiskReadOps/vda", "DiskReadBytes/vda", "DiskWriteOps/vda", "DiskWriteBytes/vda",
                                            "DiskAllReadOps", "DiskAllReadBytes", "DiskAllWriteOps", "DiskAllWriteBytes"])
        // One physical disk: the sums are vda's.
        #expect(v["DiskAllReadOps"] == v["DiskReadOps/vda"])
        #expect(v["DiskAllWriteBytes"] == v["DiskWriteBytes/vda"])
        // eth0: rx 271451173 → 271451519 B, 8169 → 8174 pkts; tx 471666 → 471996 B, 5749 → 5754 pkts.
        #expect(approx(v["NetworkInBytes/eth0"], 346 / s))
        #expect(approx(v["NetworkInPackets/eth0"], 5 / s))
        #expect(approx(v["NetworkOutBytes/eth0"], 330 / s))
        #expect(approx(v["NetworkOutPackets/eth0"], 5 / s))
        #expect(v["NetworkInErrors/eth0"] == 0)
        #expect(v["NetworkOutErrors/eth0"] == 0)
        // lo moved (250 × 1000-byte datagrams) but is never reported; ifb0/ifb1 are, at 0, and are not physical.
        #expect(v["NetworkInBytes/lo"] == nil)
        #expect(v["NetworkInBytes/ifb0"] == 0)
        #expect(v["NetworkOutPackets/ifb1"] == 0)
        #expect(keys(v, prefix: "Network").count == 3 * 6 + 4)
        #expect(v["NetworkAllInBytes"] == v["NetworkInBytes/eth0"])
        #expect(v["NetworkAllOutBytes"] == v["NetworkOutBytes/eth0"])
        #expect(v["NetworkAllInPackets"] == v["NetworkInPackets/eth0"])
        #expect(v["NetworkAllOutPackets"] == v["NetworkOutPackets/eth0"])
        // cpu: Δuser 10, Δsystem 21, Δidle 800, Δiowait 2 → total 833, used 31.
        #expect(v["CPUAllUsedUtilization"] == 31.0 / 833 * 100)
        #expect(v["CPUWaitUtilization"] == 2.0 / 833 * 100)
        #expect(v["LoadAverage1"] == 0.31)
    }

    @Test func resetCountersRebaseAndHotPluggedDevicesStartWithAFirstRead() throws {
        var calc = HostProcCalculator()
        _ = try step(&calc, "proc-1", now: 0)
        _ = try step(&calc, "proc-2", now: 4_177)
        let reset = try step(&calc, "proc-3-reset", now: 14_177)
        // vda went down on every counter, vdb is new, vda1 is a partition: no disk sample at all.
        #expect(keys(reset, prefix: "Disk").isEmpty)
        // eth0: receive counters went down (re-based); transmit grew 471996 → 476996 B, 5754 → 5804
        // pkts over 10 s; the error counters stayed 0. eth1 is new.
        #expect(reset["NetworkInBytes/eth0"] == nil)
        #expect(reset["NetworkInPackets/eth0"] == nil)
        #expect(reset["NetworkOutBytes/eth0"] == 500)
        #expect(reset["NetworkOutPackets/eth0"] == 5)
        #expect(reset["NetworkInErrors/eth0"] == 0)
        #expect(keys(reset, prefix: "Network").filter { $0.hasSuffix("/eth1") }.isEmpty)
        // Sums only over what had a delta: eth0's transmit side.
        #expect(reset["NetworkAllOutBytes"] == 500)
        #expect(reset["NetworkAllOutPackets"] == 5)
        #expect(reset["NetworkAllInBytes"] == nil)
        #expect(reset["NetworkAllInPackets"] == nil)
        // The CPU lines kept growing: cpu Δuser 100, Δsystem 50, Δidle 800, Δiowait 50 → 1000.
        #expect(reset["CPUAllUsedUtilization"] == 150.0 / 1000 * 100)

        let after = try step(&calc, "proc-4-after-reset", now: 24_177)
        // vda: reads 120 → 320, sectors 9600 → 25600, writes 40 → 140, sectors 2400 → 10400.
        #expect(after["DiskReadOps/vda"] == 20)
        #expect(after["DiskReadBytes/vda"] == Double(16_000 * 512) / 10)
        #expect(after["DiskWriteOps/vda"] == 10)
        #expect(after["DiskWriteBytes/vda"] == Double(8_000 * 512) / 10)
        // vdb: reads 10 → 60, sectors 800 → 4800, writes 2 → 22, sectors 16 → 1616.
        #expect(after["DiskReadOps/vdb"] == 5)
        #expect(after["DiskReadBytes/vdb"] == Double(4_000 * 512) / 10)
        #expect(after["DiskWriteOps/vdb"] == 2)
        #expect(after["DiskWriteBytes/vdb"] == Double(1_600 * 512) / 10)
        #expect(after["DiskAllReadOps"] == 25)
        #expect(after["DiskAllReadBytes"] == Double(20_000 * 512) / 10)
        #expect(after["DiskAllWriteOps"] == 12)
        #expect(after["DiskAllWriteBytes"] == Double(9_600 * 512) / 10)
        #expect(after["DiskReadOps/vda1"] == nil)
        // eth0: rx 1000 → 21000 B, 10 → 210 pkts, 0 → 3 errs; tx 476996 → 486996, 5804 → 5904.
        // eth1: rx 2048 → 42048, 16 → 316; tx 1024 → 31024, 8 → 258, 0 → 1 errs.
        #expect(after["NetworkInBytes/eth0"] == 2_000)
        #expect(after["NetworkInPackets/eth0"] == 20)
        #expect(after["NetworkInErrors/eth0"] == 0.3)
        #expect(after["NetworkInBytes/eth1"] == 4_000)
        #expect(after["NetworkOutBytes/eth1"] == 3_000)
        #expect(after["NetworkOutPackets/eth1"] == 25)
        #expect(after["NetworkOutErrors/eth1"] == 0.1)
        // vnet0 (a VM's tap, not physical): rx 5000 → 105000 B, 50 → 1050 pkts; tx 7000 → 57000, 70 → 570.
        #expect(after["NetworkInBytes/vnet0"] == 10_000)
        #expect(after["NetworkInPackets/vnet0"] == 100)
        #expect(after["NetworkOutBytes/vnet0"] == 5_000)
        // The sums cover eth0 and eth1 only.
        #expect(after["NetworkAllInBytes"] == 6_000)
        #expect(after["NetworkAllInPackets"] == 50)
        #expect(after["NetworkAllOutBytes"] == 4_000)
        #expect(after["NetworkAllOutPackets"] == 35)
    }

    @Test func aDeviceThatGoesAwayIsForgotten() throws {
        var calc = HostProcCalculator()
        _ = try step(&calc, "proc-3-reset", now: 0)
        // A read without vdb and eth1 (unplugged), then one with them again: a first read for them.
        var without = try hostRead("proc-4-after-reset")
        without.diskstats = try procFixture("proc-4-after-reset", "diskstats").split(separator: "\n").filter { !$0.contains("vdb") }.joined(separator: "\n")
        without.netDev = try procFixture("proc-4-after-reset", "net/dev").split(separator: "\n").filter { !$0.contains("eth1") }.joined(separator: "\n")
        let gone = valuesByMetric(try calc.samples(without, hostUuid: uuid, stamp: 0, now: 10_000))
        #expect(gone["DiskReadOps/vda"] == 20)
        #expect(gone["DiskAllReadOps"] == 20)
        #expect(gone.keys.filter { $0.hasSuffix("/vdb") || $0.hasSuffix("/eth1") }.isEmpty)
        let back = valuesByMetric(try calc.samples(try hostRead("proc-4-after-reset"), hostUuid: uuid, stamp: 0, now: 20_000))
        #expect(back.keys.filter { $0.hasSuffix("/vdb") || $0.hasSuffix("/eth1") }.isEmpty)
        #expect(back["DiskReadOps/vda"] == 0)
    }

    @Test func capacityIsComputedAsDfDoes() throws {
        var calc = HostProcCalculator()
        // 1000 blocks of 4 KiB, 300 free of which 250 available to users (50 reserved for root).
        let root = FilesystemUsage(mountPoint: "/", stats: FilesystemStats(blocks: 1_000, freeBlocks: 300, availableBlocks: 250, fragmentSize: 4_096))
        let data = FilesystemUsage(mountPoint: "/var/lib/stratus images", stats: FilesystemStats(blocks: 10, freeBlocks: 10, availableBlocks: 10, fragmentSize: 512))
        let empty = FilesystemUsage(mountPoint: "/empty", stats: FilesystemStats(blocks: 0, freeBlocks: 0, availableBlocks: 0, fragmentSize: 4_096))
        let v = try step(&calc, "proc-1", now: 0, filesystems: [root, data, empty])
        #expect(v["DiskUsedCapacityInBytes//"] == Double(700 * 4_096))
        #expect(v["DiskFreeCapacityInBytes//"] == Double(250 * 4_096))
        #expect(v["DiskUsedCapacityInPercent//"] == 700.0 / 950 * 100)
        #expect(v["DiskUsedCapacityInBytes//var/lib/stratus images"] == 0)
        #expect(v["DiskUsedCapacityInPercent//var/lib/stratus images"] == 0)
        #expect(v["DiskFreeCapacityInBytes//var/lib/stratus images"] == 5_120)
        #expect(keys(v, prefix: "DiskUsedCapacityInBytes") == ["DiskUsedCapacityInBytes//", "DiskUsedCapacityInBytes//var/lib/stratus images"])
    }

    @Test func parseErrorsNameTheFileAndLineAndChangeNothing() throws {
        var calc = HostProcCalculator()
        _ = try step(&calc, "proc-1", now: 0)
        var bad = try hostRead("proc-2")
        bad.diskstats = " 254 0 vda 1 2 x 4 5 6 7\n"
        #expect(throws: MetricsError.corrupt(key: "/proc/diskstats line 1", reason: "reads, sectors read, writes and sectors written must be non-negative integers: ' 254 0 vda 1 2 x 4 5 6 7'")) {
            try calc.samples(bad, hostUuid: uuid, stamp: 0, now: 4_177)
        }
        bad = try hostRead("proc-2")
        bad.netDev = "Inter-|\n face |\n  eth0: 1 2 3\n"
        #expect(throws: MetricsError.corrupt(key: "/proc/net/dev line 3", reason: "expected '<interface>: ' and 16 non-negative counters: '  eth0: 1 2 3'")) {
            try calc.samples(bad, hostUuid: uuid, stamp: 0, now: 4_177)
        }
        bad = try hostRead("proc-2")
        bad.loadavg = "high\n"
        #expect(throws: MetricsError.corrupt(key: "/proc/loadavg", reason: "expected three load averages, found 'high\n'")) {
            try calc.samples(bad, hostUuid: uuid, stamp: 0, now: 4_177)
        }
        // The failed reads changed nothing: proc-2 still deltas against proc-1 over 4.177 s.
        let v = try step(&calc, "proc-2", now: 4_177)
        #expect(approx(v["DiskReadOps/vda"], 143 / 4.177))
        #expect(v["CPUAllUsedUtilization"] == 31.0 / 833 * 100)
    }
}

@Suite struct ProcMountsParserTests {
    @Test func keepsBlockFilesystemsOncePerDevice() throws {
        let mounts = MountsParser.filesystems(try String(contentsOfFile: fixturePath("proc-mounts-mixed.txt"), encoding: .utf8))
        #expect(mounts == [
            .init(device: "/dev/mapper/vg0-root", mountPoint: "/", type: "xfs"),
            .init(device: "/dev/sda1", mountPoint: "/boot", type: "ext4"),
            .init(device: "/dev/sda2", mountPoint: "/boot/efi", type: "vfat"),
            .init(device: "/dev/nvme0n1p1", mountPoint: "/var/lib/stratus images", type: "btrfs"),
            .init(device: "tank/vms", mountPoint: "/tank/vms", type: "zfs"),
        ])
    }

    @Test func recordedMountsGiveTheRootFilesystem() throws {
        // This machine: /dev/vda on / (ext4); everything else is proc, sysfs, tmpfs, devpts, cgroup.
        #expect(MountsParser.filesystems(try procFixture("proc-1", "mounts")) == [.init(device: "/dev/vda", mountPoint: "/", type: "ext4")])
    }

    @Test func unescapesOctalSequences() {
        #expect(MountsParser.unescape(#"/a\040b\011c\134d\012"#) == "/a b\tc\\d\n")
        #expect(MountsParser.unescape(#"/trailing\04"#) == #"/trailing\04"#)
        #expect(MountsParser.unescape(#"/not\999octal"#) == #"/not\999octal"#)
    }
}
