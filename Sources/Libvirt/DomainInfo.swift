/// A domain's run state (`virDomainState`).
public enum DomainState: Int32, Sendable {
    case noState = 0, running, blocked, paused, shutdown, shutoff, crashed, pmSuspended

    /// Running, blocked or paused: the domain has a live process and per-domain stats answer.
    public var isActive: Bool { self == .running || self == .blocked || self == .paused }
}

/// One domain as `virDomainGetInfo` describes it.
public struct DomainInfo: Sendable, Equatable {
    /// libvirt's form with dashes, lowercase, e.g. `6695eb01-f6a4-8304-79aa-97f2502e193f`.
    public var uuid: String
    public var name: String
    public var state: DomainState
    public var maxMemoryKiB: UInt64
    public var memoryKiB: UInt64
    public var vcpus: Int
    /// Cumulative CPU time of all vCPUs in nanoseconds.
    public var cpuTimeNs: UInt64

    public init(uuid: String, name: String, state: DomainState, maxMemoryKiB: UInt64, memoryKiB: UInt64, vcpus: Int, cpuTimeNs: UInt64) {
        self.uuid = uuid
        self.name = name
        self.state = state
        self.maxMemoryKiB = maxMemoryKiB
        self.memoryKiB = memoryKiB
        self.vcpus = vcpus
        self.cpuTimeNs = cpuTimeNs
    }
}

/// The hypervisor host as `virNodeGetInfo` describes it.
public struct NodeInfo: Sendable, Equatable {
    public var model: String
    public var memoryKiB: UInt64
    public var cpus: Int
    public var mhz: Int

    public init(model: String, memoryKiB: UInt64, cpus: Int, mhz: Int) {
        self.model = model
        self.memoryKiB = memoryKiB
        self.cpus = cpus
        self.mhz = mhz
    }
}
