/// Turns reads of `/proc/stat` and `/proc/meminfo` into `ZStack/Host` samples (label `HostUuid`,
/// plus `CPUNum` on per-CPU metrics). A pure value: it keeps the previous CPU counters and does
/// no I/O, so tests feed it recorded files.
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
/// ```swift
/// var calc = HostProcCalculator()
/// let s = try calc.samples(procStat: stat, meminfo: meminfo, hostUuid: uuid, stamp: t)
/// ```
public struct HostProcCalculator: Sendable {
    /// File names used in parse errors.
    var statPath = "/proc/stat"
    var meminfoPath = "/proc/meminfo"
    /// Counters of the last read, by line name (`cpu`, `cpu0`, …).
    private var previous: [String: CPUTimes] = [:]

    public init() {}

    init(statPath: String, meminfoPath: String) {
        self.statPath = statPath
        self.meminfoPath = meminfoPath
    }

    /// Samples for one read of both files, stamped `stamp`. Throws `MetricsError.corrupt` naming
    /// the file and line when a needed line does not parse; the previous counters are then kept.
    public mutating func samples(procStat: String, meminfo: String, hostUuid: String, stamp: Int64) throws -> [Sample] {
        let cpus = try ProcStatParser.parse(procStat, path: statPath)
        let memory = try MeminfoParser.parse(meminfo, path: meminfoPath)
        var out: [Sample] = []
        func emit(_ metric: String, _ value: Double, _ extra: [String: String] = [:]) {
            var labels = extra
            labels["HostUuid"] = hostUuid
            out.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/Host", metricName: metric, labels),
                              timestamp: stamp, value: value))
        }

        var perCPUUsed: [Double] = []
        for line in cpus where line.name != "cpu" {
            guard let d = delta(line) else { continue }
            let cpuNum = ["CPUNum": String(line.name.dropFirst(3))]
            perCPUUsed.append(d.usedPercent)
            emit("CPUUsedUtilization", d.usedPercent, cpuNum)
            emit("CPUIdleUtilization", d.percent(d.idle), cpuNum)
        }
        if !perCPUUsed.isEmpty {
            emit("CPUAverageUsedUtilization", perCPUUsed.reduce(0, +) / Double(perCPUUsed.count))
        }
        if let all = cpus.first(where: { $0.name == "cpu" }), let d = delta(all) {
            emit("CPUAllUsedUtilization", d.usedPercent)
            emit("CPUAllIdleUtilization", d.percent(d.idle))
            emit("CPUUserUtilization", d.percent(d.user))
            emit("CPUSystemUtilization", d.percent(d.system))
            emit("CPUWaitUtilization", d.percent(d.iowait))
        }
        previous = Dictionary(cpus.map { ($0.name, $0.times) }, uniquingKeysWith: { _, last in last })

        let used = memory.total - memory.available
        emit("MemoryUsedBytes", Double(used))
        emit("MemoryUsedInPercent", Double(used) / Double(memory.total) * 100)
        emit("MemoryFreeBytes", Double(memory.available))
        emit("MemoryFreeInPercent", Double(memory.available) / Double(memory.total) * 100)
        return out
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
