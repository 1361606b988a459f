import Logging

/// Keeps the inventory in step with the hypervisors: each round asks every attached host for its
/// VMs, records state changes (with their resource events), and marks hosts Connected or
/// Disconnected by whether they answered. `stratus serve` runs one round at start-up; after that
/// each host's `HostMonitor` owns its status (3 missed pings) and its syncs.
public final class HostSync: Sendable {
    /// A host and the hypervisor that reaches it.
    public struct Attachment: Sendable {
        public var hostUuid: String
        public var hypervisor: any Hypervisor
        public init(hostUuid: String, hypervisor: any Hypervisor) {
            self.hostUuid = hostUuid
            self.hypervisor = hypervisor
        }
    }

    private let inventory: any InventoryStore
    private let attachments: [Attachment]
    private let logger: Logger

    public init(inventory: any InventoryStore, attachments: [Attachment], logger: Logger) {
        self.inventory = inventory
        self.attachments = attachments
        self.logger = logger
    }

    /// One round over every host. Returns the events written.
    @discardableResult
    public func syncOnce(at time: Int64) async -> [ResourceEvent] {
        await withTaskGroup(of: [ResourceEvent].self) { group in
            for a in attachments {
                group.addTask { await self.sync(a, at: time) }
            }
            var all: [ResourceEvent] = []
            for await events in group { all += events }
            return all.sorted { ($0.sequence ?? 0) < ($1.sequence ?? 0) }
        }
    }

    private func sync(_ a: Attachment, at time: Int64) async -> [ResourceEvent] {
        do {
            let vms = try await a.hypervisor.listVMs()
            try await inventory.setHostStatus(uuid: a.hostUuid, status: "Connected", at: time)
            return try await inventory.syncVMs(hostUuid: a.hostUuid, reported: vms, at: time)
        } catch {
            logger.error("host \(a.hostUuid) (\(a.hypervisor.uri)) did not answer: \(error)")
            try? await inventory.setHostStatus(uuid: a.hostUuid, status: "Disconnected", at: time)
            return []
        }
    }
}
