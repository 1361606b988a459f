import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Collects the `ZStack/Host` metrics of the machine it runs on (see `HostProcCalculator` for
/// the formulas): CPU, memory, load from `/proc/stat`, `/proc/meminfo`, `/proc/loadavg`; disk I/O
/// of physical disks from `/proc/diskstats`; traffic from `/proc/net/dev`; capacity of the block
/// filesystems in `/proc/mounts` from `statvfs`. Which disks and NICs are physical comes from
/// `<sysRoot>/block/<name>/device` and `<sysRoot>/class/net/<if>/device`. All file reads and
/// `statvfs` calls run on `NIOThreadPool.singleton`. The first collect emits the gauges (memory,
/// load, capacity) only; utilisation and rates need two reads.
///
/// ```swift
/// let host = HostProcCollector(hostUuid: uuid)
/// let samples = try await host.collect(stamp: gridTime, now: clock.now())
/// ```
public final class HostProcCollector: Collector {
    public let name: String
    private let hostUuid: String
    private let procRoot: String
    private let sysRoot: String
    private let statfs: @Sendable (String) throws -> FilesystemStats
    private let calculator: Mutex<HostProcCalculator>

    /// - Parameters:
    ///   - hostUuid: the `HostUuid` label of every sample.
    ///   - procRoot: where procfs is mounted (a copy of it in tests, `/host/proc` in a container).
    ///   - sysRoot: where sysfs is mounted; without `block` and `class/net` there, no disk
    ///     metrics and no `NetworkAll…` sums.
    ///   - statfs: `statvfs(3)` of a mount point (a fixture in tests). Mount points are taken
    ///     from `<procRoot>/mounts` as they are written there; one whose call throws is skipped.
    public init(hostUuid: String, procRoot: String = "/proc", sysRoot: String = "/sys",
                statfs: @escaping @Sendable (String) throws -> FilesystemStats = HostProcCollector.statvfs) {
        self.name = "host:\(hostUuid)"
        self.hostUuid = hostUuid
        self.procRoot = procRoot
        self.sysRoot = sysRoot
        self.statfs = statfs
        calculator = Mutex(HostProcCalculator(procRoot: procRoot))
    }

    /// Reads every file once. Throws `MetricsError.storage` naming a file that cannot be read and
    /// `MetricsError.corrupt` naming one that does not parse (the previous counters are then kept).
    public func collect(stamp: Int64, now: Int64) async throws -> [Sample] {
        let read = try await NIOThreadPool.singleton.runIfActive { [procRoot, sysRoot, statfs] in
            try Self.read(procRoot: procRoot, sysRoot: sysRoot, statfs: statfs)
        }
        return try calculator.withLock { calc in
            try calc.samples(read, hostUuid: hostUuid, stamp: stamp, now: now)
        }
    }

    /// Reads the files of one collect (blocking).
    static func read(procRoot: String, sysRoot: String, statfs: (String) throws -> FilesystemStats) throws -> HostProcRead {
        var read = HostProcRead(procStat: try readWholeFile(procRoot + "/stat"), meminfo: try readWholeFile(procRoot + "/meminfo"))
        read.diskstats = try readWholeFile(procRoot + "/diskstats")
        read.netDev = try readWholeFile(procRoot + "/net/dev")
        read.loadavg = try readWholeFile(procRoot + "/loadavg")
        for mount in MountsParser.filesystems(try readWholeFile(procRoot + "/mounts")) {
            guard let stats = try? statfs(mount.mountPoint) else { continue }
            read.filesystems.append(FilesystemUsage(mountPoint: mount.mountPoint, stats: stats))
        }
        read.physicalDisks = devicesWithDeviceLink(in: sysRoot + "/block")
        read.physicalNICs = devicesWithDeviceLink(in: sysRoot + "/class/net")
        return read
    }

    /// The real `statvfs(3)`. Throws `MetricsError.storage(operation: "statvfs <path>", …)`.
    public static let statvfs: @Sendable (String) throws -> FilesystemStats = { try systemStatvfs($0) }
}

/// `statvfs(3)` of `path`.
private func systemStatvfs(_ path: String) throws -> FilesystemStats {
    var s = statvfs()
    guard statvfs(path, &s) == 0 else {
        throw MetricsError.storage(operation: "statvfs \(path)", message: String(cString: strerror(errno)))
    }
    let size = s.f_frsize > 0 ? UInt64(s.f_frsize) : UInt64(s.f_bsize)
    return FilesystemStats(blocks: UInt64(s.f_blocks), freeBlocks: UInt64(s.f_bfree),
                           availableBlocks: UInt64(s.f_bavail), fragmentSize: size)
}

/// Names of the entries of `directory` that have a `device` entry (a sysfs link to the
/// hardware): physical disks in `/sys/block`, physical NICs in `/sys/class/net`. Empty when the
/// directory cannot be opened.
func devicesWithDeviceLink(in directory: String) -> Set<String> {
    guard let dir = opendir(directory) else { return [] }
    defer { closedir(dir) }
    var out: Set<String> = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard name != ".", name != ".." else { continue }
        if access(directory + "/" + name + "/device", F_OK) == 0 { out.insert(name) }
    }
    return out
}

/// Reads a file to its end with read(2); procfs files report size 0, so no stat-sized read.
/// Throws `MetricsError.storage(operation: "read <path>", …)` with the system's reason.
func readWholeFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw MetricsError.storage(operation: "read \(path)", message: String(cString: strerror(errno))) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw MetricsError.storage(operation: "read \(path)", message: String(cString: strerror(errno)))
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}
