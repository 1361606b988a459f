import Control
import Foundation
import Libvirt
import Logging
import StratusMetrics
import Testing

/// Against a real libvirtd + QEMU VM started by scripts/libvirt-up.sh (which exports
/// STRATUS_QEMU_URI and STRATUS_QEMU_DOMAIN). Under CI the variables must be present: a missing VM
/// fails the run instead of skipping it.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["STRATUS_QEMU_URI"] != nil
                    || ProcessInfo.processInfo.environment["CI"] != nil))
struct RealHypervisorTests {
    let env = ProcessInfo.processInfo.environment

    @Test func aRealQEMUVMIsAttachedSyncedAndMeasured() async throws {
        let uri = try #require(env["STRATUS_QEMU_URI"], "run through scripts/test.sh, which starts libvirtd and a QEMU VM")
        let domainName = try #require(env["STRATUS_QEMU_DOMAIN"])

        // Attach the hypervisor as a host, as `stratus serve --hypervisor` does.
        let inventory = try SQLiteInventoryStore(path: nil)
        let zone = try await inventory.createZone(name: "z", description: "", at: 0)
        let cluster = try await inventory.createCluster(name: "c", zoneUuid: zone.uuid, hypervisorType: "KVM", at: 0)
        let hv = try await LibvirtHypervisor.connect(uri: uri)
        let facts = try await hv.hostFacts()
        #expect(facts.cpuNum > 0 && facts.memorySize > 0)
        let host = try await inventory.addHost(Control.Host(name: facts.hostname, zoneUuid: zone.uuid, clusterUuid: cluster.uuid,
                                                            managementIp: "127.0.0.1", hypervisorType: "KVM", hypervisorURI: uri,
                                                            cpuNum: facts.cpuNum, totalMemoryCapacity: facts.memorySize), at: 0)
        let sync = HostSync(inventory: inventory, attachments: [.init(hostUuid: host.uuid, hypervisor: hv)], logger: Logger(label: "it"))
        await sync.syncOnce(at: 1_000)
        var q = InventoryQuery()
        q.conditions = [.init(field: "name", op: .equal, value: domainName)]
        let vm = try #require(try await inventory.vms(q).inventories.first, "the QEMU VM \(domainName) is not in the inventory")
        #expect(vm.state == .running)
        #expect(vm.memorySize == 64 << 20)

        // The real bulk call carries the cpu, vcpu, balloon and block groups itself.
        let records = try hv.connection.domainStats()
        let record = try #require(records.first { $0.name == domainName })
        for key in ["cpu.time", "vcpu.current", "vcpu.0.time", "balloon.current", "block.count"] {
            #expect(record.numbers[key] != nil, "bulk stats lack \(key)")
        }

        // Two collection rounds two seconds apart into a real RocksDB store.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("it-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try RocksMetricStore(path: dir.path)
        defer { store.close() }
        let clock = SystemWallClock()
        let collection = CollectionService(store: store, clock: clock, interval: 1_000, logger: Logger(label: "it"))
        collection.register(LibvirtVMCollector(connection: hv.connection, hostUuid: host.uuid))
        let t0 = clock.now() / 1000 * 1000
        try await collection.collectRound(stamp: t0)
        try await Task.sleep(for: .seconds(2))
        let written = try await collection.collectRound(stamp: t0 + 2_000)
        #expect(written > 0)

        let cpu = try await store.select([.equal(Labels.nameKey, "ZStack:VM::CPUAllUsedUtilization"), .equal("VMUuid", vm.uuid)],
                                         from: t0, to: t0 + 2_000)
        let point = try #require(cpu.first?.points.last, "no CPU sample for the QEMU VM")
        #expect(point.timestamp == t0 + 2_000)
        // A VM idling in firmware under TCG still burns some CPU; it cannot exceed 100 % of its one vCPU.
        #expect(point.value > 0 && point.value <= 100)
        #expect(cpu.first?.labels["HostUuid"] == host.uuid)

        let mem = try await store.select([.equal(Labels.nameKey, "ZStack:VM::MemoryUsedBytes"), .equal("VMUuid", vm.uuid)],
                                         from: t0, to: t0 + 2_000)
        #expect((mem.first?.points.last?.value ?? 0) > 0)
    }

    @Test func pausingTheRealVMReachesTheEventLog() async throws {
        let uri = try #require(env["STRATUS_QEMU_URI"])
        let domainName = try #require(env["STRATUS_QEMU_DOMAIN"])
        let inventory = try SQLiteInventoryStore(path: nil)
        let zone = try await inventory.createZone(name: "z", description: "", at: 0)
        let cluster = try await inventory.createCluster(name: "c", zoneUuid: zone.uuid, hypervisorType: "KVM", at: 0)
        let hv = try await LibvirtHypervisor.connect(uri: uri)
        let host = try await inventory.addHost(Control.Host(name: "qemu-host", zoneUuid: zone.uuid, clusterUuid: cluster.uuid,
                                                            managementIp: "127.0.0.1", hypervisorType: "KVM", hypervisorURI: uri,
                                                            cpuNum: 1, totalMemoryCapacity: 1), at: 0)
        let sync = HostSync(inventory: inventory, attachments: [.init(hostUuid: host.uuid, hypervisor: hv)], logger: Logger(label: "it"))
        await sync.syncOnce(at: 1_000)
        let vm = try #require(try await hv.listVMs().first { $0.name == domainName })
        try await hv.pause(vmUuid: vm.uuid)
        defer { Task { try? await hv.resume(vmUuid: vm.uuid) } }
        let events = await sync.syncOnce(at: 2_000)
        #expect(events.contains { $0.resourceUuid == vm.uuid && $0.eventType == "VMStateChanged" && $0.newValue == "Paused" })
        try await hv.resume(vmUuid: vm.uuid)
        let back = await sync.syncOnce(at: 3_000)
        #expect(back.contains { $0.resourceUuid == vm.uuid && $0.oldValue == "Paused" && $0.newValue == "Running" })
    }
}
