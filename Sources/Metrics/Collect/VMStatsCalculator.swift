import Libvirt

/// Pure maths: turns successive `DomainStatsRecord` snapshots into ZWatch `ZStack/VM` samples
/// (labels `VMUuid` = the libvirt uuid without dashes, lowercase, and `HostUuid`; `CPUNum` on
/// per-vCPU metrics). No I/O: it keeps the previous counters per domain, so tests feed it records.
///
/// For running domains only (`state.state` = 1), with elapsed = `now` − the previous read's `now`:
/// - `CPUUsedUtilization` / `CPUIdleUtilization` (`CPUNum` = N): `vcpu.N.time` delta / elapsed;
/// - `CPUAverageUsedUtilization`: mean of the per-vCPU used values emitted by this read;
/// - `CPUAllUsedUtilization` / `CPUAllIdleUtilization`: `cpu.time` delta / (elapsed × vcpus),
///   vcpus = `vcpu.current` (else the number of `vcpu.N.time` keys);
/// - `MemoryUsedBytes`, `MemoryUsedInPercent`, `MemoryFreeBytes`, `MemoryFreeInPercent`:
///   used = `balloon.current` − `balloon.usable` when the guest reports usable, else `balloon.rss`
///   (KiB → bytes), percent of `balloon.current`.
/// Percentages are clamped to 0…100. The first read of a domain emits memory only; a counter that
/// went down (reset, VM restart) emits nothing for that step and is re-based; a domain that is no
/// longer running, or no longer listed, is forgotten.
///
/// ```swift
/// var calc = VMStatsCalculator()
/// let samples = calc.samples(from: try conn.domainStats(), hostUuid: host, stamp: gridTime, now: wallTime)
/// ```
public struct VMStatsCalculator: Sendable {
    /// The counters of a domain's previous read.
    struct Counters: Sendable {
        var at: Int64
        var cpuTime: Double?
        var vcpuTimes: [Int: Double]
    }

    /// By libvirt uuid.
    private var previous: [String: Counters] = [:]

    public init() {}

    /// Number of domains whose counters are kept (running at the last read).
    public var trackedDomainCount: Int { previous.count }

    /// `stamp`: grid time the samples carry; `now`: wall time of the read (ms) used as elapsed time.
    public mutating func samples(from records: [DomainStatsRecord], hostUuid: String, stamp: Int64, now: Int64) -> [Sample] {
        var out: [Sample] = []
        var kept: [String: Counters] = [:]
        for record in records where record.state == .running {
            let counters = Self.counters(of: record, at: now)
            let base = previous[record.uuid]
            kept[record.uuid] = counters
            var emitter = Emitter(vmUuid: Self.zstackUuid(record.uuid), hostUuid: hostUuid, stamp: stamp)
            if let base, now > base.at {
                Self.cpu(from: base, to: counters, vcpus: record.numbers["vcpu.current"], into: &emitter)
            }
            Self.memory(record.numbers, into: &emitter)
            out += emitter.samples
        }
        previous = kept
        return out
    }

    /// The Stratus/ZStack form of a libvirt uuid: no dashes, lowercase.
    public static func zstackUuid(_ libvirtUuid: String) -> String {
        String(libvirtUuid.lowercased().filter { $0 != "-" })
    }

    // MARK: - Pieces

    static func counters(of record: DomainStatsRecord, at now: Int64) -> Counters {
        var vcpus: [Int: Double] = [:]
        for (key, value) in record.numbers where key.hasPrefix("vcpu.") && key.hasSuffix(".time") {
            if let n = Int(key.dropFirst(5).dropLast(5)) { vcpus[n] = value }
        }
        return Counters(at: now, cpuTime: record.numbers["cpu.time"], vcpuTimes: vcpus)
    }

    static func cpu(from base: Counters, to current: Counters, vcpus: Double?, into e: inout Emitter) {
        let elapsedNs = Double(current.at - base.at) * 1_000_000
        var used: [Double] = []
        for n in current.vcpuTimes.keys.sorted() {
            guard let now = current.vcpuTimes[n], let then = base.vcpuTimes[n], now >= then else { continue }
            let u = percent(now - then, of: elapsedNs)
            used.append(u)
            e.emit("CPUUsedUtilization", u, ["CPUNum": String(n)])
            e.emit("CPUIdleUtilization", 100 - u, ["CPUNum": String(n)])
        }
        if !used.isEmpty {
            e.emit("CPUAverageUsedUtilization", used.reduce(0, +) / Double(used.count))
        }
        let count = vcpus ?? Double(current.vcpuTimes.count)
        if let now = current.cpuTime, let then = base.cpuTime, now >= then, count > 0 {
            let u = percent(now - then, of: elapsedNs * count)
            e.emit("CPUAllUsedUtilization", u)
            e.emit("CPUAllIdleUtilization", 100 - u)
        }
    }

    static func memory(_ n: [String: Double], into e: inout Emitter) {
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

    /// Builds one VM's samples with its labels and stamp.
    struct Emitter {
        let vmUuid: String
        let hostUuid: String
        let stamp: Int64
        var samples: [Sample] = []

        mutating func emit(_ metric: String, _ value: Double, _ extra: [String: String] = [:]) {
            var labels = extra
            labels["VMUuid"] = vmUuid
            labels["HostUuid"] = hostUuid
            samples.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/VM", metricName: metric, labels),
                                  timestamp: stamp, value: value))
        }
    }
}
