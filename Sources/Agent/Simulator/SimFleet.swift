/// The simulated fleet's shape, a pure function of (seed, hosts, vms): each host's hardware and
/// timezone, each VM's size, devices, host and habits. Host uuids come from the manager when a host
/// registers; everything else is decided here.
public struct SimFleet: Sendable {
    public var hosts: [SimHostSpec]
    public var vms: [SimVMSpec]
    public let seed: UInt64

    /// Share of VMs that are hot (pinned near 90–100 % CPU); at least one when there are VMs.
    public static let hotShare = 0.01
    /// Share of VMs that start out stopped.
    public static let initiallyStoppedShare = 0.02

    /// `vms` are spread round-robin over `hosts`, so each host has ⌊M/N⌋ or ⌈M/N⌉ VMs.
    public init(seed: UInt64, hosts hostCount: Int, vms vmCount: Int, namePrefix: String = "sim") {
        self.seed = seed
        var rng = SimSplitMix(seed)
        let zones = [-8, -5, -3, 0, 1, 3, 8, 9]
        hosts = (0..<hostCount).map { i in
            SimHostSpec(index: i, name: "\(namePrefix)-host-\(Self.padded(i + 1, 5))",
                        managementIp: "10.\(100 + (i >> 16) & 0x7F).\((i >> 8) & 0xFF).\(i & 0xFF)",
                        timezoneOffsetHours: zones[rng.below(zones.count)],
                        baseLoad: 2 + rng.unit() * 4,
                        mountUsedPercent: [20 + rng.unit() * 40, 10 + rng.unit() * 60])
        }
        let hotEvery = max(1, Int((1 / Self.hotShare).rounded()))
        let hotOffset = rng.below(hotEvery)
        vms = (0..<vmCount).map { v in
            let cpus = 1 + rng.below(4)
            let hot = v % hotEvery == hotOffset || (vmCount < hotEvery && v == 0)
            return SimVMSpec(index: v, uuid: rng.uuid(), name: "\(namePrefix)-vm-\(Self.padded(v + 1, 6))",
                             hostIndex: hostCount == 0 ? 0 : v % hostCount,
                             cpuNum: cpus,
                             memorySize: Int64([1, 2, 4, 8][rng.below(4)]) << 30,
                             disks: rng.unit() < 0.5 ? 1 : 2,
                             hot: hot,
                             baseCPU: 3 + rng.unit() * 30,
                             baseMemoryPercent: 25 + rng.unit() * 45,
                             diskOps: 5 + rng.unit() * 150,
                             ioSize: Double([4_096, 8_192, 16_384, 65_536][rng.below(4)]),
                             packets: 20 + rng.unit() * 2_000,
                             packetSize: 64 + rng.unit() * 1_300,
                             initiallyRunning: hot || rng.unit() >= Self.initiallyStoppedShare)
        }
        if !hosts.isEmpty {
            for v in vms { hosts[v.hostIndex].vmIndices.append(v.index) }
            for h in hosts.indices {
                let allocated = hosts[h].vmIndices.reduce(Int64(0)) { $0 + vms[$1].memorySize }
                var size: Int64 = 64 << 30
                while Double(size) < Double(allocated) * 1.25 + Double(8 << 30) { size *= 2 }
                hosts[h].memorySize = size
            }
        }
    }

    static func padded(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}

/// One simulated KVM host: 8 CPUs, disks sda/sdb, NICs eth0/eth1, mounts `/` and `/var/lib/libvirt`.
public struct SimHostSpec: Sendable {
    public static let cpuNum = 8
    public static let disks = ["sda", "sdb"]
    public static let nics = ["eth0", "eth1"]
    public static let mounts = ["/", "/var/lib/libvirt"]
    public static let mountCapacity: [Int64] = [200 << 30, 2 << 40]

    public var index: Int
    public var name: String
    public var managementIp: String
    /// Local time = UTC + this; the diurnal peak is mid-afternoon local time.
    public var timezoneOffsetHours: Int
    /// Host CPU % used by the host itself (kernel, libvirt, agent).
    public var baseLoad: Double
    public var mountUsedPercent: [Double]
    /// Bytes; enough for its VMs' memory with headroom.
    public var memorySize: Int64 = 64 << 30
    /// Indices into `SimFleet.vms` of the VMs placed on this host.
    public var vmIndices: [Int] = []
}

/// One simulated VM: 1–4 vCPUs, disks vda (and vdb), one NIC `vnic0.0`.
public struct SimVMSpec: Sendable {
    public static let diskLetters = ["vda", "vdb"]
    public static let nic = "vnic0.0"

    public var index: Int
    /// 32 lowercase hex digits.
    public var uuid: String
    public var name: String
    public var hostIndex: Int
    public var cpuNum: Int
    public var memorySize: Int64
    public var disks: Int
    /// Pinned near 90–100 % CPU; never stopped.
    public var hot: Bool
    /// Mean CPU % of all vCPUs at the daily peak (before noise).
    public var baseCPU: Double
    public var baseMemoryPercent: Double
    /// Disk operations per second on vda at the peak.
    public var diskOps: Double
    /// Bytes per disk operation.
    public var ioSize: Double
    /// Received packets per second at the peak.
    public var packets: Double
    /// Mean bytes per packet (≥ 64).
    public var packetSize: Double
    public var initiallyRunning: Bool
}
