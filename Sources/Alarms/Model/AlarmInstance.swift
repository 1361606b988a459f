/// The persisted state of one alarm instance: an `Any` alarm has one per matching series (its
/// `instanceKey` is the series' canonical labels without the metric name, e.g.
/// `VMUuid=3f…`); an `Average` alarm has exactly one, with key `""`.
public struct AlarmInstanceState: Codable, Sendable, Equatable {
    public var alarmUuid: String
    public var instanceKey: String
    /// The series labels (without `__name__`); empty for `Average`.
    public var labels: [String: String]
    public var status: AlarmStatus
    /// When `status` was entered (ms).
    public var since: Int64
    /// The last value evaluated (the newest sample, or the average for `Average`).
    public var lastValue: Double?
    /// When the last notification of this `Alarm` episode was emitted (ms), nil if none.
    public var lastNotifiedAt: Int64?
    /// Notifications emitted in this `Alarm` episode: 1 after firing, +1 per repeat; 0 outside `Alarm`.
    public var notificationCount: Int

    public init(alarmUuid: String, instanceKey: String, labels: [String: String], status: AlarmStatus, since: Int64,
                lastValue: Double? = nil, lastNotifiedAt: Int64? = nil, notificationCount: Int = 0) {
        self.alarmUuid = alarmUuid
        self.instanceKey = instanceKey
        self.labels = labels
        self.status = status
        self.since = since
        self.lastValue = lastValue
        self.lastNotifiedAt = lastNotifiedAt
        self.notificationCount = notificationCount
    }

    /// The resource the instance is about: `VMUuid`, then `HostUuid`, then any label ending in
    /// `Uuid`, else the key itself.
    public var resourceId: String {
        if let v = labels["VMUuid"] { return v }
        if let v = labels["HostUuid"] { return v }
        if let k = labels.keys.sorted().first(where: { $0.hasSuffix("Uuid") }) { return labels[k]! }
        return instanceKey
    }
}

/// One transition of an alarm instance, as alarm history keeps it.
public struct AlarmHistoryEntry: Codable, Sendable, Equatable {
    /// Assigned by the store on insert.
    public var id: Int64?
    public var alarmUuid: String
    public var alarmName: String
    public var instanceKey: String
    public var labels: [String: String]
    public var resourceId: String
    public var previousStatus: AlarmStatus
    public var currentStatus: AlarmStatus
    public var value: Double?
    public var threshold: Double
    public var emergencyLevel: EmergencyLevel
    public var time: Int64
    /// Whether a notification was enqueued for this transition.
    public var notified: Bool
    /// Why it was not notified although it would have been: `silence:<uuid>` or
    /// `inhibited:HostDisconnected:<hostUuid>`; nil otherwise.
    public var suppressedBy: String?

    public init(id: Int64? = nil, alarmUuid: String, alarmName: String, instanceKey: String, labels: [String: String],
                resourceId: String, previousStatus: AlarmStatus, currentStatus: AlarmStatus, value: Double?,
                threshold: Double, emergencyLevel: EmergencyLevel, time: Int64, notified: Bool, suppressedBy: String? = nil) {
        self.id = id
        self.alarmUuid = alarmUuid
        self.alarmName = alarmName
        self.instanceKey = instanceKey
        self.labels = labels
        self.resourceId = resourceId
        self.previousStatus = previousStatus
        self.currentStatus = currentStatus
        self.value = value
        self.threshold = threshold
        self.emergencyLevel = emergencyLevel
        self.time = time
        self.notified = notified
        self.suppressedBy = suppressedBy
    }
}

/// Filters for the alarm history query; nil fields do not filter. Newest first.
public struct AlarmHistoryQuery: Sendable, Equatable {
    public var alarmUuid: String?
    public var resourceId: String?
    public var status: AlarmStatus?
    public var from: Int64?
    public var to: Int64?
    public var limit: Int
    public var offset: Int

    public init(alarmUuid: String? = nil, resourceId: String? = nil, status: AlarmStatus? = nil,
                from: Int64? = nil, to: Int64? = nil, limit: Int = 100, offset: Int = 0) {
        self.alarmUuid = alarmUuid
        self.resourceId = resourceId
        self.status = status
        self.from = from
        self.to = to
        self.limit = limit
        self.offset = offset
    }
}
