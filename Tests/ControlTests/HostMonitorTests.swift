import Control
import Logging
import Testing

/// HostMonitor on an injected clock with a fake hypervisor: pings, the 3-failure rule,
/// reconnect backoff, the sync on reconnect, and events.
@Suite struct HostMonitorTests {
    let a = String(repeating: "a", count: 32), b = String(repeating: "b", count: 32)
    let settings = HostMonitor.Settings(pingInterval: 60_000, pingTimeout: 10_000, failuresBeforeDisconnect: 3,
                                        reconnectBackoff: 1_000...8_000)

    func hostEvents(_ store: SQLiteInventoryStore, _ host: String) async throws -> [ResourceEvent] {
        try await store.events(after: 0, limit: 1000).filter { $0.resourceUuid == host && $0.eventType != "Created" }
    }

    @Test func threeMissedPingsDisconnectOnceThenReconnectWithBackoffAndSync() async throws {
        let (store, host) = try await makeInventory()
        let hv = FakeHypervisor()
        hv.set { $0.vms = [reported(a, .running)] }
        try await store.syncVMs(hostUuid: host.uuid, reported: hv.snapshot.vms, at: 3_000)
        let clock = ManualControlClock(start: 10_000)
        let monitor = HostMonitor(hostUuid: host.uuid, hypervisor: hv, inventory: store, clock: clock, settings: settings,
                                  logger: Logger(label: "test"))
        await monitor.start()
        hv.set { $0.reachable = false }

        var dues: [Int64] = []
        for t in [70_000, 130_000] as [Int64] {
            clock.advance(to: t)
            dues.append(await monitor.tick())
            #expect(await monitor.status == .connected)
        }
        #expect(await monitor.consecutiveFailures == 2)
        #expect(try await hostEvents(store, host.uuid).isEmpty)
        clock.advance(to: 190_000)
        dues.append(await monitor.tick())
        #expect(await monitor.status == .disconnected)
        #expect(try await store.host(uuid: host.uuid).status == "Disconnected")
        #expect(dues == [130_000, 190_000, 191_000])

        // Reconnect attempts back off 1 s, 2 s, 4 s, then stay at the 8 s cap.
        dues = []
        for _ in 0..<5 {
            clock.advance(to: clock.now() < 191_000 ? 191_000 : dues.last!)
            dues.append(await monitor.tick())
        }
        #expect(dues == [192_000, 194_000, 198_000, 206_000, 214_000])
        #expect(hv.snapshot.reconnects == 5)
        let down = try await hostEvents(store, host.uuid)
        #expect(down.map(\.eventType) == ["HostStatusChanged", "HostDisconnected"])
        #expect(down.allSatisfy { $0.time == 190_000 && $0.oldValue == "Connected" && $0.newValue == "Disconnected" })

        // The host answers again, with a VM paused and a new one meanwhile.
        hv.set { $0.reachable = true; $0.vms = [reported(a, .paused), reported(b, .running)] }
        clock.advance(to: 214_000)
        #expect(await monitor.tick() == 274_000)
        #expect(await monitor.status == .connected)
        #expect(try await store.host(uuid: host.uuid).status == "Connected")
        let up = try await hostEvents(store, host.uuid).suffix(1)
        #expect(up.map(\.eventType) == ["HostStatusChanged"] && up.first?.newValue == "Connected")
        #expect(try await store.vm(uuid: a).state == .paused)
        #expect(try await store.vm(uuid: b).state == .running)
        let vmEvents = try await store.events(after: 0, limit: 1000).filter { $0.time == 214_000 && $0.resourceType == "VmInstance" }
        #expect(Set(vmEvents.map(\.eventType)) == ["VMStateChanged", "Created"])
        #expect(try await store.events(after: 0, limit: 1000).filter { $0.eventType == "HostDisconnected" }.count == 1)
    }

    @Test func aPingThatAnswersResetsTheCount() async throws {
        let (store, host) = try await makeInventory()
        let hv = FakeHypervisor()
        let clock = ManualControlClock(start: 0)
        let monitor = HostMonitor(hostUuid: host.uuid, hypervisor: hv, inventory: store, clock: clock, settings: settings,
                                  logger: Logger(label: "test"))
        await monitor.start()
        for (i, reachable) in [false, false, true, false, false, true].enumerated() {
            hv.set { $0.reachable = reachable }
            clock.advance(to: Int64(i + 1) * 60_000)
            await monitor.tick()
        }
        #expect(await monitor.status == .connected)
        #expect(await monitor.consecutiveFailures == 0)
        #expect(hv.snapshot.pings == 6)
        #expect(try await hostEvents(store, host.uuid).isEmpty)
    }

    @Test func aPingThatHangsPastTheTimeoutCountsAsFailedAndIsNotRepeated() async throws {
        let (store, host) = try await makeInventory()
        let hv = FakeHypervisor()
        let clock = ManualControlClock(start: 0)
        let monitor = HostMonitor(hostUuid: host.uuid, hypervisor: hv, inventory: store, clock: clock, settings: settings,
                                  logger: Logger(label: "test"))
        await monitor.start()
        hv.set { $0.hang = true }
        clock.advance(to: 60_000)
        let tick = Task { await monitor.tick() }
        // Wait for the ping's timeout timer to be asleep on the clock, then pass the timeout.
        #expect(await eventually { clock.sleeperCount == 1 })
        clock.advance(to: 70_000)
        #expect(await tick.value == 120_000)
        #expect(await monitor.consecutiveFailures == 1)
        // The hung call still holds its thread: the next ping fails without another call.
        clock.advance(to: 120_000)
        await monitor.tick()
        #expect(await monitor.consecutiveFailures == 2)
        #expect(hv.snapshot.pings == 1)
        hv.release()
        hv.set { $0.reachable = true }
        #expect(await eventually {
            clock.advance(to: clock.now() + 60_000)
            await monitor.tick()
            return await monitor.consecutiveFailures == 0
        })
        #expect(await monitor.status == .connected)
    }

    @Test func eventsReachTheLogAndUnknownVMsAreSynced() async throws {
        let (store, host) = try await makeInventory()
        let hv = FakeHypervisor()
        hv.set { $0.vms = [reported(a, .running)] }
        try await store.syncVMs(hostUuid: host.uuid, reported: hv.snapshot.vms, at: 3_000)
        let clock = ManualControlClock(start: 10_000)
        let monitor = HostMonitor(hostUuid: host.uuid, hypervisor: hv, inventory: store, clock: clock, settings: settings,
                                  logger: Logger(label: "test"))
        let run = Task { await monitor.run() }
        defer { run.cancel() }
        #expect(await eventually { hv.snapshot.subscriptions == 1 })

        hv.emit(VMLifecycleEvent(vmUuid: a, name: "a", state: .paused, detail: "Suspended/Paused"))
        #expect(try await eventually { try await store.vm(uuid: a).state == .paused })
        hv.emit(VMLifecycleEvent(vmUuid: a, name: "a", state: .crashed, crashReason: "panicked", detail: "Crashed/Panicked"))
        #expect(try await eventually { try await store.vm(uuid: a).state == .crashed })
        let log = try await store.events(after: 0, limit: 1000).filter { $0.resourceUuid == a }.suffix(3)
        #expect(log.map(\.eventType) == ["VMStateChanged", "VMStateChanged", "VmCrash"])
        #expect(log.map(\.newValue) == ["Paused", "Crashed", "panicked"])
        #expect(log.map(\.oldValue) == ["Running", "Paused", "Paused"])

        // A VM the inventory does not know: the host is listed and the VM created as it is.
        hv.set { $0.vms = [reported(a, .crashed), reported(b, .running)] }
        hv.emit(VMLifecycleEvent(vmUuid: b, name: "b", state: .running, detail: "Started/Booted"))
        #expect(await eventually { (try? await store.vm(uuid: b).state) == .running })

        // An event stream that ends is replaced on the next reconnect.
        hv.endEvents()
        hv.set { $0.reachable = false }
        for t in [70_000, 130_000, 190_000, 191_000] as [Int64] { clock.advance(to: t); await monitor.tick() }
        #expect(await monitor.status == .disconnected)
        hv.set { $0.reachable = true }
        clock.advance(to: 192_000)
        await monitor.tick()
        #expect(await monitor.status == .connected)
        #expect(hv.snapshot.subscriptions == 2)
        hv.emit(VMLifecycleEvent(vmUuid: b, name: "b", state: .stopped, detail: "Stopped/Destroyed"))
        #expect(try await eventually { try await store.vm(uuid: b).state == .stopped })
    }

    @Test func aHostRecordedDisconnectedStartsByReconnecting() async throws {
        let (store, host) = try await makeInventory()
        try await store.setHostStatus(uuid: host.uuid, status: "Disconnected", at: 3_000)
        let hv = FakeHypervisor()
        let clock = ManualControlClock(start: 10_000)
        let monitor = HostMonitor(hostUuid: host.uuid, hypervisor: hv, inventory: store, clock: clock, settings: settings,
                                  logger: Logger(label: "test"))
        await monitor.start()
        #expect(await monitor.status == .disconnected)
        #expect(await monitor.tick() == 70_000)
        #expect(await monitor.status == .connected)
        #expect(hv.snapshot.reconnects == 1)
        #expect(try await store.host(uuid: host.uuid).status == "Connected")
    }
}
