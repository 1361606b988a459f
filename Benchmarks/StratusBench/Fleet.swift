import Foundation
import StratusMetrics

/// How a generated series' values are made. Values are integers in `unit` steps (1/100 for
/// gauges with two decimals, 1 for counters-as-integers), so both systems receive the same bits.
struct SeriesShape: Sendable {
    enum Kind: Sendable {
        /// A percentage 0–100 with two decimals: base + diurnal swing + noise.
        case percent(base: Double, swing: Double, noise: Double)
        /// 100 − (the percentage of series `of`), as Idle/Free complements.
        case complementPercent(of: Int)
        /// Bytes (or any total) with a fixed capacity: used share of series `of` times capacity.
        case shareOf(of: Int, capacity: Int64, complement: Bool)
        /// A non-negative integer rate: base × diurnal × noise, sometimes bursting.
        case rate(base: Double, noise: Double)
        /// A slow integer level (load ×100, VM counts): base + swing.
        case level(base: Double, swing: Double, centi: Bool)
    }
    var kind: Kind
    /// Values are `units / divisor`.
    var divisor: Double
}

/// The benchmark's synthetic but realistic fleet: VMs and hosts with the ZWatch metrics of
/// /work/shared/METRICS.md, a seeded value for every (series, time), independent of generation
/// order, so the VictoriaMetrics files and the Stratus rounds hold the same numbers.
struct Fleet: Sendable {
    var labels: [Labels] = []
    var shapes: [SeriesShape] = []
    /// Diurnal phase per series (radians), hot flag folded into the shape's base.
    var phase: [Double] = []
    let seed: UInt64
    let interval: Int64
    let start: Int64
    let points: Int

    var seriesCount: Int { labels.count }
    var sampleCount: Int { labels.count * points }
    var end: Int64 { start + Int64(points - 1) * interval }
    func time(_ k: Int) -> Int64 { start + Int64(k) * interval }

    /// `end` is the last sample's time; `hours` of data at `interval` ms before it.
    init(vms: Int, hosts: Int, hours: Int, seed: UInt64 = 42, end: Int64 = Fleet.defaultEnd, interval: Int64 = 10_000) {
        self.seed = seed
        self.interval = interval
        points = hours * 3_600_000 / Int(interval)
        start = end - Int64(points - 1) * interval
        var rng = SplitMix(seed)
        var hostIDs: [String] = []
        for h in 0..<max(1, hosts) {
            let id = rng.uuid()
            hostIDs.append(id)
            addHost(id, index: h, rng: &rng)
        }
        for v in 0..<vms {
            addVM(rng.uuid(), host: hostIDs[v % hostIDs.count], rng: &rng)
        }
    }

    /// 2026-01-01T00:00:00Z, aligned to every step the queries use.
    static let defaultEnd: Int64 = 1_767_225_600_000

    private mutating func add(_ ns: String, _ metric: String, _ labels: [String: String], _ shape: SeriesShape, phase p: Double) -> Int {
        var l = labels
        l[Labels.nameKey] = "ZStack:\(ns)::\(metric)"
        self.labels.append(Labels(l))
        shapes.append(shape)
        phase.append(p)
        return self.labels.count - 1
    }

    private mutating func pct(_ ns: String, _ m: String, _ l: [String: String], base: Double, swing: Double, noise: Double, phase p: Double) -> Int {
        add(ns, m, l, SeriesShape(kind: .percent(base: base, swing: swing, noise: noise), divisor: 100), phase: p)
    }

    private mutating func comp(_ ns: String, _ m: String, _ l: [String: String], of: Int, phase p: Double) {
        _ = add(ns, m, l, SeriesShape(kind: .complementPercent(of: of), divisor: 100), phase: p)
    }

    private mutating func rate(_ ns: String, _ m: String, _ l: [String: String], base: Double, noise: Double = 0.3, phase p: Double) {
        _ = add(ns, m, l, SeriesShape(kind: .rate(base: base, noise: noise), divisor: 1), phase: p)
    }

    private mutating func addVM(_ id: String, host: String, rng: inout SplitMix) {
        let l = ["VMUuid": id, "HostUuid": host]
        let vcpus = [1, 2, 4, 8][Int(rng.next() % 4)]
        let disks = 1 + Int(rng.next() % 2), nics = 1 + Int(rng.next() % 2)
        let hot = rng.unit() < 0.02
        let p = rng.unit() * 0.8 - 0.4
        let base = hot ? 85 : 5 + rng.unit() * 35
        let ns = "VM"
        let avg = pct(ns, "CPUAverageUsedUtilization", l, base: base, swing: hot ? 8 : base * 0.6, noise: 4, phase: p)
        for c in 0..<vcpus {
            var lc = l; lc["CPUNum"] = "\(c)"
            let u = pct(ns, "CPUUsedUtilization", lc, base: base, swing: hot ? 8 : base * 0.6, noise: 9, phase: p)
            comp(ns, "CPUIdleUtilization", lc, of: u, phase: p)
        }
        let all = pct(ns, "CPUAllUsedUtilization", l, base: base, swing: hot ? 8 : base * 0.6, noise: 3, phase: p)
        comp(ns, "CPUAllIdleUtilization", l, of: all, phase: p)
        _ = avg
        let memGiB = Int64([1, 2, 4, 8, 16][Int(rng.next() % 5)]) << 30
        let mem = pct(ns, "MemoryUsedInPercent", l, base: 30 + rng.unit() * 40, swing: 5, noise: 1, phase: p)
        comp(ns, "MemoryFreeInPercent", l, of: mem, phase: p)
        _ = add(ns, "MemoryUsedBytes", l, SeriesShape(kind: .shareOf(of: mem, capacity: memGiB, complement: false), divisor: 1), phase: p)
        _ = add(ns, "MemoryFreeBytes", l, SeriesShape(kind: .shareOf(of: mem, capacity: memGiB, complement: true), divisor: 1), phase: p)
        let io = hot ? 2_000.0 : 20 + rng.unit() * 200
        for d in 0..<disks {
            var ld = l; ld["DiskDeviceLetter"] = ["vda", "vdb"][d]
            rate(ns, "DiskReadOps", ld, base: io, phase: p)
            rate(ns, "DiskWriteOps", ld, base: io * 1.5, phase: p)
            rate(ns, "DiskReadBytes", ld, base: io * 16_384, phase: p)
            rate(ns, "DiskWriteBytes", ld, base: io * 24_576, phase: p)
        }
        for m in ["DiskAllReadOps", "DiskAllWriteOps"] { rate(ns, m, l, base: io * Double(disks), phase: p) }
        for m in ["DiskAllReadBytes", "DiskAllWriteBytes"] { rate(ns, m, l, base: io * 20_000 * Double(disks), phase: p) }
        let net = hot ? 50_000_000.0 : 10_000 + rng.unit() * 2_000_000
        for n in 0..<nics {
            var ln = l; ln["NetworkDeviceLetter"] = "vnic\(n).0"
            rate(ns, "NetworkInBytes", ln, base: net, phase: p)
            rate(ns, "NetworkOutBytes", ln, base: net * 0.7, phase: p)
            rate(ns, "NetworkInPackets", ln, base: net / 900, phase: p)
            rate(ns, "NetworkOutPackets", ln, base: net / 1100, phase: p)
            rate(ns, "NetworkInErrors", ln, base: 0.02, noise: 1, phase: p)
            rate(ns, "NetworkOutErrors", ln, base: 0.01, noise: 1, phase: p)
            rate(ns, "NetworkInDroppedBytes", ln, base: 0.5, noise: 1, phase: p)
            rate(ns, "NetworkOutDroppedBytes", ln, base: 0.2, noise: 1, phase: p)
        }
        rate(ns, "NetworkAllInBytes", l, base: net * Double(nics), phase: p)
        rate(ns, "NetworkAllOutBytes", l, base: net * 0.7 * Double(nics), phase: p)
        rate(ns, "NetworkAllInPackets", l, base: net / 900 * Double(nics), phase: p)
        rate(ns, "NetworkAllOutPackets", l, base: net / 1100 * Double(nics), phase: p)
    }

    private mutating func addHost(_ id: String, index: Int, rng: inout SplitMix) {
        let l = ["HostUuid": id]
        let cpus = [16, 24, 32, 48, 64][Int(rng.next() % 5)]
        let p = rng.unit() * 0.4 - 0.2
        let base = 20 + rng.unit() * 40
        let ns = "Host"
        for c in 0..<cpus {
            var lc = l; lc["CPUNum"] = "\(c)"
            _ = pct(ns, "CPUUsedUtilization", lc, base: base, swing: base * 0.5, noise: 8, phase: p)
        }
        let avg = pct(ns, "CPUAverageUsedUtilization", l, base: base, swing: base * 0.5, noise: 2, phase: p)
        let all = pct(ns, "CPUAllUsedUtilization", l, base: base, swing: base * 0.5, noise: 2, phase: p)
        comp(ns, "CPUIdleUtilization", l, of: avg, phase: p)
        comp(ns, "CPUAllIdleUtilization", l, of: all, phase: p)
        _ = pct(ns, "CPUUserUtilization", l, base: base * 0.7, swing: base * 0.35, noise: 2, phase: p)
        _ = pct(ns, "CPUSystemUtilization", l, base: base * 0.25, swing: base * 0.1, noise: 1, phase: p)
        _ = pct(ns, "CPUWaitUtilization", l, base: 1, swing: 0.5, noise: 0.5, phase: p)
        let memBytes = Int64([128, 256, 512][Int(rng.next() % 3)]) << 30
        let mem = pct(ns, "MemoryUsedInPercent", l, base: 40 + rng.unit() * 30, swing: 5, noise: 0.5, phase: p)
        comp(ns, "MemoryFreeInPercent", l, of: mem, phase: p)
        _ = add(ns, "MemoryUsedBytes", l, SeriesShape(kind: .shareOf(of: mem, capacity: memBytes, complement: false), divisor: 1), phase: p)
        _ = add(ns, "MemoryFreeBytes", l, SeriesShape(kind: .shareOf(of: mem, capacity: memBytes, complement: true), divisor: 1), phase: p)
        let disks = 2 + Int(rng.next() % 3)
        for d in 0..<disks {
            var ld = l; ld["DiskDeviceLetter"] = "sd" + String(UnicodeScalar(UInt8(97 + d)))
            rate(ns, "DiskReadOps", ld, base: 500, phase: p)
            rate(ns, "DiskWriteOps", ld, base: 800, phase: p)
            rate(ns, "DiskReadBytes", ld, base: 500 * 32_768, phase: p)
            rate(ns, "DiskWriteBytes", ld, base: 800 * 32_768, phase: p)
        }
        for m in ["DiskAllReadOps", "DiskAllWriteOps"] { rate(ns, m, l, base: 650 * Double(disks), phase: p) }
        for m in ["DiskAllReadBytes", "DiskAllWriteBytes"] { rate(ns, m, l, base: 650 * 32_768 * Double(disks), phase: p) }
        for (k, mount) in ["/", "/var/lib/libvirt"].enumerated() {
            var lm = l; lm["MountPoint"] = mount
            let cap = Int64(k == 0 ? 200 : 4_000) << 30
            let used = pct(ns, "DiskUsedCapacityInPercent", lm, base: 30 + rng.unit() * 40, swing: 0.5, noise: 0.05, phase: p)
            _ = add(ns, "DiskUsedCapacityInBytes", lm, SeriesShape(kind: .shareOf(of: used, capacity: cap, complement: false), divisor: 1), phase: p)
            _ = add(ns, "DiskFreeCapacityInBytes", lm, SeriesShape(kind: .shareOf(of: used, capacity: cap, complement: true), divisor: 1), phase: p)
        }
        let nics = 2 + Int(rng.next() % 3)
        let net = 20_000_000 + rng.unit() * 80_000_000
        for n in 0..<nics {
            var ln = l; ln["NetworkDeviceLetter"] = "eth\(n)"
            rate(ns, "NetworkInBytes", ln, base: net, phase: p)
            rate(ns, "NetworkOutBytes", ln, base: net * 0.8, phase: p)
            rate(ns, "NetworkInPackets", ln, base: net / 1000, phase: p)
            rate(ns, "NetworkOutPackets", ln, base: net / 1200, phase: p)
            rate(ns, "NetworkInErrors", ln, base: 0.05, noise: 1, phase: p)
            rate(ns, "NetworkOutErrors", ln, base: 0.02, noise: 1, phase: p)
        }
        rate(ns, "NetworkAllInBytes", l, base: net * Double(nics), phase: p)
        rate(ns, "NetworkAllOutBytes", l, base: net * 0.8 * Double(nics), phase: p)
        rate(ns, "NetworkAllInPackets", l, base: net / 1000 * Double(nics), phase: p)
        rate(ns, "NetworkAllOutPackets", l, base: net / 1200 * Double(nics), phase: p)
        for (m, b) in [("LoadAverage1", 1.0), ("LoadAverage5", 0.9), ("LoadAverage15", 0.8)] {
            _ = add(ns, m, l, SeriesShape(kind: .level(base: Double(cpus) * base / 100 * b, swing: Double(cpus) * 0.1, centi: true), divisor: 100), phase: p)
        }
        _ = add(ns, "VMCount", l, SeriesShape(kind: .level(base: 10, swing: 0, centi: false), divisor: 1), phase: p)
        _ = add(ns, "RunningVMCount", l, SeriesShape(kind: .level(base: 9, swing: 1, centi: false), divisor: 1), phase: p)
    }

    // MARK: values

    /// The diurnal factor at sample `k` for phase `p`: 0 at night, 1 at the afternoon peak.
    @inline(__always) func diurnal(_ k: Int, _ p: Double) -> Double {
        let dayFraction = Double((time(k) % 86_400_000)) / 86_400_000
        return 0.5 - 0.5 * cos(2 * Double.pi * (dayFraction - 0.125 + p / (2 * Double.pi)))
    }

    /// Uniform noise in [-1, 1) for (series, sample), independent of generation order.
    @inline(__always) func noise(_ s: Int, _ k: Int) -> Double {
        var x = seed &+ UInt64(s) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(k) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        return Double(x >> 11) / Double(1 << 52) - 1
    }

    /// The value of series `s` at sample `k`, in the series' integer units.
    func units(_ s: Int, _ k: Int) -> Int64 {
        switch shapes[s].kind {
        case let .percent(base, swing, n):
            let v = base + swing * (diurnal(k, phase[s]) - 0.5) + n * noise(s, k)
            return Int64((min(100, max(0, v)) * 100).rounded())
        case let .complementPercent(of):
            return 10_000 - units(of, k)
        case let .shareOf(of, capacity, complement):
            let used = Int64((Double(capacity) * Double(units(of, k)) / 10_000).rounded())
            return complement ? capacity - used : used
        case let .rate(base, n):
            let d = 0.2 + 0.8 * diurnal(k, phase[s])
            var v = base * d * (1 + n * noise(s, k))
            if noise(s &+ 7_919, k) > 0.995 { v *= 4 }  // an occasional burst
            return Int64(max(0, v).rounded())
        case let .level(base, swing, centi):
            let v = base + swing * (diurnal(k, phase[s]) - 0.5) + (centi ? 0.05 * noise(s, k) : 0)
            return Int64((max(0, v) * (centi ? 100 : 1)).rounded())
        }
    }

    func value(_ s: Int, _ k: Int) -> Double { Double(units(s, k)) / shapes[s].divisor }

    /// Appends the value's JSON text (`12.34`, `1048576`) without a Double → String conversion.
    func appendJSON(_ s: Int, _ k: Int, to out: inout [UInt8]) {
        let u = units(s, k)
        if shapes[s].divisor == 1 { appendInt(u, to: &out); return }
        appendInt(u / 100, to: &out)
        let f = Int(u % 100)
        out.append(UInt8(ascii: "."))
        out.append(UInt8(48 + f / 10))
        out.append(UInt8(48 + f % 10))
    }
}

@inline(__always) func appendInt(_ v: Int64, to out: inout [UInt8]) {
    if v < 0 { out.append(UInt8(ascii: "-")); appendInt(-v, to: &out); return }
    if v >= 10 { appendInt(v / 10, to: &out) }
    out.append(UInt8(48 + v % 10))
}

/// SplitMix64: a small seeded generator for the fleet's shape (not for values; those are hashed).
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// A ZStack-style UUID: 32 lowercase hex digits.
    mutating func uuid() -> String {
        String(next(), radix: 16).leftPad(16) + String(next(), radix: 16).leftPad(16)
    }
}

extension String {
    func leftPad(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
