import Logging

/// Turns one host's VM lifecycle events into inventory state: each event becomes a
/// `recordVMState` (writing `VMStateChanged`, and `VmCrash` on a crash) at the time it is applied.
/// An event about a VM the inventory has not seen, or a definition change, syncs the whole host
/// instead (the VM is created with its current state).
///
/// ```swift
/// let reconciler = VMEventReconciler(hostUuid: host.uuid, hypervisor: hv, inventory: store,
///                                    clock: SystemControlClock(), logger: logger)
/// await reconciler.run(try await hv.vmEvents())   // until the stream ends or the task is cancelled
/// ```
public struct VMEventReconciler: Sendable {
    public let hostUuid: String
    let hypervisor: any Hypervisor
    let inventory: any InventoryStore
    let clock: any ControlClock
    let logger: Logger

    public init(hostUuid: String, hypervisor: any Hypervisor, inventory: any InventoryStore,
                clock: any ControlClock, logger: Logger) {
        self.hostUuid = hostUuid
        self.hypervisor = hypervisor
        self.inventory = inventory
        self.clock = clock
        self.logger = logger
    }

    /// Applies every event of `events`, in order, until the stream ends or the task is cancelled.
    public func run(_ events: AsyncStream<VMLifecycleEvent>) async {
        for await event in events {
            await apply(event)
        }
    }

    /// Applies one event; returns the resource events written (none when the inventory already
    /// had that state). Failures are logged: the next periodic sync repairs what an event missed.
    @discardableResult
    public func apply(_ event: VMLifecycleEvent) async -> [ResourceEvent] {
        let at = clock.now()
        logger.debug("host \(hostUuid): \(event)")
        guard let state = event.state else { return await resync(at: at, because: event) }
        do {
            return try await inventory.recordVMState(uuid: event.vmUuid, hostUuid: hostUuid, state: state,
                                                     crashReason: event.crashReason, at: at)
        } catch let ControlError.notFound(resource, _) where resource == "VM" {
            return await resync(at: at, because: event)
        } catch {
            logger.error("host \(hostUuid): could not record \(event): \(error)")
            return []
        }
    }

    /// A full listing of the host into the inventory.
    private func resync(at: Int64, because event: VMLifecycleEvent) async -> [ResourceEvent] {
        do {
            let vms = try await hypervisor.listVMs()
            return try await inventory.syncVMs(hostUuid: hostUuid, reported: vms, at: at)
        } catch {
            logger.error("host \(hostUuid): sync after \(event) failed: \(error)")
            return []
        }
    }
}
