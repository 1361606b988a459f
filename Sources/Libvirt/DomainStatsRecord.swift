/// One domain's stats keyed exactly as `virConnectGetAllDomainStats` names them
/// ("state.state", "cpu.time", "vcpu.current", "vcpu.0.time", "balloon.current", "balloon.rss",
/// "balloon.usable", "balloon.available", "block.count", "block.0.name", "block.0.rd.reqs",
/// "net.0.rx.bytes", …).
///
/// ```swift
/// for r in try conn.domainStats() where r.state == .running {
///     print(r.name, r.numbers["cpu.time"] ?? 0)
/// }
/// ```
public struct DomainStatsRecord: Sendable, Equatable {
    /// With dashes, lowercase.
    public var uuid: String
    public var name: String
    /// int, uint, llong, ullong, double and boolean (0/1) parameters.
    public var numbers: [String: Double]
    /// string parameters.
    public var strings: [String: String]
    /// The hypervisor's id of the running domain (`virDomainGetID`); a new one on every start of the
    /// domain's process, nil when inactive or unknown. Restarts that leave counters higher than before
    /// are told apart by it.
    public var domainID: UInt32?

    public init(uuid: String, name: String, numbers: [String: Double] = [:], strings: [String: String] = [:],
                domainID: UInt32? = nil) {
        self.uuid = uuid
        self.name = name
        self.numbers = numbers
        self.strings = strings
        self.domainID = domainID
    }

    /// `state.state` as a `DomainState`, or nil when the record has no state group.
    public var state: DomainState? {
        numbers["state.state"].flatMap { DomainState(rawValue: Int32($0)) }
    }
}
