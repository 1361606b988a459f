/// Where a notification is on its way to one endpoint.
public enum DeliveryStatus: String, Codable, Sendable, CaseIterable {
    /// Not yet accepted by the endpoint; retried until delivered or too old.
    case pending = "Pending"
    case delivered = "Delivered"
    /// Given up: a permanent refusal, or still failing at the configured max age. `lastError` says why.
    case failed = "Failed"
}

/// One notification for one endpoint in the durable outbox (SQLite). Written in the same
/// transaction as the alarm transition or event cursor that caused it, so a crash cannot lose it;
/// delivered at least once, with `idempotencyKey` sent along so receivers can drop repeats.
public struct OutboxEntry: Codable, Sendable, Equatable {
    /// Assigned by the store on insert.
    public var id: Int64?
    /// `<notice.dedupKey>@<endpointUuid>`; unique in the outbox.
    public var idempotencyKey: String
    public var endpointUuid: String
    /// The topic it came through (nil for test notifications).
    public var topicUuid: String?
    public var notice: Notice
    public var status: DeliveryStatus
    public var attempts: Int
    /// Not tried again before this time (ms).
    public var nextAttemptAt: Int64
    public var createdAt: Int64
    public var lastAttemptAt: Int64?
    public var deliveredAt: Int64?
    public var lastError: String?

    public init(id: Int64? = nil, idempotencyKey: String, endpointUuid: String, topicUuid: String?, notice: Notice,
                status: DeliveryStatus = .pending, attempts: Int = 0, nextAttemptAt: Int64, createdAt: Int64,
                lastAttemptAt: Int64? = nil, deliveredAt: Int64? = nil, lastError: String? = nil) {
        self.id = id
        self.idempotencyKey = idempotencyKey
        self.endpointUuid = endpointUuid
        self.topicUuid = topicUuid
        self.notice = notice
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.lastAttemptAt = lastAttemptAt
        self.deliveredAt = deliveredAt
        self.lastError = lastError
    }

    public static func key(_ notice: Notice, endpointUuid: String) -> String { "\(notice.dedupKey)@\(endpointUuid)" }
}

/// Filters for listing the outbox; newest first.
public struct OutboxQuery: Sendable, Equatable {
    public var status: DeliveryStatus?
    public var endpointUuid: String?
    public var limit: Int
    public var offset: Int

    public init(status: DeliveryStatus? = nil, endpointUuid: String? = nil, limit: Int = 100, offset: Int = 0) {
        self.status = status
        self.endpointUuid = endpointUuid
        self.limit = limit
        self.offset = offset
    }
}

/// A notice and the topics it goes to; the store fans it out to every enabled endpoint subscribed
/// to an enabled topic (one outbox entry per endpoint, however many topics lead there).
public struct RoutedNotice: Sendable, Equatable {
    public var notice: Notice
    public var topicUuids: [String]

    public init(notice: Notice, topicUuids: [String]) {
        self.notice = notice
        self.topicUuids = topicUuids
    }
}

/// The outcome of one evaluation round (or one batch of resource events), committed atomically:
/// instance states, history rows, outbox entries and the event-log cursor together.
public struct AlarmRoundCommit: Sendable, Equatable {
    /// Instances whose state changed (inserted or replaced by (alarmUuid, instanceKey)).
    public var states: [AlarmInstanceState]
    /// Instances to forget (series gone, alarm deleted): (alarmUuid, instanceKey).
    public var removedInstances: [InstanceID]
    public var history: [AlarmHistoryEntry]
    public var notices: [RoutedNotice]
    /// The resource-event-log sequence consumed up to, when this commit covers events.
    public var eventCursor: Int64?
    /// Evaluation time (ms): outbox `createdAt` / `nextAttemptAt`.
    public var time: Int64

    public init(states: [AlarmInstanceState] = [], removedInstances: [InstanceID] = [], history: [AlarmHistoryEntry] = [],
                notices: [RoutedNotice] = [], eventCursor: Int64? = nil, time: Int64) {
        self.states = states
        self.removedInstances = removedInstances
        self.history = history
        self.notices = notices
        self.eventCursor = eventCursor
        self.time = time
    }

    public var isEmpty: Bool { states.isEmpty && removedInstances.isEmpty && history.isEmpty && notices.isEmpty && eventCursor == nil }
}

/// Identifies one alarm instance.
public struct InstanceID: Codable, Sendable, Hashable {
    public var alarmUuid: String
    public var instanceKey: String

    public init(alarmUuid: String, instanceKey: String) {
        self.alarmUuid = alarmUuid
        self.instanceKey = instanceKey
    }
}
