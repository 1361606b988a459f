import Control
import Foundation
import Libvirt
import Logging
import StratusMetrics
import Testing

/// Runs `virsh -c <uri> <args>` as a separate process (bounded at 60 s) and returns its status and output.
func virsh(_ uri: String, _ args: String...) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["timeout", "60", "virsh", "-q", "-c", uri] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Lifecycle events from a real QEMU VM under real libvirtd, changed by `virsh` from outside, and
/// the same libvirtd reached through qemu+tcp as a remote host without an agent. Part of the
/// serialized RealHypervisorTests suite: these tests change the one VM's state, and each leaves it running.
extension RealHypervisorTests {
    /// A store with one host for `uri`, synced once, and its monitor running on the real clock.
    func watch(_ uri: String) async throws -> (SQLiteInventoryStore, LibvirtHypervisor, HostMonitor, Task<Void, Never>) {
        let inventory = try SQLiteInventoryStore(path: nil)
        let zone = try await inventory.createZone(name: "z", description: "", at: 0)
        let cluster = try await inventory.createCluster(name: "c", zoneUuid: zone.uuid, hypervisorType: "KVM", at: 0)
        let hv = try await LibvirtHypervisor.connect(uri: uri)
        let host = try await inventory.addHost(Control.Host(name: "qemu-host", zoneUuid: zone.uuid, clusterUuid: cluster.uuid,
                                                            managementIp: "127.0.0.1", hypervisorType: "KVM", hypervisorURI: uri,
                                                            cpuNum: 1, totalMemoryCapacity: 1), at: 0)
        let clock = SystemControlClock()
        let sync = HostSync(inventory: inventory, attachments: [.init(hostUuid: host.uuid, hypervisor: hv)], logger: Logger(label: "it"))
        await sync.syncOnce(at: clock.now())
        let monitor = HostMonitor(hostUuid: host.uuid, hypervisor: hv, inventory: inventory, clock: clock, logger: Logger(label: "it"))
        await monitor.start()
        return (inventory, hv, monitor, Task { await monitor.run() })
    }

    /// Waits (at most `seconds`, only to stop waiting) for a VMStateChanged old -> new of `vmUuid` after `sequence`;
    /// how fast it came is checked on the event's time stamp by the caller.
    func stateChange(_ inventory: SQLiteInventoryStore, _ vmUuid: String, after sequence: Int64, _ old: String, _ new: String,
                     seconds: Double = 10) async throws -> ResourceEvent? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            let found = try await inventory.events(after: sequence, limit: 1000).first {
                $0.resourceUuid == vmUuid && $0.eventType == "VMStateChanged" && $0.oldValue == old && $0.newValue == new
            }
            if found != nil || ContinuousClock.now >= deadline { return found }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Makes sure the VM runs again, whatever a failed test left it in.
    func leaveRunning(_ uri: String, _ domain: String) {
        let state = (try? virsh(uri, "domstate", domain).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? ""
        if state == "paused" { _ = try? virsh(uri, "resume", domain) }
        if state == "shut off" { _ = try? virsh(uri, "start", domain) }
    }

    @Test func virshSuspendResumeDestroyStartReachTheEventLogWithinASecond() async throws {
        let uri = try #require(env["STRATUS_QEMU_URI"])
        let domain = try #require(env["STRATUS_QEMU_DOMAIN"])
        defer { leaveRunning(uri, domain) }
        let (inventory, hv, _, run) = try await watch(uri)
        defer { run.cancel() }
        let vm = try #require(try await hv.listVMs().first { $0.name == domain })
        #expect(try await inventory.vm(uuid: vm.uuid).state == .running)

        // QEMU reports its own shutdown before libvirt reports the stop, so a destroy usually
        // passes through Stopping (libvirt's SHUTDOWN event, detail Host): Running -> Stopping -> Stopped.
        for (command, olds, new) in [("suspend", ["Running"], "Paused"), ("resume", ["Paused"], "Running"),
                                     ("destroy", ["Running", "Stopping"], "Stopped"), ("start", ["Stopped"], "Running")] {
            let before = try await inventory.events(after: 0, limit: 100_000).last?.sequence ?? 0
            let result = try virsh(uri, command, domain)
            try #require(result.status == 0, "virsh \(command) \(domain) failed: \(result.output)")
            let returnedAt = SystemControlClock().now()
            var event: ResourceEvent?
            // Waiting stops after 10 s; the requirement (1 s) is checked on the event's own time stamp.
            let deadline = ContinuousClock.now + .seconds(10)
            while event == nil, ContinuousClock.now < deadline {
                for old in olds where event == nil { event = try await stateChange(inventory, vm.uuid, after: before, old, new, seconds: 0) }
                if event == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            if event == nil {
                let seen = try await inventory.events(after: before, limit: 1000).filter { $0.resourceUuid == vm.uuid }
                    .map { "\($0.eventType) \($0.oldValue ?? "-") -> \($0.newValue ?? "-")" }
                Issue.record("virsh \(command): no VMStateChanged \(olds) -> \(new) within 10 s of virsh returning; log since: \(seen)")
            } else if let event {
                #expect(event.time - returnedAt <= 1_000, "virsh \(command): the state change reached the log \(event.time - returnedAt) ms after virsh returned")
            }
        }
        #expect(try await inventory.vm(uuid: vm.uuid).state == .running)
        let log = try await inventory.events(after: 0, limit: 100_000).filter { $0.resourceUuid == vm.uuid && $0.eventType == "VMStateChanged" }
        #expect(log.map(\.newValue).filter { $0 != "Stopping" } == ["Paused", "Running", "Stopped", "Running"])
        // Each change starts where the previous one ended: nothing was missed or doubled.
        #expect(zip(log, log.dropFirst()).allSatisfy { $0.newValue == $1.oldValue })
        #expect(try await inventory.events(after: 0, limit: 100_000).allSatisfy { $0.eventType != "VmCrash" })
    }

    @Test func aRemoteHostThroughQemuTCPIsListedMeasuredAndWatched() async throws {
        let tcp = try #require(env["STRATUS_QEMU_TCP_URI"], "libvirt-up.sh exports STRATUS_QEMU_TCP_URI when libvirtd listens on TCP")
        let uri = try #require(env["STRATUS_QEMU_URI"])
        let domain = try #require(env["STRATUS_QEMU_DOMAIN"])
        defer { leaveRunning(uri, domain) }
        let (inventory, hv, monitor, run) = try await watch(tcp)
        defer { run.cancel() }
        #expect(hv.uri.hasPrefix("qemu+tcp://"))
        #expect(await hv.isAlive())
        let vm = try #require(try await inventory.vms(InventoryQuery()).inventories.first { $0.name == domain },
                              "\(domain) is not in the inventory synced through \(tcp)")
        #expect(vm.state == .running && vm.memorySize == 64 << 20)

        // Stats through the TCP connection: the bulk call carries the real groups.
        let record = try #require(try hv.connection.domainStats().first { $0.name == domain })
        for key in ["cpu.time", "vcpu.current", "balloon.current", "block.count"] {
            #expect(record.numbers[key] != nil, "bulk stats over qemu+tcp lack \(key)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("it-tcp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try RocksMetricStore(path: dir.path)
        defer { store.close() }
        let clock = SystemWallClock()
        let collection = CollectionService(store: store, clock: clock, interval: 1_000, logger: Logger(label: "it"))
        collection.register(LibvirtVMCollector(connection: hv.connection, hostUuid: monitor.hostUuid))
        let t0 = clock.now() / 1000 * 1000
        try await collection.collectRound(stamp: t0)
        try await Task.sleep(for: .seconds(2))
        try await collection.collectRound(stamp: t0 + 2_000)
        let cpu = try await store.select([.equal(Labels.nameKey, "ZStack:VM::CPUAllUsedUtilization"), .equal("VMUuid", vm.uuid)],
                                         from: t0, to: t0 + 2_000)
        let point = try #require(cpu.first?.points.last, "no CPU sample for the VM over qemu+tcp")
        #expect(point.value > 0 && point.value <= 100)

        // Events arrive over TCP too (the event loop drives the remote socket).
        let before = try await inventory.events(after: 0, limit: 100_000).last?.sequence ?? 0
        try #require(try virsh(uri, "suspend", domain).status == 0)
        #expect(try await stateChange(inventory, vm.uuid, after: before, "Running", "Paused") != nil)
        try #require(try virsh(uri, "resume", domain).status == 0)
        #expect(try await stateChange(inventory, vm.uuid, after: before, "Paused", "Running") != nil)

        // A reconnect over TCP re-opens and re-registers: events still arrive afterwards.
        try await hv.reconnect()
        let after = try await inventory.events(after: 0, limit: 100_000).last?.sequence ?? 0
        try #require(try virsh(uri, "suspend", domain).status == 0)
        #expect(try await stateChange(inventory, vm.uuid, after: after, "Running", "Paused") != nil)
        try #require(try virsh(uri, "resume", domain).status == 0)
        #expect(try await stateChange(inventory, vm.uuid, after: after, "Paused", "Running") != nil)
    }
}
