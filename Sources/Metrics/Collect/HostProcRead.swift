/// One read of a host's `/proc` files and of what `/sys` and `statvfs` say about its devices:
/// the input of `HostProcCalculator.samples(_:hostUuid:stamp:now:)`. A group whose file is nil
/// emits nothing (its counters are forgotten, so they restart with a first read).
///
/// ```swift
/// let read = HostProcRead(procStat: stat, meminfo: meminfo, diskstats: diskstats, netDev: netDev,
///                         loadavg: loadavg, physicalDisks: ["vda"], physicalNICs: ["eth0"],
///                         filesystems: [FilesystemUsage(mountPoint: "/", stats: rootStats)])
/// ```
public struct HostProcRead: Sendable, Equatable {
    /// `/proc/stat`.
    public var procStat: String
    /// `/proc/meminfo`.
    public var meminfo: String
    /// `/proc/diskstats`.
    public var diskstats: String?
    /// `/proc/net/dev`.
    public var netDev: String?
    /// `/proc/loadavg`.
    public var loadavg: String?
    /// Block devices that are physical disks (`<sys>/block/<name>/device` exists): only these get
    /// disk metrics, so loop, ram, zram, dm-* and md devices are left out (partitions are not in
    /// `/sys/block`).
    public var physicalDisks: Set<String>
    /// Interfaces that are physical NICs (`<sys>/class/net/<if>/device` exists): only these count
    /// toward `NetworkAll…` (every interface but `lo` gets its own per-interface metrics).
    public var physicalNICs: Set<String>
    /// Capacity of the mounted block filesystems, one per device.
    public var filesystems: [FilesystemUsage]

    public init(procStat: String, meminfo: String, diskstats: String? = nil, netDev: String? = nil,
                loadavg: String? = nil, physicalDisks: Set<String> = [], physicalNICs: Set<String> = [],
                filesystems: [FilesystemUsage] = []) {
        self.procStat = procStat
        self.meminfo = meminfo
        self.diskstats = diskstats
        self.netDev = netDev
        self.loadavg = loadavg
        self.physicalDisks = physicalDisks
        self.physicalNICs = physicalNICs
        self.filesystems = filesystems
    }
}

/// What `statvfs(3)` says about a filesystem, in blocks of `fragmentSize` bytes.
public struct FilesystemStats: Sendable, Equatable {
    /// `f_blocks`: size of the filesystem.
    public var blocks: UInt64
    /// `f_bfree`: free blocks, including those reserved for root.
    public var freeBlocks: UInt64
    /// `f_bavail`: free blocks an unprivileged user may use.
    public var availableBlocks: UInt64
    /// `f_frsize`: bytes per block.
    public var fragmentSize: UInt64

    public init(blocks: UInt64, freeBlocks: UInt64, availableBlocks: UInt64, fragmentSize: UInt64) {
        self.blocks = blocks
        self.freeBlocks = freeBlocks
        self.availableBlocks = availableBlocks
        self.fragmentSize = fragmentSize
    }

    /// Bytes in use: (blocks − free) × block size, as `df` counts them.
    public var usedBytes: Double { Double(blocks - min(freeBlocks, blocks)) * Double(fragmentSize) }
    /// Bytes an unprivileged user can still write: available × block size.
    public var availableBytes: Double { Double(availableBlocks) * Double(fragmentSize) }
    /// used / (used + available) × 100, `df`'s Use% (the root reserve counts as neither), or nil
    /// for a filesystem with no blocks.
    public var usedPercent: Double? {
        let whole = usedBytes + availableBytes
        return whole > 0 ? usedBytes / whole * 100 : nil
    }
}

/// A mounted filesystem's capacity, labelled by its mount point.
public struct FilesystemUsage: Sendable, Equatable {
    public var mountPoint: String
    public var stats: FilesystemStats

    public init(mountPoint: String, stats: FilesystemStats) {
        self.mountPoint = mountPoint
        self.stats = stats
    }
}
