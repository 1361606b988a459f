import Control
import Logging
import ServiceLifecycle
import StratusMetrics
import Synchronization

/// Settings of `AlarmService`; times in ms.
public struct AlarmServiceSettings: Sendable, Equatable {
    /// Alarm rules are evaluated every interval, on the grid (`t % interval == offset`).
    public var evaluationInterval: Int64 = 10_000
    /// Where in each interval the round runs, so it sees the samples collected at the grid slot.
    public var evaluationOffset: Int64 = 2_000
    /// After its tick a round waits up to this long for the metric store's ingest lull (no sample
    /// appended for a moment: the slot's push burst is in), so that it reads a complete slot and
    /// does not take CPU from the burst's tail. 0 = no wait.
    public var ingestLullLimit: Int64 = 0
    /// While the metric store is behind its agents (`MetricStore.ingestIsBehind`: an ingest
    /// backlog), up to this many rounds in a row are skipped: their samples are late anyway, and
    /// a round over every series takes CPU the backlog needs. 0 = never skip.
    public var maxRoundsSkippedInBacklog: Int = 0
    /// The resource event log is read this often (and when poked).
    public var eventPollInterval: Int64 = 1_000
    /// Retries, max age, breakers, DingTalk pacing.
    public var delivery: DeliveryPolicy = .default
    /// Alarm history and Delivered / Failed outbox rows older than this are pruned (30 days).
    public var historyRetention: Int64 = 30 * 86_400_000
    /// How often pruning runs (the first run is at start).
    public var pruneInterval: Int64 = 3_600_000
    /// Rows of each kind deleted per transaction while pruning.
    public var pruneBatchSize: Int = 500

    public init() {}

    public static let `default` = AlarmServiceSettings()
}

/// Runs alarms inside `stratus serve`: evaluation rounds, event notifications and delivery.
///
/// - Every `evaluationInterval` (on the grid, at `evaluationOffset`, then after the metric store's
///   ingest lull, at most `ingestLullLimit` later) it loads the rules and the
///   active silences, evaluates them with `AlarmEvaluator` (seeded from the stored instance states;
///   VMs on disconnected hosts inhibited), commits the round atomically and pokes the dispatcher.
/// - `EventNotifier` reads the resource event log every `eventPollInterval`.
/// - `OutboxDispatcher` delivers the outbox.
/// - `AlarmPruner` deletes history and finished outbox rows older than `historyRetention`, at
///   start and then every `pruneInterval`, in batches of `pruneBatchSize`.
///
/// A graceful shutdown cancels the three loops; a round in flight either committed or did not, so
/// nothing is half-written. Each round is logged (`notice` when something changed, else `debug`).
public final class AlarmService: Service, Sendable {
    public let store: any AlarmStore
    public let dispatcher: OutboxDispatcher
    public let events: EventNotifier
    public let settings: AlarmServiceSettings
    private let metrics: any MetricStore
    private let clock: any WallClock
    private let logger: Logger
    private let evaluator = Mutex<AlarmEvaluator?>(nil)
    private let evaluationTimer = Wakeup()
    private let pruneTimer = Wakeup()
    private let skippedInBacklog = Atomic<Int>(0)
    /// Rounds skipped because the metric store was behind its agents (`maxRoundsSkippedInBacklog`).
    public var roundsSkippedInBacklog: Int { skippedInBacklog.load(ordering: .relaxed) }
    public let pruner: AlarmPruner

    public init(store: any AlarmStore, metrics: any MetricStore, inventory: any InventoryStore, sender: any NotificationSender,
                clock: any WallClock, settings: AlarmServiceSettings = .default,
                jitter: @escaping DeliveryJitter = systemDeliveryJitter, logger: Logger = Logger(label: "stratus.alarms")) {
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.settings = settings
        self.logger = logger
        dispatcher = OutboxDispatcher(store: store, sender: sender, clock: clock, policy: settings.delivery, jitter: jitter, logger: logger)
        events = EventNotifier(inventory: inventory, store: store, clock: clock, logger: logger)
        pruner = AlarmPruner(store: store, retention: settings.historyRetention, batchSize: settings.pruneBatchSize)
    }

    /// Enqueues a test notification for one endpoint and wakes the dispatcher; returns the outbox
    /// entry (its `id`, `status` and later `lastError` show how the delivery went — read it again
    /// with `AlarmStore.outbox(OutboxQuery(endpointUuid:))`).
    ///
    /// Throws `AlarmNotFoundError(kind: "endpoint")` for an unknown uuid and `AlarmValidationError`
    /// (field `endpoint`) for a disabled endpoint. Used by the endpoint page's "Send test
    /// notification" button and `POST /zstack/v1/sns/application-endpoints/{uuid}/test`.
    public func testEndpoint(uuid: String, requestedBy: String) async throws -> OutboxEntry {
        let endpoint = try await store.endpoint(uuid: uuid)
        guard endpoint.enabled else {
            throw AlarmValidationError(field: "endpoint", reason: "endpoint '\(endpoint.name)' is disabled; enable it to send a test notification")
        }
        let now = clock.now()
        let notice = Notice.test(TestNotice(endpointUuid: uuid, requestedBy: requestedBy, time: now))
        let entry = OutboxEntry(idempotencyKey: OutboxEntry.key(notice, endpointUuid: uuid), endpointUuid: uuid, topicUuid: nil,
                                notice: notice, nextAttemptAt: now, createdAt: now)
        try await store.enqueue([entry])
        dispatcher.poke()
        let stored = try await store.outbox(OutboxQuery(endpointUuid: uuid, limit: 20))
        return stored.first { $0.idempotencyKey == entry.idempotencyKey } ?? entry
    }

    /// Evaluates every rule once at `now`, commits the round and pokes the dispatcher when it
    /// queued notices. Rounds must not overlap.
    @discardableResult
    public func evaluateOnce(at now: Int64) async throws -> AlarmRoundCommit {
        let evaluator = try await loadEvaluator()
        let rules = try await store.alarms()
        let silences = try await store.silences(endingAfter: now)
        let suppression = AlarmSuppression(silences: silences, disconnectedHosts: events.disconnectedHosts)
        let store = self.store
        let commit = try await evaluator.round(rules, at: now, suppression: suppression) { try await store.commit($0) }
        if !commit.notices.isEmpty { dispatcher.poke() }
        let stats = await evaluator.lastRound
        let level: Logger.Level = commit.history.isEmpty && commit.notices.isEmpty ? .debug : .notice
        logger.log(level: level, "alarm round", metadata: [
            "at": "\(now)", "rules": "\(stats.rules)", "series": "\(stats.series)", "instances": "\(stats.instances)",
            "transitions": "\(stats.transitions)", "notices": "\(stats.notices)", "suppressed": "\(stats.suppressed)",
            "ms": "\(clock.now() - now)",
        ])
        return commit
    }

    /// Runs the evaluation loop, the event notifier and the dispatcher until graceful shutdown.
    public func run() async throws {
        try await events.seedHostStatuses()
        _ = try await loadEvaluator()
        let counts = try await store.outboxCounts()
        logger.info("alarms started", metadata: [
            "pending": "\(counts[.pending] ?? 0)", "failed": "\(counts[.failed] ?? 0)",
            "interval": "\(settings.evaluationInterval) ms", "maxAge": "\(settings.delivery.maxAge) ms",
        ])
        let dispatcher = self.dispatcher
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.evaluationLoop() }
                group.addTask { await self.events.run(interval: self.settings.eventPollInterval) { dispatcher.poke() } }
                group.addTask { await self.dispatcher.run() }
                group.addTask { await self.pruneLoop() }
            }
        }
        logger.info("alarms stopped")
    }

    private func evaluationLoop() async {
        let interval = max(1, settings.evaluationInterval)
        let offset = ((settings.evaluationOffset % interval) + interval) % interval
        var skipped = 0
        while !Task.isCancelled {
            let now = clock.now()
            var tick = (now - offset) / interval * interval + offset
            if tick <= now { tick += interval }
            // Through a Wakeup: it returns on cancellation whatever the clock does.
            do { try await evaluationTimer.wait(until: tick, clock: clock) } catch { return }
            if settings.ingestLullLimit > 0 { await metrics.ingestLull(limit: settings.ingestLullLimit) }
            if skipped < settings.maxRoundsSkippedInBacklog && metrics.ingestIsBehind {
                skipped += 1
                skippedInBacklog.add(1, ordering: .relaxed)
                logger.info("alarm round at \(tick) skipped: the metric store is behind its agents (\(skipped) in a row, at most \(settings.maxRoundsSkippedInBacklog))")
                continue
            }
            skipped = 0
            do {
                try await evaluateOnce(at: tick)
            } catch {
                if Task.isCancelled { return }
                logger.error("alarm round at \(tick) failed; the next round retries: \(error)")
            }
        }
    }

    /// Prunes at start, then every `pruneInterval` (measured from the previous run's start).
    private func pruneLoop() async {
        let interval = max(1, settings.pruneInterval)
        var next = clock.now()
        while !Task.isCancelled {
            do { try await pruneTimer.wait(until: next, clock: clock) } catch { return }
            let now = clock.now()
            next = now + interval
            do {
                let done = try await pruner.prune(now: now)
                if done.history + done.outbox > 0 {
                    logger.info("pruned alarm records", metadata: [
                        "history": "\(done.history)", "outbox": "\(done.outbox)",
                        "olderThan": "\(now - settings.historyRetention)",
                    ])
                }
            } catch {
                if Task.isCancelled { return }
                logger.error("pruning alarm history failed; retrying in \(interval) ms: \(error)")
            }
        }
    }

    private func loadEvaluator() async throws -> AlarmEvaluator {
        if let e = evaluator.withLock({ $0 }) { return e }
        let e = AlarmEvaluator(states: try await store.instanceStates(), metrics: metrics)
        return evaluator.withLock { slot in
            if let existing = slot { return existing }
            slot = e
            return e
        }
    }
}
