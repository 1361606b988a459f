/// A VM lifecycle change a hypervisor pushed (libvirt: a `VIR_DOMAIN_EVENT_ID_LIFECYCLE` event).
public struct VMLifecycleEvent: Sendable, Equatable, CustomStringConvertible {
    /// Stratus form (32 lowercase hex digits).
    public var vmUuid: String
    public var name: String
    /// The VM's state after the event, or nil when the event changed its definition rather than
    /// its state (defined / undefined): the VM is then looked up by a sync.
    public var state: VMState?
    /// The hypervisor's reason when the event reports a crash (`crashed`, `panicked`,
    /// `crashloaded`), else nil.
    public var crashReason: String?
    /// What happened in the hypervisor's words, for logs (e.g. `Stopped/Destroyed`).
    public var detail: String

    public init(vmUuid: String, name: String, state: VMState?, crashReason: String? = nil, detail: String = "") {
        self.vmUuid = vmUuid
        self.name = name
        self.state = state
        self.crashReason = crashReason
        self.detail = detail
    }

    public var description: String { "\(name) (\(vmUuid)) \(detail) -> \(state?.rawValue ?? "resync")" }
}
