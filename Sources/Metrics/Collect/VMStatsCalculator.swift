import Libvirt

/// Pure maths: turns successive `DomainStatsRecord` snapshots into ZWatch `ZStack/VM` samples
/// (labels `VMUuid` = the libvirt uuid without dashes, lowercase, and `HostUuid`; plus `CPUNum`,
/// `DiskDeviceLetter` or `NetworkDeviceLetter` on per-device metrics). No I/O: it keeps the
/// previous counters per domain, so tests feed it records.
///
/// For running domains only (`state.state` = 1), with elapsed = `now` − the previous read's `now`:
/// - `CPUUsedUtilization` / `CPUIdleUtilization` (`CPUNum` = N): `vcpu.N.time` delta / elapsed;
/// - `CPUAverageUsedUtilization`: mean of the per-vCPU used values emitted by this read;
/// - `CPUAllUsedUtilization` / `CPUAllIdleUtilization`: `cpu.time` delta / (elapsed × vcpus),
///   vcpus = `vcpu.current` (else the number of `vcpu.N.time` keys);
/// - `MemoryUsedBytes`, `MemoryUsedInPercent`, `MemoryFreeBytes`, `MemoryFreeInPercent`:
///   used = `balloon.current` − `balloon.usable` when the guest reports usable, else `balloon.rss`
///   (KiB → bytes), percent of `balloon.current`;
/// - per disk (`DiskDeviceLetter` = `block.N.name`, e.g. `vda`), per second: `DiskReadOps`
///   (`rd.reqs`), `DiskWriteOps` (`wr.reqs`), `DiskReadBytes` (`rd.bytes`), `DiskWriteBytes`
///   (`wr.bytes`); `DiskAll…` the sums over the disks with a delta this read. A block entry
///   without any of those counters (an empty CD-ROM on some drivers) is skipped; one with
///   counters, CD-ROMs included, counts as a disk. A repeated name (a backing-chain entry) is
///   read once, first wins;
/// - per NIC (`NetworkDeviceLetter` = `net.N.name`, e.g. `vnet0`), per second:
///   `NetworkInBytes`/`OutBytes` (`rx`/`tx.bytes`), `NetworkInPackets`/`OutPackets` (`.pkts`),
///   `NetworkInErrors`/`OutErrors` (`.errs`), `NetworkInDroppedBytes`/`OutDroppedBytes`
///   (`.drop`, a packet count as ZWatch names it); `NetworkAll{In,Out}{Bytes,Packets}` the sums.
///
/// Percentages are clamped to 0…100. Memory is a gauge, emitted on every read. Counters: the
/// first read of one emits nothing for it; one that went down is re-based and emits nothing for
/// that read (only that counter); a device that appears starts with a first read, one that goes
/// away is forgotten. A domain whose `cpu.time` went down, or whose hypervisor id changed (a new
/// QEMU process, even when its counters already passed the old ones), was restarted: all its counters are
/// re-based and it emits no rates for that read. A domain that is no longer running, or no longer
/// listed, is forgotten.
///
/// ```swift
/// var calc = VMStatsCalculator()
/// let samples = calc.samples(from: try conn.domainStats(), hostUuid: host, stamp: gridTime, now: wallTime)
/// ```
public struct VMStatsCalculator: Sendable {
    /// Counters of each running domain, by libvirt uuid.
    private var domains: [String: CounterRates] = [:]
    /// The hypervisor id each tracked domain had at its last read.
    private var domainIDs: [String: UInt32] = [:]

    public init() {}

    /// Number of domains whose counters are kept (running at the last read).
    public var trackedDomainCount: Int { domains.count }

    /// `stamp`: grid time the samples carry; `now`: wall time of the read (ms) used as elapsed time.
    public mutating func samples(from records: [DomainStatsRecord], hostUuid: String, stamp: Int64, now: Int64) -> [Sample] {
        var out: [Sample] = []
        var kept: [String: CounterRates] = [:]
        var keptIDs: [String: UInt32] = [:]
        for record in records where record.state == .running {
            var rates = domains[record.uuid] ?? CounterRates()
            var e = SampleEmitter(namespace: "ZStack/VM",
                                  labels: ["VMUuid": Self.zstackUuid(record.uuid), "HostUuid": hostUuid], stamp: stamp)
            let restarted = Self.restarted(record, rates) || Self.newProcess(record, previousID: domainIDs[record.uuid])
            keptIDs[record.uuid] = record.domainID
            Self.cpu(record, rebaseOnly: restarted, rates: &rates, now: now, into: &e)
            Self.memory(record.numbers, into: &e)
            DeviceRates.emit(Self.devices(record, group: "block", fields: Self.diskFields), fields: Self.diskFields,
                             deviceLabel: "DiskDeviceLetter", keyPrefix: "block", rebaseOnly: restarted,
                             rates: &rates, now: now, into: &e)
            DeviceRates.emit(Self.devices(record, group: "net", fields: Self.netFields), fields: Self.netFields,
                             deviceLabel: "NetworkDeviceLetter", keyPrefix: "net", rebaseOnly: restarted,
                             rates: &rates, now: now, into: &e)
            rates.finishRead()
            kept[record.uuid] = rates
            out += e.samples
        }
        domains = kept
        domainIDs = keptIDs
        return out
    }

    /// `ZStack/Host` `VMCount` (every domain listed) and `RunningVMCount` (state running) with
    /// label `HostUuid`, stamped `stamp`: the hypervisor's view, emitted on every read.
    public static func hostCountSamples(from records: [DomainStatsRecord], hostUuid: String, stamp: Int64) -> [Sample] {
        var e = SampleEmitter(namespace: "ZStack/Host", labels: ["HostUuid": hostUuid], stamp: stamp)
        e.emit("VMCount", Double(records.count))
        e.emit("RunningVMCount", Double(records.filter { $0.state == .running }.count))
        return e.samples
    }

    /// The Stratus/ZStack form of a libvirt uuid: no dashes, lowercase.
    public static func zstackUuid(_ libvirtUuid: String) -> String {
        String(libvirtUuid.lowercased().filter { $0 != "-" })
    }

    // MARK: - Pieces

    static let diskFields: [DeviceRates.Field] = [
        .init(counter: "rd.reqs", metric: "DiskReadOps", allMetric: "DiskAllReadOps"),
        .init(counter: "wr.reqs", metric: "DiskWriteOps", allMetric: "DiskAllWriteOps"),
        .init(counter: "rd.bytes", metric: "DiskReadBytes", allMetric: "DiskAllReadBytes"),
        .init(counter: "wr.bytes", metric: "DiskWriteBytes", allMetric: "DiskAllWriteBytes"),
    ]

    static let netFields: [DeviceRates.Field] = [
        .init(counter: "rx.bytes", metric: "NetworkInBytes", allMetric: "NetworkAllInBytes"),
        .init(counter: "tx.bytes", metric: "NetworkOutBytes", allMetric: "NetworkAllOutBytes"),
        .init(counter: "rx.pkts", metric: "NetworkInPackets", allMetric: "NetworkAllInPackets"),
        .init(counter: "tx.pkts", metric: "NetworkOutPackets", allMetric: "NetworkAllOutPackets"),
        .init(counter: "rx.errs", metric: "NetworkInErrors"),
        .init(counter: "tx.errs", metric: "NetworkOutErrors"),
        .init(counter: "rx.drop", metric: "NetworkInDroppedBytes"),
        .init(counter: "tx.drop", metric: "NetworkOutDroppedBytes"),
    ]

    /// True when the domain's total CPU time went down since its last read: it was restarted.
    static func restarted(_ record: DomainStatsRecord, _ rates: CounterRates) -> Bool {
        guard let now = record.numbers["cpu.time"], let then = rates.previousValue("cpu.time") else { return false }
        return now < then
    }

    /// True when both reads know the domain's hypervisor id and it changed: the domain was started anew.
    static func newProcess(_ record: DomainStatsRecord, previousID: UInt32?) -> Bool {
        guard let id = record.domainID, let previousID else { return false }
        return id != previousID
    }

    /// The `<group>.N.*` devices of a record (`block`, `net`) that have at least one of `fields`,
    /// in index order, each name once.
    static func devices(_ record: DomainStatsRecord, group: String, fields: [DeviceRates.Field]) -> [DeviceRates.Device] {
        let count = Int(record.numbers["\(group).count"] ?? 0)
        var seen: Set<String> = []
        var out: [DeviceRates.Device] = []
        for i in 0..<max(0, count) {
            guard let name = record.strings["\(group).\(i).name"], !seen.contains(name) else { continue }
            var counters: [String: Double] = [:]
            for f in fields { counters[f.counter] = record.numbers["\(group).\(i).\(f.counter)"] }
            guard !counters.isEmpty else { continue }
            seen.insert(name)
            out.append(DeviceRates.Device(name: name, counters: counters))
        }
        return out
    }

    static func cpu(_ record: DomainStatsRecord, rebaseOnly: Bool, rates: inout CounterRates, now: Int64, into e: inout SampleEmitter) {
        var vcpus: [(n: Int, time: Double)] = []
        for (key, value) in record.numbers where key.hasPrefix("vcpu.") && key.hasSuffix(".time") {
            if let n = Int(key.dropFirst(5).dropLast(5)) { vcpus.append((n, value)) }
        }
        vcpus.sort { $0.n < $1.n }
        let cpuTime = record.numbers["cpu.time"]
        if rebaseOnly {
            for v in vcpus { rates.rebase("vcpu.\(v.n).time", v.time, now: now) }
            if let cpuTime { rates.rebase("cpu.time", cpuTime, now: now) }
            return
        }
        var used: [Double] = []
        for v in vcpus {
            guard let d = rates.delta("vcpu.\(v.n).time", v.time, now: now) else { continue }
            let u = percent(d.value, of: Double(d.elapsedMs) * 1_000_000)
            used.append(u)
            e.emit("CPUUsedUtilization", u, ["CPUNum": String(v.n)])
            e.emit("CPUIdleUtilization", 100 - u, ["CPUNum": String(v.n)])
        }
        if !used.isEmpty {
            e.emit("CPUAverageUsedUtilization", used.reduce(0, +) / Double(used.count))
        }
        let count = record.numbers["vcpu.current"] ?? Double(vcpus.count)
        if let cpuTime, let d = rates.delta("cpu.time", cpuTime, now: now), count > 0 {
            let u = percent(d.value, of: Double(d.elapsedMs) * 1_000_000 * count)
            e.emit("CPUAllUsedUtilization", u)
            e.emit("CPUAllIdleUtilization", 100 - u)
        }
    }

    static func memory(_ n: [String: Double], into e: inout SampleEmitter) {
        guard let currentKiB = n["balloon.current"], currentKiB > 0 else { return }
        let usedKiB: Double
        if let usable = n["balloon.usable"] {
            usedKiB = currentKiB - usable
        } else if let rss = n["balloon.rss"] {
            usedKiB = rss
        } else {
            return
        }
        let used = min(max(usedKiB, 0), currentKiB)
        let free = currentKiB - used
        e.emit("MemoryUsedBytes", used * 1024)
        e.emit("MemoryUsedInPercent", percent(used, of: currentKiB))
        e.emit("MemoryFreeBytes", free * 1024)
        e.emit("MemoryFreeInPercent", percent(free, of: currentKiB))
    }

    /// `part / whole` in percent, clamped to 0…100.
    static func percent(_ part: Double, of whole: Double) -> Double {
        guard whole > 0 else { return 0 }
        return min(max(part / whole * 100, 0), 100)
    }
}
