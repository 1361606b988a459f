import Foundation
import Synchronization
import Testing
@testable import StratusMetrics

@Suite struct HostProcCollectorTests {
    /// Copies the files of Fixtures/<dir> into `procRoot` (replacing what is there).
    static func installProc(_ dir: String, at procRoot: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: procRoot + "/net", withIntermediateDirectories: true)
        for file in ["stat", "meminfo", "diskstats", "loadavg", "mounts", "net/dev"] {
            try? fm.removeItem(atPath: procRoot + "/" + file)
            try fm.copyItem(atPath: fixturePath("\(dir)/\(file)"), toPath: procRoot + "/" + file)
        }
    }

    /// A sysfs look-alike: `block/<d>/device` for physical disks, `block/<d>/` for the others;
    /// the same under `class/net` for interfaces.
    static func makeSys(at sysRoot: String, disks: [String: Bool], nics: [String: Bool]) throws {
        let fm = FileManager.default
        for (dir, entries) in [("block", disks), ("class/net", nics)] {
            for (name, physical) in entries {
                let path = "\(sysRoot)/\(dir)/\(name)" + (physical ? "/device" : "")
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
            }
        }
    }

    /// `statvfs` answering from a table and recording what it was asked.
    final class FakeStatfs: Sendable {
        let table: [String: FilesystemStats]
        let asked = Mutex<[String]>([])
        init(_ table: [String: FilesystemStats]) { self.table = table }
        var function: @Sendable (String) throws -> FilesystemStats {
            { [self] path in
                asked.withLock { $0.append(path) }
                guard let s = table[path] else { throw MetricsError.storage(operation: "statvfs \(path)", message: "not in the fixture") }
                return s
            }
        }
    }

    @Test func readsEveryFileUnderProcAndSysRoot() async throws {
        try await withTSDBTempDirectory { root in
            try Self.installProc("proc-1", at: root + "/proc")
            try Self.makeSys(at: root + "/sys", disks: ["vda": true, "loop0": false, "zram0": false],
                             nics: ["eth0": true, "ifb0": false, "ifb1": false, "lo": false])
            // Half of 2 GiB used, a quarter available to users.
            let fs = FakeStatfs(["/": FilesystemStats(blocks: 524_288, freeBlocks: 262_144, availableBlocks: 131_072, fragmentSize: 4_096)])
            let collector = HostProcCollector(hostUuid: "h", procRoot: root + "/proc", sysRoot: root + "/sys", statfs: fs.function)
            #expect(collector.name == "host:h")
            let first = valuesByMetric(try await collector.collect(stamp: 10_000, now: 10_003))
            #expect(Set(first.keys) == ["MemoryUsedBytes", "MemoryUsedInPercent", "MemoryFreeBytes", "MemoryFreeInPercent",
                                        "LoadAverage1", "LoadAverage5", "LoadAverage15",
                                        "DiskUsedCapacityInBytes//", "DiskUsedCapacityInPercent//", "DiskFreeCapacityInBytes//"])
            #expect(first["DiskUsedCapacityInBytes//"] == Double(262_144 * 4_096))
            #expect(first["DiskFreeCapacityInBytes//"] == Double(131_072 * 4_096))
            #expect(first["DiskUsedCapacityInPercent//"] == 262_144.0 / 393_216 * 100)
            // proc-1/mounts has one block filesystem; statvfs is asked about nothing else.
            #expect(fs.asked.withLock { $0 } == ["/"])

            try Self.installProc("proc-2", at: root + "/proc")
            let samples = try await collector.collect(stamp: 20_000, now: 14_180)
            #expect(samples.allSatisfy { $0.timestamp == 20_000 && $0.labels["HostUuid"] == "h" })
            let second = valuesByMetric(samples)
            // Recorded 4.177 s apart; vda: 143 reads, 16616 sectors read (see HostProcDevicesTests).
            #expect(approx(second["DiskReadOps/vda"], 143 / 4.177))
            #expect(approx(second["DiskAllReadBytes"], 16_616 * 512 / 4.177))
            #expect(second.keys.filter { $0.hasSuffix("/loop0") || $0.hasSuffix("/zram0") || $0.hasSuffix("/lo") }.isEmpty)
            // eth0 is the only physical NIC: the sums are its rates, ifb0/ifb1 (0 B/s anyway) are not in them.
            #expect(approx(second["NetworkAllInBytes"], 346 / 4.177))
            #expect(second["NetworkAllInBytes"] == second["NetworkInBytes/eth0"])
            #expect(second["NetworkInBytes/ifb0"] == 0)
            #expect(second["CPUAllUsedUtilization"] == 31.0 / 833 * 100)
        }
    }

    @Test func withoutSysfsThereAreNoDiskMetricsNorNetworkSums() async throws {
        try await withTSDBTempDirectory { root in
            try Self.installProc("proc-1", at: root + "/proc")
            let collector = HostProcCollector(hostUuid: "h", procRoot: root + "/proc", sysRoot: root + "/no-sys",
                                              statfs: FakeStatfs([:]).function)
            _ = try await collector.collect(stamp: 0, now: 0)
            try Self.installProc("proc-2", at: root + "/proc")
            let v = valuesByMetric(try await collector.collect(stamp: 10_000, now: 4_177))
            #expect(v.keys.filter { $0.hasPrefix("Disk") }.isEmpty)
            #expect(v.keys.filter { $0.hasPrefix("NetworkAll") }.isEmpty)
            #expect(approx(v["NetworkInBytes/eth0"], 346 / 4.177))
        }
    }

    @Test func missingProcFileIsAStorageErrorNamingIt() async throws {
        let collector = HostProcCollector(hostUuid: "h", procRoot: "/nonexistent-proc")
        await #expect(throws: MetricsError.storage(operation: "read /nonexistent-proc/stat", message: "No such file or directory")) {
            try await collector.collect(stamp: 0, now: 0)
        }
        try await withTSDBTempDirectory { root in
            try Self.installProc("proc-1", at: root)
            try FileManager.default.removeItem(atPath: root + "/net/dev")
            let partial = HostProcCollector(hostUuid: "h", procRoot: root, sysRoot: root, statfs: FakeStatfs([:]).function)
            await #expect(throws: MetricsError.storage(operation: "read \(root)/net/dev", message: "No such file or directory")) {
                try await partial.collect(stamp: 0, now: 0)
            }
        }
    }

    @Test func realProcAndSysOfThisMachine() async throws {
        let collector = HostProcCollector(hostUuid: "real")
        let clock = SystemWallClock()
        _ = try await collector.collect(stamp: 0, now: clock.now())
        // Let the counters move between the two reads.
        try await Task.sleep(for: .milliseconds(300))
        let samples = try await collector.collect(stamp: 10_000, now: clock.now())
        let stat = try String(contentsOfFile: "/proc/stat", encoding: .utf8)
        let cpuLines = stat.split(separator: "\n").filter { $0.hasPrefix("cpu") && !$0.hasPrefix("cpu ") }.count
        let perCPU = samples.filter { $0.labels.name == "ZStack:Host::CPUUsedUtilization" }
        #expect(Set(perCPU.compactMap { $0.labels["CPUNum"] }).count == cpuLines)
        for s in samples {
            if s.labels.name.contains("Utilization") || s.labels.name.hasSuffix("Percent") {
                #expect((0...100).contains(s.value), "\(s.labels)")
            }
            #expect(s.value >= 0 && s.value.isFinite, "\(s.labels) = \(s.value)")
            // Every disk reported is a physical one; lo is never reported.
            if let disk = s.labels["DiskDeviceLetter"] {
                #expect(FileManager.default.fileExists(atPath: "/sys/block/\(disk)/device"), "\(disk)")
            }
            #expect(s.labels["NetworkDeviceLetter"] != "lo")
        }
        let total = samples.first { $0.labels.name == "ZStack:Host::MemoryUsedBytes" }!.value
            + samples.first { $0.labels.name == "ZStack:Host::MemoryFreeBytes" }!.value
        let memTotalKB = try #require(try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("MemTotal:") }?.split(separator: " ").dropFirst().first.flatMap { Double($0) })
        #expect(total == memTotalKB * 1024)
        // The root filesystem's capacity agrees with statvfs("/") read here (a little may be
        // written in between: compare the total, which does not move).
        let root = samples.filter { $0.labels["MountPoint"] == "/" }
        if MountsParser.filesystems(try String(contentsOfFile: "/proc/mounts", encoding: .utf8)).contains(where: { $0.mountPoint == "/" }) {
            let used = try #require(root.first { $0.labels.name.hasSuffix("::DiskUsedCapacityInBytes") }?.value)
            let free = try #require(root.first { $0.labels.name.hasSuffix("::DiskFreeCapacityInBytes") }?.value)
            let s = try HostProcCollector.statvfs("/")
            #expect(used + free <= Double(s.blocks * s.fragmentSize))
            #expect(used + free >= Double((s.blocks - s.freeBlocks + s.availableBlocks) * s.fragmentSize) * 0.99)
        }
        #expect(samples.contains { $0.labels.name == "ZStack:Host::LoadAverage15" })
    }
}
