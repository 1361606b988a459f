import Control
import Logging
import StratusMetrics
import Synchronization

/// What one event-notifier pass did.
public struct EventPass: Sendable, Equatable {
    /// Resource events read from the log.
    public var events = 0
    /// Notices committed (one per matching subscription).
    public var notices = 0
    /// Matches muted by a silence.
    public var silenced = 0
    /// The event-log cursor after the pass.
    public var cursor: Int64 = 0

    public init() {}
}

/// Turns the inventory's resource event log into event notices.
///
/// Each pass reads the events after `AlarmStore.eventCursor()`, maps each to its namespace and
/// labels (`ResourceEventLabels`), matches the enabled `EventSubscription`s (event name, namespace,
/// label matchers), drops matches an active silence mutes, and commits the notices together with
/// the new cursor in one `AlarmRoundCommit`: after a crash the same events are read again and the
/// outbox ignores the notices it already has (their key holds the event's sequence), so nothing is
/// lost or doubled.
///
/// It also tracks which hosts are Disconnected (seeded from the inventory, then kept current from
/// `HostStatusChanged`/`HostDisconnected` events) for the evaluator's inhibition, and which host
/// each VM is on (cached from the inventory and `HostChanged` events) to add `HostUuid` to VM events.
public final class EventNotifier: Sendable {
    private struct State {
        var disconnected: Set<String> = []
        var vmHosts: [String: String] = [:]
    }

    private let inventory: any InventoryStore
    private let store: any AlarmStore
    private let clock: any WallClock
    private let batchSize: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeup = Wakeup()

    public init(inventory: any InventoryStore, store: any AlarmStore, clock: any WallClock, batchSize: Int = 500,
                logger: Logger = Logger(label: "stratus.alarms.events")) {
        self.inventory = inventory
        self.store = store
        self.clock = clock
        self.batchSize = max(1, batchSize)
        self.logger = logger
    }

    /// Hosts whose status is Disconnected, as far as the events read so far say.
    public var disconnectedHosts: Set<String> { state.withLock { $0.disconnected } }

    /// Loads the current host statuses from the inventory (call once before the first pass).
    public func seedHostStatuses() async throws {
        var disconnected: Set<String> = []
        var start = 0
        while true {
            var q = InventoryQuery()
            q.limit = 1000
            q.start = start
            let page = try await inventory.hosts(q)
            for h in page.inventories where h.status == "Disconnected" { disconnected.insert(h.uuid) }
            start += page.inventories.count
            if page.inventories.isEmpty || start >= page.total { break }
        }
        state.withLock { $0.disconnected = disconnected }
    }

    /// Makes a sleeping `run` read the log now.
    public func poke() { wakeup.poke() }

    /// Passes every `interval` ms (or when poked) until cancelled; `committed` is called after a
    /// pass that committed notices (to poke the dispatcher).
    public func run(interval: Int64, committed: @escaping @Sendable () -> Void) async {
        while !Task.isCancelled {
            do {
                var pass = try await passOnce()
                if pass.notices > 0 { committed() }
                // A full batch means more is waiting: read on at once.
                while pass.events >= batchSize, !Task.isCancelled {
                    pass = try await passOnce()
                    if pass.notices > 0 { committed() }
                }
            } catch {
                if Task.isCancelled { return }
                logger.error("event notification pass failed; retrying: \(error)")
            }
            do { try await wakeup.wait(until: clock.now() + interval, clock: clock) } catch { return }
        }
    }

    /// Reads one batch of events after the stored cursor and commits its notices and the new cursor.
    @discardableResult
    public func passOnce() async throws -> EventPass {
        var pass = EventPass()
        let cursor = try await store.eventCursor()
        pass.cursor = cursor
        let events = try await inventory.events(after: cursor, limit: batchSize)
        guard let last = events.last?.sequence else { return pass }
        pass.events = events.count
        let now = clock.now()
        let subscriptions = try await compiledSubscriptions()
        let silences = try await store.silences(endingAfter: now)
        let suppression = AlarmSuppression(silences: silences)

        var notices: [RoutedNotice] = []
        for event in events {
            track(event)
            let namespace = ResourceEventLabels.namespace(of: event)
            let candidates = subscriptions.filter { $0.subscription.eventName == event.eventType && $0.subscription.namespace == namespace }
            guard !candidates.isEmpty, let sequence = event.sequence else { continue }
            let host = event.resourceType == "VmInstance" ? await vmHost(event.resourceUuid) : nil
            let labels = ResourceEventLabels.labels(of: event, vmHost: host)
            for c in candidates where c.matchers.allSatisfy({ $0.matches(labels[$0.name]) }) {
                let s = c.subscription
                if let silence = suppression.silence(matching: ResourceEventLabels.silenceLabels(labels, subscription: s), at: event.time) {
                    pass.silenced += 1
                    logger.info("event notice silenced", metadata: [
                        "event": "\(event.eventType)", "resource": "\(event.resourceUuid)", "silence": "\(silence.uuid)",
                    ])
                    continue
                }
                let notice = EventNotice(subscriptionUuid: s.uuid, subscriptionName: s.name, namespace: namespace,
                                         eventName: event.eventType, labels: labels, resourceId: event.resourceUuid,
                                         resourceType: event.resourceType, emergencyLevel: s.emergencyLevel,
                                         time: event.time, eventSequence: sequence)
                notices.append(RoutedNotice(notice: .event(notice), topicUuids: s.actions))
            }
        }
        try await store.commit(AlarmRoundCommit(notices: notices, eventCursor: last, time: now))
        pass.notices = notices.count
        pass.cursor = last
        return pass
    }

    // MARK: Helpers

    private struct Compiled {
        var subscription: EventSubscription
        var matchers: [LabelMatcher]
    }

    private func compiledSubscriptions() async throws -> [Compiled] {
        var out: [Compiled] = []
        for s in try await store.eventSubscriptions() where s.enabled {
            do {
                out.append(Compiled(subscription: s, matchers: try s.labels.map { try $0.matcher() }))
            } catch {
                logger.error("event subscription '\(s.name)' (\(s.uuid)) skipped: \(error)")
            }
        }
        return out
    }

    /// Keeps the disconnected-host set and the VM → host cache current.
    private func track(_ event: ResourceEvent) {
        state.withLock { s in
            switch (event.resourceType, event.eventType) {
            case ("Host", ResourceEvent.EventType.hostStatusChanged), ("Host", ResourceEvent.EventType.hostDisconnected):
                if event.newValue == "Disconnected" {
                    s.disconnected.insert(event.resourceUuid)
                } else {
                    s.disconnected.remove(event.resourceUuid)
                }
            case ("Host", "Deleted"):
                s.disconnected.remove(event.resourceUuid)
            case ("VmInstance", ResourceEvent.EventType.hostChanged):
                s.vmHosts[event.resourceUuid] = event.newValue
            default:
                break
            }
        }
    }

    /// The VM's host: from the cache, else one inventory read (nil for a VM the inventory no longer has).
    private func vmHost(_ vmUuid: String) async -> String? {
        if let h = state.withLock({ $0.vmHosts[vmUuid] }) { return h }
        guard let h = try? await inventory.vm(uuid: vmUuid).hostUuid else { return nil }
        state.withLock { $0.vmHosts[vmUuid] = h }
        return h
    }
}
