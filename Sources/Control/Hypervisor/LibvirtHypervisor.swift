import Libvirt
import NIOPosix

/// A `Hypervisor` reached through libvirt (`test:///…`, `qemu:///system`, `qemu+tcp://host/system`, …).
public final class LibvirtHypervisor: Hypervisor {
    public let connection: LibvirtConnection
    public var uri: String { connection.uri }

    public init(connection: LibvirtConnection) {
        self.connection = connection
    }

    /// libvirt keepalive for remote URIs: a probe every `keepAliveInterval` seconds, the connection
    /// closed after `keepAliveCount` unanswered ones (so a dead peer is noticed in ~20 s).
    public static let keepAliveInterval: Int32 = 5
    public static let keepAliveCount: UInt32 = 3

    /// Connects on a thread pool and turns on keepalive where the driver has it (remote URIs:
    /// `qemu:///system` through libvirtd, `qemu+tcp://`, `qemu+ssh://`); a URI libvirt rejects
    /// becomes `ControlError.hypervisor` with libvirt's message.
    public static func connect(uri: String) async throws -> LibvirtHypervisor {
        do {
            let conn = try await NIOThreadPool.singleton.runIfActive { () -> LibvirtConnection in
                let conn = try LibvirtConnection(uri: uri)
                try conn.setKeepAlive(interval: keepAliveInterval, count: keepAliveCount)
                return conn
            }
            return LibvirtHypervisor(connection: conn)
        } catch let e as LibvirtError {
            throw ControlError.hypervisor(uri: uri, message: e.message)
        }
    }

    public func hostFacts() async throws -> HostFacts {
        try await call { c in
            let node = try c.nodeInfo()
            return HostFacts(hostname: try c.hostname(), cpuNum: node.cpus, memorySize: Int64(node.memoryKiB) * 1024)
        }
    }

    public func listVMs() async throws -> [ReportedVM] {
        try await call { c in
            try c.domains().map { d in
                ReportedVM(uuid: ResourceUUID.normalize(d.uuid), name: d.name, state: VMState(d.state),
                           cpuNum: d.vcpus, memorySize: Int64(d.maxMemoryKiB) * 1024)
            }
        }
    }

    public func isAlive() async -> Bool {
        (try? await call { $0.isAlive }) ?? false
    }

    public func start(vmUuid: String) async throws { try await call { try $0.start(uuid: vmUuid) } }
    public func stop(vmUuid: String, force: Bool) async throws {
        try await call { force ? try $0.destroy(uuid: vmUuid) : try $0.shutdown(uuid: vmUuid) }
    }
    public func pause(vmUuid: String) async throws { try await call { try $0.suspend(uuid: vmUuid) } }
    public func resume(vmUuid: String) async throws { try await call { try $0.resume(uuid: vmUuid) } }
    public func reboot(vmUuid: String) async throws { try await call { try $0.reboot(uuid: vmUuid) } }

    /// Lifecycle events of every domain; the libvirt registration follows `reconnect()`.
    public func vmEvents() async throws -> AsyncStream<VMLifecycleEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: VMLifecycleEvent.self, bufferingPolicy: .bufferingNewest(65_536))
        let subscription = try await call { c in
            try c.subscribeLifecycleEvents { continuation.yield(VMLifecycleEvent($0)) }
        }
        continuation.onTermination = { _ in
            NIOThreadPool.singleton.submit { _ in subscription.cancel() }
        }
        return stream
    }

    /// Re-opens the libvirt connection in place (`LibvirtConnection.reopen()`): collectors and
    /// event streams holding it follow, the event callback is registered again, keepalive re-applied.
    public func reconnect() async throws {
        try await call { try $0.reopen() }
    }

    private func call<T: Sendable>(_ body: @escaping @Sendable (LibvirtConnection) throws -> T) async throws -> T {
        do {
            return try await connection.onThreadPool(body)
        } catch let e as LibvirtError {
            throw ControlError.hypervisor(uri: uri, message: e.message)
        }
    }
}

extension VMState {
    /// ZStack's state for a libvirt domain state.
    public init(_ state: DomainState) {
        switch state {
        case .running, .blocked: self = .running
        case .paused, .pmSuspended: self = .paused
        case .shutdown: self = .stopping
        case .shutoff: self = .stopped
        case .crashed: self = .crashed
        case .noState: self = .unknown
        }
    }
}

extension VMLifecycleEvent {
    /// The Stratus view of a libvirt lifecycle event.
    public init(_ e: DomainLifecycleEvent) {
        let state: VMState? = switch e.type {
        case .defined, .undefined: nil
        case .started, .resumed: .running
        case .suspended, .pmSuspended: .paused
        case .shutdown: .stopping
        case .stopped: .stopped
        case .crashed: .crashed
        }
        self.init(vmUuid: ResourceUUID.normalize(e.uuid), name: e.name, state: state, crashReason: e.crashReason, detail: e.detailName)
    }
}
