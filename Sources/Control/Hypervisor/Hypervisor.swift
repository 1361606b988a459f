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
    /// VM lifecycle events as the hypervisor pushes them, in order, until the consumer stops
    /// reading. The stream keeps working across `reconnect()` when the hypervisor can (libvirt
    /// re-registers it); events while disconnected are lost, so sync after a reconnect. The
    /// default is a stream that ends at once: such a hypervisor is only kept in step by syncs.
    func vmEvents() async throws -> AsyncStream<VMLifecycleEvent>
    /// Re-opens the connection to the host (after it stopped answering). The default does nothing.
    func reconnect() async throws
}

extension Hypervisor {
    public func vmEvents() async throws -> AsyncStream<VMLifecycleEvent> {
        AsyncStream { $0.finish() }
    }

    public func reconnect() async throws {}
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
