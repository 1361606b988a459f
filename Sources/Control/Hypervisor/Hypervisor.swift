/// A hypervisor Stratus controls: libvirt for any URI libvirt accepts; cloud connectors later.
///
/// Contract: calls block only their own task (blocking C calls run on a thread pool); errors are
/// `ControlError.hypervisor` carrying the hypervisor's own message; VM uuids are Stratus uuids
/// (32 lowercase hex digits).
public protocol Hypervisor: Sendable {
    /// The URI this hypervisor was reached by (stored on the host record).
    var uri: String { get }
    /// The host's name, CPU count and memory.
    func hostFacts() async throws -> HostFacts
    /// Every VM defined on the host, running or not.
    func listVMs() async throws -> [ReportedVM]
    /// Whether the connection still answers.
    func isAlive() async -> Bool
    func start(vmUuid: String) async throws
    /// A graceful shutdown; `force` pulls the plug.
    func stop(vmUuid: String, force: Bool) async throws
    func pause(vmUuid: String) async throws
    func resume(vmUuid: String) async throws
    func reboot(vmUuid: String) async throws
}

/// What a hypervisor says about its host.
public struct HostFacts: Sendable, Equatable {
    public var hostname: String
    public var cpuNum: Int
    /// Bytes.
    public var memorySize: Int64

    public init(hostname: String, cpuNum: Int, memorySize: Int64) {
        self.hostname = hostname
        self.cpuNum = cpuNum
        self.memorySize = memorySize
    }
}
