/// Durable home of everything alarms need: rules, topics, endpoints, subscriptions, silences,
/// instance states, history, the event-log cursor and the delivery outbox.
///
/// Contract (SQLite now): each call is one transaction; a failed call changes nothing; creating
/// validates and throws `AlarmValidationError` naming the field; lookups of unknown uuids throw
/// `AlarmNotFoundError`. `commit` is atomic, so a crash either keeps a round's transitions *and*
/// their outbox entries, or neither.
public protocol AlarmStore: Sendable {
    // MARK: Alarm rules
    /// Validates and stores a new rule (uuid assigned when empty). Unknown topic uuids in `actions` are rejected.
    func createAlarm(_ rule: AlarmRule, at: Int64) async throws -> AlarmRule
    /// Replaces a rule's definition (validated); drops its instances when namespace, metric, labels or type changed.
    func updateAlarm(_ rule: AlarmRule, at: Int64) async throws -> AlarmRule
    /// Deletes a rule and its instance states (history stays).
    func deleteAlarm(uuid: String) async throws
    func alarm(uuid: String) async throws -> AlarmRule
    func alarms() async throws -> [AlarmRule]

    // MARK: Topics, endpoints, subscriptions
    func createTopic(_ topic: SNSTopic, at: Int64) async throws -> SNSTopic
    func updateTopic(_ topic: SNSTopic) async throws -> SNSTopic
    /// Deletes a topic and its subscriptions; alarms keep the (now dangling) uuid out of `actions`.
    func deleteTopic(uuid: String) async throws
    func topic(uuid: String) async throws -> SNSTopic
    func topics() async throws -> [SNSTopic]
    func createEndpoint(_ endpoint: SNSEndpoint, at: Int64) async throws -> SNSEndpoint
    func updateEndpoint(_ endpoint: SNSEndpoint) async throws -> SNSEndpoint
    func deleteEndpoint(uuid: String) async throws
    func endpoint(uuid: String) async throws -> SNSEndpoint
    func endpoints() async throws -> [SNSEndpoint]
    /// Subscribes an endpoint to a topic (idempotent).
    func subscribe(endpointUuid: String, topicUuid: String) async throws
    func unsubscribe(endpointUuid: String, topicUuid: String) async throws
    /// Topic uuids the endpoint is subscribed to.
    func topics(ofEndpoint endpointUuid: String) async throws -> [String]
    /// Endpoint uuids subscribed to the topic.
    func endpoints(ofTopic topicUuid: String) async throws -> [String]

    // MARK: Event subscriptions
    func createEventSubscription(_ subscription: EventSubscription, at: Int64) async throws -> EventSubscription
    func updateEventSubscription(_ subscription: EventSubscription) async throws -> EventSubscription
    func deleteEventSubscription(uuid: String) async throws
    func eventSubscriptions() async throws -> [EventSubscription]

    // MARK: Silences
    func createSilence(_ silence: Silence, at: Int64) async throws -> Silence
    /// Ends a silence now (sets `endsAt = at`), keeping it for the record.
    func expireSilence(uuid: String, at: Int64) async throws
    /// All silences whose `endsAt` is after `since`, newest first.
    func silences(endingAfter since: Int64) async throws -> [Silence]

    // MARK: Evaluation
    /// Every stored instance state (loaded by the evaluator on start).
    func instanceStates() async throws -> [AlarmInstanceState]
    /// Commits one round atomically: states, removals, history, outbox fan-out (INSERT OR IGNORE
    /// by idempotency key), event cursor.
    func commit(_ round: AlarmRoundCommit) async throws
    /// The resource-event-log sequence consumed up to (0 before the first commit).
    func eventCursor() async throws -> Int64
    func history(_ query: AlarmHistoryQuery) async throws -> [AlarmHistoryEntry]

    // MARK: Outbox
    /// Adds entries directly (test notifications); duplicates by idempotency key are ignored.
    func enqueue(_ entries: [OutboxEntry]) async throws
    /// Pending entries with `nextAttemptAt <= now`, oldest first, at most `limit`.
    func dueDeliveries(now: Int64, limit: Int) async throws -> [OutboxEntry]
    /// The earliest `nextAttemptAt` of any pending entry (the dispatcher's next wake-up).
    func nextDueTime() async throws -> Int64?
    func markDelivered(ids: [Int64], at: Int64) async throws
    /// Records a failed attempt: `attempts += 1`, `lastError`, then either `nextAttemptAt` (still
    /// pending) or `failed` when `giveUp`.
    func markAttemptFailed(id: Int64, error: String, at: Int64, nextAttemptAt: Int64, giveUp: Bool) async throws
    /// Moves pending entries' next attempt to `until` without counting an attempt (nothing was
    /// sent, e.g. the endpoint's circuit breaker is open): `attempts` and `lastAttemptAt` stay,
    /// `lastError` becomes `reason`. Entries no longer pending and unknown ids are skipped.
    func postpone(ids: [Int64], until: Int64, reason: String) async throws
    /// Fails pending entries without counting an attempt (nothing was sent: the endpoint was
    /// deleted or disabled, or the entry reached its max age while the breaker was open).
    /// Entries no longer pending and unknown ids are skipped.
    func giveUp(ids: [Int64], reason: String, at: Int64) async throws
    /// Deletes at most `limit` alarm-history rows with `time < cutoff` and at most `limit`
    /// Delivered/Failed outbox rows last changed before `cutoff`, in one transaction. Pending rows
    /// are never deleted.
    func prune(before cutoff: Int64, limit: Int) async throws -> AlarmPruneCount
    func outbox(_ query: OutboxQuery) async throws -> [OutboxEntry]
    /// Counts by status (for the page and metrics).
    func outboxCounts() async throws -> [DeliveryStatus: Int]
}

/// What one `AlarmStore.prune` call deleted.
public struct AlarmPruneCount: Sendable, Equatable {
    public var history: Int
    public var outbox: Int

    public init(history: Int = 0, outbox: Int = 0) {
        self.history = history
        self.outbox = outbox
    }
}
