import Control
import Libvirt
import Logging
import Testing

/// Lifecycle events from libvirt's test driver through LibvirtHypervisor into the event log, and a
/// real libvirt reconnect (close, 3 failed pings, reopen) under HostMonitor.
@Suite struct LibvirtEventsTests {
    let vmA = "5d0c6c7e-19a4-4e4a-9a5e-3b5f0e1a2b01", vmB = "5d0c6c7e-19a4-4e4a-9a5e-3b5f0e1a2b02"

    func setUp() async throws -> (NodeFile, LibvirtHypervisor, SQLiteInventoryStore, Control.Host) {
        let node = try NodeFile(domains: [.init(name: "ev-a", uuid: vmA), .init(name: "ev-b", uuid: vmB, running: false)])
        let hv = try await LibvirtHypervisor.connect(uri: node.uri)
        let (store, host) = try await makeInventory()
        try await store.syncVMs(hostUuid: host.uuid, reported: try await hv.listVMs(), at: 3_000)
        return (node, hv, store, host)
    }

    func lastVMEvent(_ store: SQLiteInventoryStore, _ uuid: String) async throws -> ResourceEvent? {
        try await store.events(after: 0, limit: 1000).last { $0.resourceUuid == ResourceUUID.normalize(uuid) && $0.eventType == "VMStateChanged" }
    }

    @Test func eachStateChangeIsReconciledWithinASecond() async throws {
        let (node, hv, store, host) = try await setUp()
        _ = node
        let monitor = HostMonitor(hostUuid: host.uuid, hypervisor: hv, inventory: store, clock: SystemControlClock(),
                                  logger: Logger(label: "test"))
        let run = Task { await monitor.run() }
        defer { run.cancel() }
        // The subscription is registered during start(); a paused VM before then would be missed.
        await monitor.start()

        let a = ResourceUUID.normalize(vmA)
        for (action, old, new) in [("pause", "Running", "Paused"), ("resume", "Paused", "Running"),
                                   ("stop", "Running", "Stopped"), ("start", "Stopped", "Running")] {
            switch action {
            case "pause": try await hv.pause(vmUuid: a)
            case "resume": try await hv.resume(vmUuid: a)
            case "stop": try await hv.stop(vmUuid: a, force: true)
            default: try await hv.start(vmUuid: a)
            }
            let changedAt = SystemControlClock().now()
            let seen = try await eventually { try await lastVMEvent(store, vmA).map { $0.oldValue == old && $0.newValue == new } ?? false }
            #expect(seen, "\(action): no VMStateChanged \(old) -> \(new)")
            // The reconciler stamps the event when it applies it: within a second of the change.
            if seen, let e = try await lastVMEvent(store, vmA) { #expect(e.time - changedAt <= 1_000, "\(action) took \(e.time - changedAt) ms") }
        }
        let log = try await store.events(after: 0, limit: 1000).filter { $0.resourceUuid == a && $0.eventType == "VMStateChanged" }
        #expect(log.map(\.newValue) == ["Paused", "Running", "Stopped", "Running"])
        #expect(try await store.events(after: 0, limit: 1000).allSatisfy { $0.eventType != "VmCrash" })
    }

    @Test func afterAReconnectEventsStillArriveAndTheHostIsResynced() async throws {
        let (node, hv, store, host) = try await setUp()
        _ = node
        let clock = ManualControlClock(start: 10_000)
        let monitor = HostMonitor(hostUuid: host.uuid, hypervisor: hv, inventory: store, clock: clock,
                                  settings: .init(pingInterval: 60_000, reconnectBackoff: 1_000...1_000), logger: Logger(label: "test"))
        await monitor.start()
        let b = ResourceUUID.normalize(vmB)
        try await hv.start(vmUuid: b)
        #expect(try await eventually { try await store.vm(uuid: b).state == .running })

        // The connection drops: three pings fail, the host goes Disconnected.
        hv.connection.close()
        for t in [70_000, 130_000, 190_000] as [Int64] { clock.advance(to: t); await monitor.tick() }
        #expect(await monitor.status == .disconnected)
        #expect(try await store.host(uuid: host.uuid).status == "Disconnected")

        // Reconnect re-opens libvirt (the test driver reloads its node file: ev-b is shut off
        // again) and the full sync records that.
        clock.advance(to: 191_000)
        await monitor.tick()
        #expect(await monitor.status == .connected)
        #expect(hv.connection.isAlive)
        #expect(try await store.host(uuid: host.uuid).status == "Connected")
        #expect(try await store.vm(uuid: b).state == .stopped)

        // The event callback was registered again on the new connection.
        try await hv.start(vmUuid: b)
        #expect(try await eventually { try await store.vm(uuid: b).state == .running })
        let log = try await store.events(after: 0, limit: 1000).filter { $0.resourceUuid == b && $0.eventType == "VMStateChanged" }
        #expect(log.map(\.newValue) == ["Running", "Stopped", "Running"])
    }

    @Test func libvirtEventsMapToZStackStates() {
        func map(_ t: DomainEventType, _ d: Int32 = 0) -> VMLifecycleEvent {
            VMLifecycleEvent(DomainLifecycleEvent(uuid: vmA, name: "x", type: t, detail: d))
        }
        #expect(map(.started).state == .running && map(.started).vmUuid == ResourceUUID.normalize(vmA))
        #expect(map(.suspended).state == .paused)
        #expect(map(.resumed).state == .running)
        #expect(map(.stopped, 1).state == .stopped && map(.stopped, 1).crashReason == nil)
        #expect(map(.stopped, 2).state == .stopped && map(.stopped, 2).crashReason == "crashed")
        #expect(map(.crashed).state == .crashed && map(.crashed).crashReason == "panicked")
        #expect(map(.shutdown).state == .stopping)
        #expect(map(.pmSuspended).state == .paused)
        #expect(map(.defined).state == nil && map(.undefined).state == nil)
        #expect(map(.stopped, 1).detail == "Stopped/Destroyed")
    }
}
