import Logging

/// Watches one hypervisor host: applies its VM lifecycle events as they arrive, pings it, marks it
/// Disconnected after consecutive failed pings, reconnects with backoff, and on reconnect marks
/// it Connected and syncs its VMs in full. Optionally runs a periodic full sync while connected
/// (the safety net for anything an event missed).
///
/// ```swift
/// let monitor = HostMonitor(hostUuid: host.uuid, hypervisor: hv, inventory: store,
///                           clock: SystemControlClock(), settings: .init(syncInterval: 10_000), logger: logger)
/// await monitor.run()   // until the task is cancelled
/// ```
///
/// Status changes go through `InventoryStore.setHostStatus`, which writes `HostStatusChanged` and,
/// on Disconnected, `HostDisconnected`. Tests drive it step by step: `start()`, then `tick()` at
/// each injected clock time.
public actor HostMonitor {
    /// Timings (milliseconds) and thresholds.
    public struct Settings: Sendable, Equatable {
        /// Time between pings while connected (ZStack's default host ping is 60 s).
        public var pingInterval: Int64
        /// A ping (or a reconnect) that has not answered by then counts as failed.
        public var pingTimeout: Int64
        /// Consecutive failed pings that make the host Disconnected.
        public var failuresBeforeDisconnect: Int
        /// The wait before the first reconnect attempt, doubled after each failed attempt up to the upper bound.
        public var reconnectBackoff: ClosedRange<Int64>
        /// Full VM sync period while connected; nil = no periodic sync (events and reconnects only).
        public var syncInterval: Int64?

        public init(pingInterval: Int64 = 60_000, pingTimeout: Int64 = 10_000, failuresBeforeDisconnect: Int = 3,
                    reconnectBackoff: ClosedRange<Int64> = 1_000...60_000, syncInterval: Int64? = nil) {
            self.pingInterval = max(1, pingInterval)
            self.pingTimeout = max(1, pingTimeout)
            self.failuresBeforeDisconnect = max(1, failuresBeforeDisconnect)
            self.reconnectBackoff = max(1, reconnectBackoff.lowerBound)...max(1, reconnectBackoff.upperBound)
            self.syncInterval = syncInterval.map { max(1, $0) }
        }
    }

    /// Whether the monitor considers the host reachable.
    public enum Status: String, Sendable {
        case connected = "Connected"
        case disconnected = "Disconnected"
    }

    public nonisolated let hostUuid: String
    public nonisolated let settings: Settings
    private let hypervisor: any Hypervisor
    private let inventory: any InventoryStore
    private let clock: any ControlClock
    private let logger: Logger
    private let reconciler: VMEventReconciler

    /// The monitor's view of the host.
    public private(set) var status: Status = .connected
    /// Failed pings in a row while connected.
    public private(set) var consecutiveFailures = 0
    /// Reconnect attempts since the host went Disconnected.
    public private(set) var reconnectAttempts = 0
    private var started = false
    private var nextPing: Int64 = 0
    private var nextSync: Int64?
    private var nextReconnect: Int64 = 0
    private var backoff: Int64
    /// A ping or reconnect that outlived its timeout and still occupies a thread; no new one starts meanwhile.
    private var callInFlight = false
    private var eventsTask: Task<Void, Never>?
    private var eventsActive = false

    public init(hostUuid: String, hypervisor: any Hypervisor, inventory: any InventoryStore, clock: any ControlClock,
                settings: Settings = Settings(), logger: Logger) {
        self.hostUuid = hostUuid
        self.hypervisor = hypervisor
        self.inventory = inventory
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.backoff = settings.reconnectBackoff.lowerBound
        self.reconciler = VMEventReconciler(hostUuid: hostUuid, hypervisor: hypervisor, inventory: inventory, clock: clock, logger: logger)
    }

    /// Takes the host's recorded status as the starting point and, when it is not Disconnected,
    /// subscribes to its VM events. `run()` calls it; call it yourself only to drive `tick()`.
    public func start() async {
        guard !started else { return }
        started = true
        let now = clock.now()
        let recorded = try? await inventory.host(uuid: hostUuid).status
        status = recorded == Status.disconnected.rawValue ? .disconnected : .connected
        nextPing = now + settings.pingInterval
        nextSync = settings.syncInterval.map { now + $0 }
        nextReconnect = now
        if status == .connected { await subscribeEvents() }
    }

    /// Does what is due at `clock.now()`: a ping, a full sync, or a reconnect attempt. Returns
    /// the clock time at which something is next due.
    @discardableResult
    public func tick() async -> Int64 {
        await start()
        let now = clock.now()
        switch status {
        case .connected:
            if now >= nextPing {
                nextPing = now + settings.pingInterval
                if await ping() {
                    consecutiveFailures = 0
                } else {
                    consecutiveFailures += 1
                    logger.warning("host \(hostUuid) (\(hypervisor.uri)) missed ping \(consecutiveFailures) of \(settings.failuresBeforeDisconnect)")
                    if consecutiveFailures >= settings.failuresBeforeDisconnect {
                        await markDisconnected(at: now)
                        return nextReconnect
                    }
                }
            }
            if let due = nextSync, now >= due {
                nextSync = now + (settings.syncInterval ?? 0)
                await fullSync()
            }
            return min(nextPing, nextSync ?? .max)
        case .disconnected:
            if now >= nextReconnect {
                if await reconnect() { return min(nextPing, nextSync ?? .max) }
                nextReconnect = now + backoff
                backoff = min(backoff * 2, settings.reconnectBackoff.upperBound)
            }
            return nextReconnect
        }
    }

    /// Ticks until the task is cancelled, sleeping on the clock in between; then stops listening to events.
    public func run() async {
        await start()
        while !Task.isCancelled {
            let next = await tick()
            do { try await clock.sleep(until: next) } catch { break }
        }
        eventsTask?.cancel()
        eventsTask = nil
    }

    /// A full listing of the host's VMs into the inventory; returns the events written (none when
    /// disconnected or when the listing failed).
    @discardableResult
    public func fullSync() async -> [ResourceEvent] {
        guard status == .connected else { return [] }
        let at = clock.now()
        do {
            let vms = try await hypervisor.listVMs()
            return try await inventory.syncVMs(hostUuid: hostUuid, reported: vms, at: at)
        } catch {
            logger.error("host \(hostUuid) (\(hypervisor.uri)): VM sync failed: \(error)")
            return []
        }
    }

    // MARK: Steps

    private func ping() async -> Bool {
        await guarded { [hypervisor] in await hypervisor.isAlive() } ?? false
    }

    private func markDisconnected(at now: Int64) async {
        status = .disconnected
        reconnectAttempts = 0
        backoff = settings.reconnectBackoff.lowerBound
        nextReconnect = now + backoff
        logger.error("host \(hostUuid) (\(hypervisor.uri)) is Disconnected after \(consecutiveFailures) failed pings; reconnecting")
        do {
            try await inventory.setHostStatus(uuid: hostUuid, status: Status.disconnected.rawValue, at: clock.now())
        } catch {
            logger.error("host \(hostUuid): could not record Disconnected: \(error)")
        }
    }

    /// One reconnect attempt: re-open, ping, then Connected + a full sync + events.
    private func reconnect() async -> Bool {
        reconnectAttempts += 1
        let reopened = await guarded { [hypervisor] () -> Bool in
            do { try await hypervisor.reconnect(); return true } catch { return false }
        } ?? false
        guard reopened, await ping() else {
            logger.info("host \(hostUuid) (\(hypervisor.uri)): reconnect attempt \(reconnectAttempts) failed")
            return false
        }
        let now = clock.now()
        status = .connected
        consecutiveFailures = 0
        backoff = settings.reconnectBackoff.lowerBound
        nextPing = now + settings.pingInterval
        nextSync = settings.syncInterval.map { now + $0 }
        logger.notice("host \(hostUuid) (\(hypervisor.uri)) reconnected after \(reconnectAttempts) attempt(s)")
        do {
            try await inventory.setHostStatus(uuid: hostUuid, status: Status.connected.rawValue, at: now)
        } catch {
            logger.error("host \(hostUuid): could not record Connected: \(error)")
        }
        await subscribeEvents()
        await fullSync()
        return true
    }

    /// Starts applying the hypervisor's events unless a subscription is already live (libvirt's
    /// survives reconnects; one that ended is replaced).
    private func subscribeEvents() async {
        guard !eventsActive else { return }
        do {
            let stream = try await hypervisor.vmEvents()
            eventsActive = true
            eventsTask = Task { [reconciler, weak self] in
                await reconciler.run(stream)
                await self?.eventsEnded()
            }
        } catch {
            logger.error("host \(hostUuid) (\(hypervisor.uri)): cannot subscribe to VM events (\(error)); relying on syncs")
        }
    }

    private func eventsEnded() { eventsActive = false }

    /// Runs a hypervisor call with the ping timeout; nil when it timed out, or when an earlier
    /// call is still stuck (so blocked calls never pile up on the thread pool).
    private func guarded<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T? {
        guard !callInFlight else { return nil }
        callInFlight = true
        let result = await withDeadline(settings.pingTimeout, clock: clock) { [weak self] in
            let value = await body()
            await self?.callFinished()
            return value
        }
        return result
    }

    private func callFinished() { callInFlight = false }
}
