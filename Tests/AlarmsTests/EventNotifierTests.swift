import Alarms
import Control
import Foundation
import StratusMetrics
import Testing

/// `EventNotifier` over a real inventory (SQLite, its resource event log) and a real alarm store.
@Suite struct EventNotifierTests {
    static let t0: Int64 = 1_700_000_000_000

    struct Fixture {
        let inventory: SQLiteInventoryStore
        let store: SQLiteAlarmStore
        let clock = ManualWallClock(start: EventNotifierTests.t0)
        let host: Control.Host
        let host2: Control.Host
        let endpoint: SNSEndpoint
        let topic: SNSTopic

        init() async throws {
            inventory = try SQLiteInventoryStore(path: nil)
            store = try SQLiteAlarmStore(path: nil)
            let zone = try await inventory.createZone(name: "z", description: "", at: EventNotifierTests.t0)
            let cluster = try await inventory.createCluster(name: "c", zoneUuid: zone.uuid, hypervisorType: "KVM", at: EventNotifierTests.t0)
            host = try await inventory.addHost(Control.Host(name: "h1", zoneUuid: zone.uuid, clusterUuid: cluster.uuid, managementIp: "10.0.0.1",
                                                    hypervisorType: "KVM", hypervisorURI: "test:///h1", cpuNum: 8,
                                                    totalMemoryCapacity: 1 << 34), at: EventNotifierTests.t0)
            host2 = try await inventory.addHost(Control.Host(name: "h2", zoneUuid: zone.uuid, clusterUuid: cluster.uuid, managementIp: "10.0.0.2",
                                                     hypervisorType: "KVM", hypervisorURI: "test:///h2", cpuNum: 8,
                                                     totalMemoryCapacity: 1 << 34), at: EventNotifierTests.t0)
            try await inventory.syncVMs(hostUuid: host.uuid, reported: [
                ReportedVM(uuid: "vm-1", name: "vm-1", state: .running, cpuNum: 1, memorySize: 1 << 29),
                ReportedVM(uuid: "vm-2", name: "vm-2", state: .running, cpuNum: 1, memorySize: 1 << 29),
            ], at: EventNotifierTests.t0)
            topic = try await store.createTopic(SNSTopic(uuid: "", name: "ops"), at: EventNotifierTests.t0)
            endpoint = try await store.createEndpoint(SNSEndpoint(uuid: "", name: "hook", config: .http(HTTPEndpointConfig(url: "http://127.0.0.1:9/"))),
                                                      at: EventNotifierTests.t0)
            try await store.subscribe(endpointUuid: endpoint.uuid, topicUuid: topic.uuid)
        }

        func notifier() -> EventNotifier { EventNotifier(inventory: inventory, store: store, clock: clock) }

        func subscribe(_ name: String, namespace: String = "ZStack/VM", event: String, labels: [AlarmLabel] = []) async throws -> EventSubscription {
            try await store.createEventSubscription(EventSubscription(uuid: "", name: name, namespace: namespace, eventName: event,
                                                                      labels: labels, actions: [topic.uuid]), at: EventNotifierTests.t0)
        }

        /// The event notices in the outbox, oldest first.
        func notices() async throws -> [(key: String, notice: EventNotice)] {
            try await store.outbox(OutboxQuery(limit: 1000)).reversed().compactMap { e in
                if case let .event(n) = e.notice { return (e.idempotencyKey, n) }
                return nil
            }
        }
    }

    @Test func vmStateChangeMatchingTheSubscriptionLabelsIsQueuedWithItsLabels() async throws {
        let f = try await Fixture()
        let sub = try await f.subscribe("stopped", event: "VMStateChanged", labels: [AlarmLabel(key: "NewState", value: "Stopped")])
        try await f.inventory.recordVMState(uuid: "vm-1", hostUuid: f.host.uuid, state: .paused, crashReason: nil, at: Self.t0 + 1000)
        try await f.inventory.recordVMState(uuid: "vm-2", hostUuid: f.host.uuid, state: .stopped, crashReason: nil, at: Self.t0 + 2000)
        let n = f.notifier()
        let pass = try await n.passOnce()
        let all = try await f.inventory.events(after: 0, limit: 100)
        #expect(pass.events == all.count && pass.notices == 1 && pass.cursor == all.last?.sequence)
        #expect(try await f.store.eventCursor() == all.last?.sequence)
        let got = try await f.notices()
        try #require(got.count == 1)
        let notice = got[0].notice
        let stopped = try #require(all.first { $0.resourceUuid == "vm-2" && $0.eventType == "VMStateChanged" })
        #expect(notice.labels == ["VMUuid": "vm-2", "HostUuid": f.host.uuid, "OldState": "Running", "NewState": "Stopped",
                                  "EventName": "VMStateChanged"])
        #expect(notice.namespace == "ZStack/VM" && notice.resourceId == "vm-2" && notice.time == Self.t0 + 2000)
        #expect(got[0].key == "event:\(sub.uuid):\(stopped.sequence!)@\(f.endpoint.uuid)")
    }

    @Test func aRestartReadsNothingTwice() async throws {
        let f = try await Fixture()
        _ = try await f.subscribe("any vm change", event: "VMStateChanged")
        try await f.inventory.recordVMState(uuid: "vm-1", hostUuid: f.host.uuid, state: .stopped, crashReason: nil, at: Self.t0 + 1000)
        #expect(try await f.notifier().passOnce().notices == 1)
        // A new notifier (a restart) starts from the stored cursor.
        let again = try await f.notifier().passOnce()
        #expect(again.events == 0 && again.notices == 0)
        try await f.inventory.recordVMState(uuid: "vm-1", hostUuid: f.host.uuid, state: .running, crashReason: nil, at: Self.t0 + 2000)
        #expect(try await f.notifier().passOnce().notices == 1)
        let states = try await f.notices().map { $0.notice.labels["NewState"] }
        #expect(states == ["Stopped", "Running"])
    }

    @Test func readsTheLogInBatchesAndEachBatchAdvancesTheCursor() async throws {
        let f = try await Fixture()
        _ = try await f.subscribe("any vm change", event: "VMStateChanged")
        for i in 0..<6 {
            try await f.inventory.recordVMState(uuid: "vm-1", hostUuid: f.host.uuid, state: i % 2 == 0 ? .stopped : .running,
                                                crashReason: nil, at: Self.t0 + Int64(i + 1) * 1000)
        }
        let n = EventNotifier(inventory: f.inventory, store: f.store, clock: f.clock, batchSize: 4)
        var total = 0
        for _ in 0..<5 { total += try await n.passOnce().notices }
        #expect(total == 6)
        #expect(try await f.notices().count == 6)
    }

    @Test func hostDisconnectionIsNotifiedAndTrackedAndSeededOnStart() async throws {
        let f = try await Fixture()
        _ = try await f.subscribe("host down", namespace: "ZStack/Host", event: "HostDisconnected")
        // h2 was already disconnected before the notifier started: the seed knows it.
        try await f.inventory.setHostStatus(uuid: f.host2.uuid, status: "Disconnected", at: Self.t0 + 500)
        let n = f.notifier()
        try await n.seedHostStatuses()
        #expect(n.disconnectedHosts == [f.host2.uuid])
        try await f.inventory.setHostStatus(uuid: f.host.uuid, status: "Disconnected", at: Self.t0 + 1000)
        try await f.inventory.setHostStatus(uuid: f.host2.uuid, status: "Connected", at: Self.t0 + 1000)
        let pass = try await n.passOnce()
        #expect(n.disconnectedHosts == [f.host.uuid])
        // Both HostDisconnected events (h2's from before the start, h1's now) are notified.
        #expect(pass.notices == 2)
        let got = try await f.notices().map(\.notice)
        #expect(got.map { $0.labels["HostUuid"] } == [f.host2.uuid, f.host.uuid])
        #expect(got.last?.labels == ["HostUuid": f.host.uuid, "OldStatus": "Connected", "NewStatus": "Disconnected",
                                     "EventName": "HostDisconnected"])
        #expect(got.allSatisfy { $0.namespace == "ZStack/Host" })
    }

    @Test func silencedEventsAreNotQueued() async throws {
        let f = try await Fixture()
        _ = try await f.subscribe("any vm change", event: "VMStateChanged")
        _ = try await f.store.createSilence(Silence(uuid: "", matchers: [AlarmLabel(key: "VMUuid", value: "vm-1")], startsAt: Self.t0,
                                                    endsAt: Self.t0 + 3_600_000), at: Self.t0)
        try await f.inventory.recordVMState(uuid: "vm-1", hostUuid: f.host.uuid, state: .stopped, crashReason: nil, at: Self.t0 + 1000)
        try await f.inventory.recordVMState(uuid: "vm-2", hostUuid: f.host.uuid, state: .stopped, crashReason: nil, at: Self.t0 + 1000)
        let pass = try await f.notifier().passOnce()
        #expect(pass.notices == 1 && pass.silenced == 1)
        #expect(try await f.notices().map(\.notice.resourceId) == ["vm-2"])
    }

    @Test func crashEventsCarryTheReasonAndDisabledSubscriptionsMatchNothing() async throws {
        let f = try await Fixture()
        _ = try await f.subscribe("crash", event: "VmCrash")
        var off = try await f.subscribe("off", event: "VMStateChanged")
        off.enabled = false
        _ = try await f.store.updateEventSubscription(off)
        try await f.inventory.recordVMState(uuid: "vm-1", hostUuid: f.host.uuid, state: .crashed, crashReason: "panicked", at: Self.t0 + 1000)
        let pass = try await f.notifier().passOnce()
        #expect(pass.notices == 1)
        let n = try #require(try await f.notices().first?.notice)
        #expect(n.eventName == "VmCrash")
        #expect(n.labels["CrashReason"] == "panicked" && n.labels["OldState"] == "Running" && n.labels["NewState"] == "Crashed")
    }

    @Test func labelsOfEveryKindOfEvent() {
        func event(_ type: String, _ resource: String, _ old: String?, _ new: String?) -> ResourceEvent {
            ResourceEvent(time: 1, resourceType: resource, resourceUuid: "r", eventType: type, oldValue: old, newValue: new)
        }
        #expect(ResourceEventLabels.labels(of: event("HostChanged", "VmInstance", "h-old", "h-new"), vmHost: "h-stale")
            == ["VMUuid": "r", "HostUuid": "h-new", "OldHostUuid": "h-old", "NewHostUuid": "h-new", "EventName": "HostChanged"])
        #expect(ResourceEventLabels.labels(of: event("Created", "VmInstance", nil, "Running"))
            == ["VMUuid": "r", "NewState": "Running", "EventName": "Created"])
        #expect(ResourceEventLabels.labels(of: event("HostStatusChanged", "Host", "Connecting", "Connected"))
            == ["HostUuid": "r", "OldStatus": "Connecting", "NewStatus": "Connected", "EventName": "HostStatusChanged"])
        #expect(ResourceEventLabels.labels(of: event("Created", "Zone", nil, "z1"))
            == ["ResourceUuid": "r", "NewValue": "z1", "EventName": "Created"])
        #expect(ResourceEventLabels.namespace(of: event("Created", "VmInstance", nil, nil)) == "ZStack/VM")
        #expect(ResourceEventLabels.namespace(of: event("Created", "Host", nil, nil)) == "ZStack/Host")
    }
}
