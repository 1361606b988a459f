/// The inventory: zones, clusters, hosts, VMs, accounts and the resource event log.
///
/// Contract for every implementation (SQLite now, PostgreSQL later):
/// - every state change and the `ResourceEvent` describing it commit in one transaction;
/// - the event log is append-only and its `sequence` strictly increases;
/// - a failed call changes nothing.
public protocol InventoryStore: Sendable {
    func createZone(name: String, description: String, at: Int64) async throws -> Zone
    func createCluster(name: String, zoneUuid: String, hypervisorType: String, at: Int64) async throws -> Cluster
    /// Adds a host, or returns the stored one with the same `hypervisorURI` (or name for URI-less hosts).
    func addHost(_ host: Host, at: Int64) async throws -> Host
    /// Creates or updates VMs as a hypervisor reports them (a full listing taken at `at`), writing
    /// `Created`, `VMStateChanged` and `HostChanged` events. VMs the report leaves out are not
    /// touched. A VM whose record changed after `at` (`lastOpDate > at`: a lifecycle event landed
    /// while the listing was in flight) keeps its record, since the report is older. Returns the
    /// events written.
    @discardableResult
    func syncVMs(hostUuid: String, reported: [ReportedVM], at: Int64) async throws -> [ResourceEvent]
    /// Records one VM's state as a lifecycle event reported it, in one transaction:
    /// `VMStateChanged` (old → new) when the state differs, `VmCrash` (old state → `crashReason`)
    /// when `crashReason` is given, `HostChanged` when the VM now runs on `hostUuid`. Returns the
    /// events written (none when nothing changed). Throws `notFound` for a VM or host the
    /// inventory does not have (sync the host to create it).
    @discardableResult
    func recordVMState(uuid: String, hostUuid: String, state: VMState, crashReason: String?, at: Int64) async throws -> [ResourceEvent]
    /// Sets a host's connection status (`Connecting` / `Connected` / `Disconnected`). A change writes
    /// `HostStatusChanged` (old → new); a change to `Disconnected` also writes `HostDisconnected`
    /// in the same transaction. Setting the current status again writes nothing.
    func setHostStatus(uuid: String, status: String, at: Int64) async throws

    func zones() async throws -> [Zone]
    func clusters() async throws -> [Cluster]
    func hosts(_ query: InventoryQuery) async throws -> QueryResult<Host>
    func vms(_ query: InventoryQuery) async throws -> QueryResult<VMInstance>
    func host(uuid: String) async throws -> Host
    func vm(uuid: String) async throws -> VMInstance
    /// Events with `sequence > after`, oldest first, at most `limit`.
    func events(after: Int64, limit: Int) async throws -> [ResourceEvent]

    func createAccount(name: String, passwordHash: String, type: String, at: Int64) async throws -> Account
    func account(named: String) async throws -> Account?
    func account(uuid: String) async throws -> Account?
    func createSession(accountUuid: String, at: Int64, ttl: Int64) async throws -> Session
    /// The session if it exists and has not expired at `at`.
    func validSession(uuid: String, at: Int64) async throws -> Session?
    func deleteSession(uuid: String) async throws
}

/// A VM as a hypervisor reports it, before it is an inventory record.
public struct ReportedVM: Sendable, Equatable {
    public var uuid: String
    public var name: String
    public var state: VMState
    public var cpuNum: Int
    public var memorySize: Int64

    public init(uuid: String, name: String, state: VMState, cpuNum: Int, memorySize: Int64) {
        self.uuid = uuid
        self.name = name
        self.state = state
        self.cpuNum = cpuNum
        self.memorySize = memorySize
    }
}

/// A page of query results and the count of all matches.
public struct QueryResult<Record: Sendable>: Sendable {
    public var inventories: [Record]
    public var total: Int
}
