import Control
import Libvirt
import Logging
import Testing

/// HostSync and LibvirtHypervisor against libvirt's real test driver (no daemon needed).
@Suite struct HostSyncTests {
    @Test func syncMirrorsTheHypervisorAndLogsStateChanges() async throws {
        let (store, host) = try await makeInventory()
        let hv = try await LibvirtHypervisor.connect(uri: "test:///default")
        let sync = HostSync(inventory: store, attachments: [.init(hostUuid: host.uuid, hypervisor: hv)], logger: Logger(label: "test"))
        let created = await sync.syncOnce(at: 10_000)
        let vms = try await store.vms(InventoryQuery()).inventories
        let reported = try await hv.listVMs()
        #expect(!reported.isEmpty)
        #expect(Set(vms.map(\.uuid)) == Set(reported.map(\.uuid)))
        #expect(created.filter { $0.eventType == "Created" }.count == reported.count)
        #expect(vms.allSatisfy { ResourceUUID.isValid($0.uuid) && $0.hostUuid == host.uuid })

        let running = try #require(vms.first { $0.state == .running })
        try await hv.pause(vmUuid: running.uuid)
        let changed = await sync.syncOnce(at: 20_000)
        #expect(changed.count == 1)
        #expect(changed.first?.resourceUuid == running.uuid)
        #expect(changed.first?.oldValue == "Running" && changed.first?.newValue == "Paused")
        #expect(try await store.vm(uuid: running.uuid).state == .paused)
        try await hv.resume(vmUuid: running.uuid)
    }

    @Test func aHostThatStopsAnsweringIsMarkedDisconnected() async throws {
        let (store, host) = try await makeInventory()
        let hv = try await LibvirtHypervisor.connect(uri: "test:///default")
        let sync = HostSync(inventory: store, attachments: [.init(hostUuid: host.uuid, hypervisor: hv)], logger: Logger(label: "test"))
        await sync.syncOnce(at: 10_000)
        hv.connection.close()
        await sync.syncOnce(at: 20_000)
        #expect(try await store.host(uuid: host.uuid).status == "Disconnected")
        let last = try await store.events(after: 0, limit: 1000).suffix(2)
        #expect(last.map(\.eventType) == ["HostStatusChanged", "HostDisconnected"])
        #expect(last.allSatisfy { $0.newValue == "Disconnected" && $0.resourceUuid == host.uuid })
    }

    @Test func aURILibvirtRejectsGivesLibvirtsMessage() async throws {
        await #expect { try await LibvirtHypervisor.connect(uri: "nosuchdriver:///x") } throws: { e in
            guard case let ControlError.hypervisor(uri, message) = e else { return false }
            return uri == "nosuchdriver:///x" && !message.isEmpty
        }
    }

    @Test func libvirtStatesMapToZStackStates() {
        #expect(VMState(DomainState.running) == .running)
        #expect(VMState(DomainState.paused) == .paused)
        #expect(VMState(DomainState.shutoff) == .stopped)
        #expect(VMState(DomainState.crashed) == .crashed)
        #expect(VMState(DomainState.shutdown) == .stopping)
    }
}
