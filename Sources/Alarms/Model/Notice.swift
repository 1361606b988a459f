/// What one notification says, before it is rendered for an endpoint. Stored in the outbox as JSON.
public enum Notice: Codable, Sendable, Equatable {
    case alarm(AlarmNotice)
    case event(EventNotice)
    /// The "send test notification" button of an endpoint.
    case test(TestNotice)
}

/// Why an alarm notification is sent.
public enum AlarmNoticeKind: String, Codable, Sendable {
    /// The instance entered `Alarm`.
    case firing = "Firing"
    /// Still in `Alarm` after `repeatInterval`.
    case repeating = "Repeat"
    /// Back to `OK` from `Alarm` (only with `enableRecovery`).
    case recovery = "Recovery"
}

/// A transition (or repeat) of an alarm instance, with everything the endpoints render.
public struct AlarmNotice: Codable, Sendable, Equatable {
    public var kind: AlarmNoticeKind
    public var alarmUuid: String
    public var alarmName: String
    public var namespace: String
    public var metricName: String
    public var threshold: Double
    public var comparisonOperator: ComparisonOperator
    public var currentValue: Double?
    public var instanceKey: String
    public var labels: [String: String]
    public var resourceId: String
    public var previousStatus: AlarmStatus
    public var currentStatus: AlarmStatus
    public var emergencyLevel: EmergencyLevel
    /// Evaluation time (ms).
    public var time: Int64
    /// Position in the episode (1 = firing, 2… = repeats; recovery keeps the last count).
    public var sequence: Int
    /// When the instance entered `Alarm` (ms): the start of the episode this notice belongs to —
    /// `time` for a firing, earlier for a repeat or a recovery. nil in notices queued by a version
    /// that did not record it (then `startsAt` falls back to `time`). Optional, so outbox JSON
    /// written before it existed still decodes.
    public var episodeStart: Int64?

    /// The episode start: `episodeStart`, else `time`.
    public var startsAt: Int64 { episodeStart ?? time }

    public init(kind: AlarmNoticeKind, alarmUuid: String, alarmName: String, namespace: String, metricName: String,
                threshold: Double, comparisonOperator: ComparisonOperator, currentValue: Double?, instanceKey: String,
                labels: [String: String], resourceId: String, previousStatus: AlarmStatus, currentStatus: AlarmStatus,
                emergencyLevel: EmergencyLevel, time: Int64, sequence: Int, episodeStart: Int64? = nil) {
        self.episodeStart = episodeStart
        self.kind = kind
        self.alarmUuid = alarmUuid
        self.alarmName = alarmName
        self.namespace = namespace
        self.metricName = metricName
        self.threshold = threshold
        self.comparisonOperator = comparisonOperator
        self.currentValue = currentValue
        self.instanceKey = instanceKey
        self.labels = labels
        self.resourceId = resourceId
        self.previousStatus = previousStatus
        self.currentStatus = currentStatus
        self.emergencyLevel = emergencyLevel
        self.time = time
        self.sequence = sequence
    }

    /// Stable across re-evaluation after a crash, so the outbox stores it once per endpoint.
    public var dedupKey: String { "alarm:\(alarmUuid):\(instanceKey):\(kind.rawValue):\(time)" }
}

/// A resource event matched by an event subscription.
public struct EventNotice: Codable, Sendable, Equatable {
    public var subscriptionUuid: String
    public var subscriptionName: String
    /// `ZStack/VM`, `ZStack/Host`.
    public var namespace: String
    public var eventName: String
    /// `VMUuid`/`HostUuid`, `OldState`, `NewState`, … as the subscription matched them.
    public var labels: [String: String]
    public var resourceId: String
    public var resourceType: String
    public var emergencyLevel: EmergencyLevel
    public var time: Int64
    /// The event's position in the resource event log.
    public var eventSequence: Int64

    public init(subscriptionUuid: String, subscriptionName: String, namespace: String, eventName: String,
                labels: [String: String], resourceId: String, resourceType: String, emergencyLevel: EmergencyLevel,
                time: Int64, eventSequence: Int64) {
        self.subscriptionUuid = subscriptionUuid
        self.subscriptionName = subscriptionName
        self.namespace = namespace
        self.eventName = eventName
        self.labels = labels
        self.resourceId = resourceId
        self.resourceType = resourceType
        self.emergencyLevel = emergencyLevel
        self.time = time
        self.eventSequence = eventSequence
    }

    public var dedupKey: String { "event:\(subscriptionUuid):\(eventSequence)" }
}

/// A test message an operator asked for from the endpoint page or API.
public struct TestNotice: Codable, Sendable, Equatable {
    public var endpointUuid: String
    public var requestedBy: String
    public var time: Int64

    public init(endpointUuid: String, requestedBy: String, time: Int64) {
        self.endpointUuid = endpointUuid
        self.requestedBy = requestedBy
        self.time = time
    }

    public var dedupKey: String { "test:\(endpointUuid):\(time)" }
}

extension Notice {
    /// The endpoint-independent part of the idempotency key; the outbox appends the endpoint uuid.
    public var dedupKey: String {
        switch self {
        case let .alarm(a): a.dedupKey
        case let .event(e): e.dedupKey
        case let .test(t): t.dedupKey
        }
    }

    public var time: Int64 {
        switch self {
        case let .alarm(a): a.time
        case let .event(e): e.time
        case let .test(t): t.time
        }
    }
}
