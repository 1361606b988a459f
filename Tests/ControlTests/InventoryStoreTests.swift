import Control
import Foundation
import GRDB
import Testing

/// Builds a store with one zone, cluster and host; `path` nil = in-memory SQLite.
func makeInventory(path: String? = nil) async throws -> (SQLiteInventoryStore, Control.Host) {
    let store = try SQLiteInventoryStore(path: path)
    let zone = try await store.createZone(name: "z1", description: "", at: 1_000)
    let cluster = try await store.createCluster(name: "c1", zoneUuid: zone.uuid, hypervisorType: "KVM", at: 1_000)
    let host = try await store.addHost(Control.Host(name: "h1", zoneUuid: zone.uuid, clusterUuid: cluster.uuid, managementIp: "10.0.0.1",
                                            hypervisorType: "KVM", hypervisorURI: "test:///default", cpuNum: 8,
                                            totalMemoryCapacity: 1 << 34), at: 2_000)
    return (store, host)
}

func reported(_ uuid: String, _ state: VMState, cpu: Int = 2) -> ReportedVM {
    ReportedVM(uuid: uuid, name: "vm-\(uuid.prefix(4))", state: state, cpuNum: cpu, memorySize: 1 << 30)
}

@Suite struct InventoryStoreTests {
    let a = String(repeating: "a", count: 32), b = String(repeating: "b", count: 32), c = String(repeating: "c", count: 32)

    @Test func createdResourcesAreLoggedInOrder() async throws {
        let (store, host) = try await makeInventory()
        let events = try await store.events(after: 0, limit: 100)
        #expect(events.map(\.resourceType) == ["Zone", "Cluster", "Host"])
        #expect(events.map(\.eventType) == ["Created", "Created", "Created"])
        #expect(events.last?.resourceUuid == host.uuid)
        let seqs = events.compactMap(\.sequence)
        #expect(seqs == seqs.sorted() && Set(seqs).count == 3)
        #expect(host.createDate == 2_000)
    }

    @Test func syncCreatesVMsThenRecordsOnlyChanges() async throws {
        let (store, host) = try await makeInventory()
        let before = try await store.events(after: 0, limit: 100).last!.sequence!
        let created = try await store.syncVMs(hostUuid: host.uuid, reported: [reported(a, .running), reported(b, .stopped)], at: 3_000)
        #expect(created.map(\.eventType) == ["Created", "Created"])
        // Nothing changed: no events.
        #expect(try await store.syncVMs(hostUuid: host.uuid, reported: [reported(a, .running), reported(b, .stopped)], at: 4_000).isEmpty)
        let changed = try await store.syncVMs(hostUuid: host.uuid, reported: [reported(a, .paused), reported(b, .stopped)], at: 5_000)
        #expect(changed.count == 1)
        #expect(changed[0].eventType == "VMStateChanged")
        #expect(changed[0].oldValue == "Running" && changed[0].newValue == "Paused")
        #expect(changed[0].time == 5_000)
        #expect(try await store.vm(uuid: a).state == .paused)
        #expect(try await store.vm(uuid: a).lastOpDate == 5_000)
        let log = try await store.events(after: before, limit: 100)
        #expect(log.map(\.eventType) == ["Created", "Created", "VMStateChanged"])
    }

    @Test func syncForUnknownHostWritesNothing() async throws {
        let (store, _) = try await makeInventory()
        let count = try await store.events(after: 0, limit: 100).count
        await #expect(throws: ControlError.notFound(resource: "host", id: "nope")) {
            try await store.syncVMs(hostUuid: "nope", reported: [reported(a, .running)], at: 3_000)
        }
        #expect(try await store.events(after: 0, limit: 100).count == count)
        #expect(try await store.vms(InventoryQuery()).total == 0)
    }

    @Test func theEventLogRefusesEditsAndDeletes() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("inventory.sqlite").path
        _ = try await makeInventory(path: path)
        let raw = try DatabaseQueue(path: path)
        #expect(throws: DatabaseError.self) { try raw.inDatabase { try $0.execute(sql: "UPDATE resource_event SET eventType = 'x'") } }
        #expect(throws: DatabaseError.self) { try raw.inDatabase { try $0.execute(sql: "DELETE FROM resource_event") } }
        let count = try raw.inDatabase { try Int.fetchOne($0, sql: "SELECT count(*) FROM resource_event") }
        #expect(count == 3)
    }

    @Test func dataSurvivesReopening() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("inventory.sqlite").path
        do {
            let (store, host) = try await makeInventory(path: path)
            try await store.syncVMs(hostUuid: host.uuid, reported: [reported(a, .running)], at: 3_000)
        }
        let reopened = try SQLiteInventoryStore(path: path)
        #expect(try await reopened.vm(uuid: a).state == .running)
        #expect(try await reopened.events(after: 0, limit: 100).count == 4)
    }

    @Test func addingTheSameHypervisorTwiceReturnsTheStoredHost() async throws {
        let (store, host) = try await makeInventory()
        let again = try await store.addHost(Control.Host(name: "other", zoneUuid: host.zoneUuid, clusterUuid: host.clusterUuid, managementIp: "x",
                                                 hypervisorType: "KVM", hypervisorURI: "test:///default", cpuNum: 1,
                                                 totalMemoryCapacity: 1), at: 9_000)
        #expect(again == host)
        #expect(try await store.hosts(InventoryQuery()).total == 1)
    }

    @Test func hostStatusChangesAreLogged() async throws {
        let (store, host) = try await makeInventory()
        try await store.setHostStatus(uuid: host.uuid, status: "Disconnected", at: 7_000)
        try await store.setHostStatus(uuid: host.uuid, status: "Disconnected", at: 8_000)
        try await store.setHostStatus(uuid: host.uuid, status: "Connected", at: 9_000)
        let events = try await store.events(after: 0, limit: 100).filter { $0.resourceType == "Host" && $0.eventType != "Created" }
        // Going Disconnected writes HostStatusChanged and HostDisconnected together; coming back only the status change.
        #expect(events.map(\.eventType) == ["HostStatusChanged", "HostDisconnected", "HostStatusChanged"])
        #expect(events.map(\.time) == [7_000, 7_000, 9_000])
        #expect(events[0].oldValue == "Connected" && events[0].newValue == "Disconnected")
        #expect(events[1].oldValue == "Connected" && events[1].newValue == "Disconnected")
        #expect(events[2].oldValue == "Disconnected" && events[2].newValue == "Connected")
        #expect(events[1].sequence == events[0].sequence.map { $0 + 1 })
        #expect(try await store.host(uuid: host.uuid).status == "Connected")
    }

    @Test func recordVMStateWritesStateChangeAndCrashTogether() async throws {
        let (store, host) = try await makeInventory()
        try await store.syncVMs(hostUuid: host.uuid, reported: [reported(a, .running)], at: 3_000)
        let paused = try await store.recordVMState(uuid: a, hostUuid: host.uuid, state: .paused, crashReason: nil, at: 4_000)
        #expect(paused.map(\.eventType) == ["VMStateChanged"])
        #expect(paused[0].oldValue == "Running" && paused[0].newValue == "Paused" && paused[0].time == 4_000)
        // The same state again writes nothing.
        #expect(try await store.recordVMState(uuid: a, hostUuid: host.uuid, state: .paused, crashReason: nil, at: 4_500).isEmpty)
        let crash = try await store.recordVMState(uuid: a, hostUuid: host.uuid, state: .stopped, crashReason: "crashed", at: 5_000)
        #expect(crash.map(\.eventType) == ["VMStateChanged", "VmCrash"])
        #expect(crash[1].oldValue == "Paused" && crash[1].newValue == "crashed")
        let vm = try await store.vm(uuid: a)
        #expect(vm.state == .stopped && vm.lastOpDate == 5_000)
        #expect(try await store.events(after: 0, limit: 100).suffix(3).map(\.eventType) == ["VMStateChanged", "VMStateChanged", "VmCrash"])
    }

    @Test func recordVMStateForAnUnknownVMChangesNothing() async throws {
        let (store, host) = try await makeInventory()
        let count = try await store.events(after: 0, limit: 100).count
        await #expect(throws: ControlError.notFound(resource: "VM", id: b)) {
            try await store.recordVMState(uuid: b, hostUuid: host.uuid, state: .running, crashReason: nil, at: 3_000)
        }
        try await store.syncVMs(hostUuid: host.uuid, reported: [reported(a, .running)], at: 3_000)
        await #expect(throws: ControlError.notFound(resource: "host", id: "nope")) {
            try await store.recordVMState(uuid: a, hostUuid: "nope", state: .stopped, crashReason: "crashed", at: 4_000)
        }
        #expect(try await store.events(after: 0, limit: 100).count == count + 1)
        #expect(try await store.vm(uuid: a).state == .running)
    }

    @Test func aListingOlderThanTheLastEventDoesNotUndoIt() async throws {
        let (store, host) = try await makeInventory()
        try await store.syncVMs(hostUuid: host.uuid, reported: [reported(a, .running), reported(b, .running)], at: 3_000)
        // An event at 5_000 pauses a; a listing taken at 4_000 (before the pause) lands afterwards.
        try await store.recordVMState(uuid: a, hostUuid: host.uuid, state: .paused, crashReason: nil, at: 5_000)
        let stale = try await store.syncVMs(hostUuid: host.uuid, reported: [reported(a, .running), reported(b, .stopped)], at: 4_000)
        #expect(stale.map(\.resourceUuid) == [b])
        #expect(try await store.vm(uuid: a).state == .paused)
        // A later listing is newer than the event and wins.
        let fresh = try await store.syncVMs(hostUuid: host.uuid, reported: [reported(a, .running), reported(b, .stopped)], at: 6_000)
        #expect(fresh.map(\.newValue) == ["Running"])
        #expect(try await store.vm(uuid: a).state == .running)
    }

    @Test func emptyNameIsRejected() async throws {
        let store = try SQLiteInventoryStore(path: nil)
        await #expect(throws: ControlError.invalidArgument(field: "name", reason: "give a name of 1 to 255 characters")) {
            try await store.createZone(name: "  ", description: "", at: 1)
        }
        #expect(try await store.zones().isEmpty)
    }

    @Test func unknownUuidIsNotFound() async throws {
        let (store, _) = try await makeInventory()
        await #expect(throws: ControlError.notFound(resource: "VM", id: "zzz")) { try await store.vm(uuid: "zzz") }
    }
}

@Suite struct InventoryQueryTests {
    func populated() async throws -> SQLiteInventoryStore {
        let (store, host) = try await makeInventory()
        try await store.syncVMs(hostUuid: host.uuid, reported: [
            reported(String(repeating: "1", count: 32), .running, cpu: 1),
            reported(String(repeating: "2", count: 32), .running, cpu: 2),
            reported(String(repeating: "3", count: 32), .stopped, cpu: 4),
            reported(String(repeating: "4", count: 32), .paused, cpu: 8),
        ], at: 3_000)
        return store
    }

    func q(_ items: [(String, String)]) throws -> InventoryQuery { try InventoryQuery.parse(items.map { (name: $0.0, value: $0.1) }) }

    @Test func operatorsFilter() async throws {
        let store = try await populated()
        #expect(try await store.vms(q([("q", "state=Running")])).total == 2)
        #expect(try await store.vms(q([("q", "state!=Running")])).total == 2)
        #expect(try await store.vms(q([("q", "cpuNum>=4")])).total == 2)
        #expect(try await store.vms(q([("q", "cpuNum<2")])).total == 1)
        #expect(try await store.vms(q([("q", "state?=Stopped,Paused")])).total == 2)
        #expect(try await store.vms(q([("q", "state!?=Stopped,Paused")])).total == 2)
        #expect(try await store.vms(q([("q", "name~=vm-1%")])).total == 1)
        #expect(try await store.vms(q([("q", "state=Running"), ("q", "cpuNum>1")])).total == 1)
    }

    @Test func sortLimitAndStartPage() async throws {
        let store = try await populated()
        let page = try await store.vms(q([("sort", "-cpuNum"), ("limit", "2"), ("start", "1")]))
        #expect(page.inventories.map(\.cpuNum) == [4, 2])
        #expect(page.total == 4)
    }

    @Test func badInputNamesTheField() async throws {
        let store = try await populated()
        await #expect { try await store.vms(q([("q", "colour=red")])) } throws: { e in
            guard case let ControlError.invalidArgument(field, reason) = e else { return false }
            return field == "q" && reason.contains("colour") && reason.contains("cpuNum")
        }
        await #expect { try await store.vms(q([("q", "cpuNum>lots")])) } throws: { e in
            guard case let ControlError.invalidArgument(_, reason) = e else { return false }
            return reason.contains("number")
        }
        #expect(throws: ControlError.self) { try q([("limit", "-3")]) }
        #expect(throws: ControlError.self) { try q([("sort", "cpuNum")]) }
        #expect(throws: ControlError.self) { try q([("q", "nonsense")]) }
    }
}
