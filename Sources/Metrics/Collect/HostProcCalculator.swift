/// Turns reads of a host's `/proc` files (`HostProcRead`) into `ZStack/Host` samples (label
/// `HostUuid`, plus `CPUNum`, `DiskDeviceLetter`, `NetworkDeviceLetter` or `MountPoint` on
/// per-device metrics). A pure value: it keeps the previous counters and does no I/O, so tests
/// feed it recorded files.
///
/// CPU metrics come from jiffy deltas between two reads of each `cpu`/`cpuN` line, with
/// total = user + nice + system + idle + iowait + irq + softirq + steal (guest time is already
/// inside user/nice) and used = total − idle − iowait, all as % of the delta total:
/// - per `cpuN`: `CPUUsedUtilization`, `CPUIdleUtilization` (idle only);
/// - `CPUAverageUsedUtilization`: mean of the per-CPU used values emitted by this read;
/// - the aggregate `cpu` line: `CPUAllUsedUtilization`, `CPUAllIdleUtilization`,
///   `CPUUserUtilization` (user), `CPUSystemUtilization` (system), `CPUWaitUtilization` (iowait).
/// The first read of a line emits nothing for it; a line whose counters went down (CPU hot-plug,
/// counter reset) is re-based and emits nothing. iowait alone may go down (the kernel documents
/// it as unreliable); its delta then counts as 0.
///
/// Memory metrics are emitted on every read: `MemoryUsedBytes` = MemTotal − MemAvailable,
/// `MemoryFreeBytes` = MemAvailable, and both in percent of MemTotal (MemAvailable falls back to
/// MemFree + Buffers + Cached on kernels before 3.14).
///
/// Rates per second over the wall time between two reads (`now`), for counters that only grow:
/// - `/proc/diskstats`, physical disks only (`DiskDeviceLetter` = device name): `DiskReadOps`
///   (reads completed), `DiskReadBytes` (sectors read × 512), `DiskWriteOps`, `DiskWriteBytes`;
///   `DiskAll…` the sums over the physical disks with a delta this read;
/// - `/proc/net/dev`, every interface but `lo` (`NetworkDeviceLetter` = interface):
///   `NetworkInBytes`/`OutBytes`, `NetworkInPackets`/`OutPackets`, `NetworkInErrors`/`OutErrors`;
///   `NetworkAll{In,Out}{Bytes,Packets}` the sums over the physical NICs with a delta this read.
/// The first read of a counter emits nothing; a counter that went down (a reset, a driver reload;
/// no 32-bit wrap is assumed) is re-based and emits nothing for that read; a device that goes
/// away is forgotten.
///
/// Gauges on every read: `LoadAverage1`/`5`/`15` from `/proc/loadavg`, and per mounted block
/// filesystem (`MountPoint`) `DiskUsedCapacityInBytes`, `DiskFreeCapacityInBytes` (available to
/// unprivileged users) and `DiskUsedCapacityInPercent` as `df` computes them (see `FilesystemStats`).
///
/// ```swift
/// var calc = HostProcCalculator()
/// let s = try calc.samples(HostProcRead(procStat: stat, meminfo: meminfo, diskstats: diskstats),
///                          hostUuid: uuid, stamp: t, now: wallTime)
/// ```
public struct HostProcCalculator: Sendable {
    /// File names used in parse errors.
    var statPath = "/proc/stat"
    var meminfoPath = "/proc/meminfo"
    var diskstatsPath = "/proc/diskstats"
    var netDevPath = "/proc/net/dev"
    var loadavgPath = "/proc/loadavg"
    /// Counters of the last read, by line name (`cpu`, `cpu0`, …).
    private var previous: [String: CPUTimes] = [:]
    /// Disk and network counters of the last read.
    private var rates = CounterRates()

    public init() {}

    /// A calculator whose parse errors name the files under `procRoot`.
    init(procRoot: String) {
        statPath = procRoot + "/stat"
        meminfoPath = procRoot + "/meminfo"
        diskstatsPath = procRoot + "/diskstats"
        netDevPath = procRoot + "/net/dev"
        loadavgPath = procRoot + "/loadavg"
    }

    /// CPU and memory samples for one read of `/proc/stat` and `/proc/meminfo`, stamped `stamp`
    /// (the other groups of a `HostProcRead` absent). Throws like `samples(_:hostUuid:stamp:now:)`.
    public mutating func samples(procStat: String, meminfo: String, hostUuid: String, stamp: Int64) throws -> [Sample] {
        try samples(HostProcRead(procStat: procStat, meminfo: meminfo), hostUuid: hostUuid, stamp: stamp, now: stamp)
    }

    /// Samples for one read, stamped `stamp`; `now` is the wall time (ms) of the read, whose
    /// difference to the previous read's turns counter deltas into rates. Throws
    /// `MetricsError.corrupt` naming the file and line when a file does not parse; every
    /// previous counter is then kept, as if the read had not happened.
    public mutating func samples(_ read: HostProcRead, hostUuid: String, stamp: Int64, now: Int64) throws -> [Sample] {
        let cpus = try ProcStatParser.parse(read.procStat, path: statPath)
        let memory = try MeminfoParser.parse(read.meminfo, path: meminfoPath)
        let disks = try read.diskstats.map { try DiskstatsParser.parse($0, path: diskstatsPath) }
        let nics = try read.netDev.map { try NetDevParser.parse($0, path: netDevPath) }
        let load = try read.loadavg.map { try LoadavgParser.parse($0, path: loadavgPath) }

        var e = SampleEmitter(namespace: "ZStack/Host", labels: ["HostUuid": hostUuid], stamp: stamp)
        cpu(cpus, into: &e)
        previous = Dictionary(cpus.map { ($0.name, $0.times) }, uniquingKeysWith: { _, last in last })

        let used = memory.total - memory.available
        e.emit("MemoryUsedBytes", Double(used))
        e.emit("MemoryUsedInPercent", Double(used) / Double(memory.total) * 100)
        e.emit("MemoryFreeBytes", Double(memory.available))
        e.emit("MemoryFreeInPercent", Double(memory.available) / Double(memory.total) * 100)

        if let disks {
            DeviceRates.emit(disks.filter { read.physicalDisks.contains($0.name) }, fields: Self.diskFields,
                             deviceLabel: "DiskDeviceLetter", keyPrefix: "disk", rates: &rates, now: now, into: &e)
        }
        if let nics {
            DeviceRates.emit(nics.filter { $0.name != "lo" }, fields: Self.netFields, deviceLabel: "NetworkDeviceLetter",
                             keyPrefix: "net", inTotal: { read.physicalNICs.contains($0) }, rates: &rates, now: now, into: &e)
        }
        rates.finishRead()

        if let load {
            e.emit("LoadAverage1", load.one)
            e.emit("LoadAverage5", load.five)
            e.emit("LoadAverage15", load.fifteen)
        }
        for fs in read.filesystems {
            guard let percent = fs.stats.usedPercent else { continue }
            let label = ["MountPoint": fs.mountPoint]
            e.emit("DiskUsedCapacityInBytes", fs.stats.usedBytes, label)
            e.emit("DiskUsedCapacityInPercent", percent, label)
            e.emit("DiskFreeCapacityInBytes", fs.stats.availableBytes, label)
        }
        return e.samples
    }

    static let diskFields: [DeviceRates.Field] = [
        .init(counter: "reads", metric: "DiskReadOps", allMetric: "DiskAllReadOps"),
        .init(counter: "writes", metric: "DiskWriteOps", allMetric: "DiskAllWriteOps"),
        .init(counter: "readBytes", metric: "DiskReadBytes", allMetric: "DiskAllReadBytes"),
        .init(counter: "writeBytes", metric: "DiskWriteBytes", allMetric: "DiskAllWriteBytes"),
    ]

    static let netFields: [DeviceRates.Field] = [
        .init(counter: "rx.bytes", metric: "NetworkInBytes", allMetric: "NetworkAllInBytes"),
        .init(counter: "tx.bytes", metric: "NetworkOutBytes", allMetric: "NetworkAllOutBytes"),
        .init(counter: "rx.packets", metric: "NetworkInPackets", allMetric: "NetworkAllInPackets"),
        .init(counter: "tx.packets", metric: "NetworkOutPackets", allMetric: "NetworkAllOutPackets"),
        .init(counter: "rx.errs", metric: "NetworkInErrors"),
        .init(counter: "tx.errs", metric: "NetworkOutErrors"),
    ]

    private func cpu(_ cpus: [ProcStatParser.Line], into e: inout SampleEmitter) {
        var perCPUUsed: [Double] = []
        for line in cpus where line.name != "cpu" {
            guard let d = delta(line) else { continue }
            let cpuNum = ["CPUNum": String(line.name.dropFirst(3))]
            perCPUUsed.append(d.usedPercent)
            e.emit("CPUUsedUtilization", d.usedPercent, cpuNum)
            e.emit("CPUIdleUtilization", d.percent(d.idle), cpuNum)
        }
        if !perCPUUsed.isEmpty {
            e.emit("CPUAverageUsedUtilization", perCPUUsed.reduce(0, +) / Double(perCPUUsed.count))
        }
        if let all = cpus.first(where: { $0.name == "cpu" }), let d = delta(all) {
            e.emit("CPUAllUsedUtilization", d.usedPercent)
            e.emit("CPUAllIdleUtilization", d.percent(d.idle))
            e.emit("CPUUserUtilization", d.percent(d.user))
            e.emit("CPUSystemUtilization", d.percent(d.system))
            e.emit("CPUWaitUtilization", d.percent(d.iowait))
        }
    }

    /// The delta of `line` since the previous read, or nil on a first read, a reset, or no time passed.
    private func delta(_ line: ProcStatParser.Line) -> CPUDelta? {
        guard let before = previous[line.name] else { return nil }
        return CPUDelta(from: before, to: line.times)
    }
}

/// The jiffy counters of one `/proc/stat` cpu line.
struct CPUTimes: Sendable, Equatable {
    var user: UInt64 = 0, nice: UInt64 = 0, system: UInt64 = 0, idle: UInt64 = 0
    var iowait: UInt64 = 0, irq: UInt64 = 0, softirq: UInt64 = 0, steal: UInt64 = 0
}

/// Differences between two reads of one cpu line.
struct CPUDelta {
    var user: Double, system: Double, idle: Double, iowait: Double, total: Double

    /// Nil when any counter but iowait went down (a reset: re-base) or no jiffies passed.
    init?(from a: CPUTimes, to b: CPUTimes) {
        let monotonic: [KeyPath<CPUTimes, UInt64>] = [\.user, \.nice, \.system, \.idle, \.irq, \.softirq, \.steal]
        guard monotonic.allSatisfy({ b[keyPath: $0] >= a[keyPath: $0] }) else { return nil }
        func d(_ k: KeyPath<CPUTimes, UInt64>) -> Double { Double(b[keyPath: k] - a[keyPath: k]) }
        user = d(\.user)
        system = d(\.system)
        idle = d(\.idle)
        iowait = b.iowait >= a.iowait ? Double(b.iowait - a.iowait) : 0
        total = d(\.user) + d(\.nice) + system + idle + iowait + d(\.irq) + d(\.softirq) + d(\.steal)
        guard total > 0 else { return nil }
    }

    /// `part` as a percentage of the total, clamped to 0…100.
    func percent(_ part: Double) -> Double { min(max(part / total * 100, 0), 100) }

    var usedPercent: Double { percent(total - idle - iowait) }
}
