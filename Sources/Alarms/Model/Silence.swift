/// Mutes notifications whose labels match all `matchers` between `startsAt` and `endsAt`
/// (Alertmanager's silence). Matchers see the instance labels plus `alarmUuid`, `alarmName`,
/// `namespace`, `metricName`, `emergencyLevel` (and `eventName` for events). A silenced transition
/// is still recorded in history, with `suppressedBy = "silence:<uuid>"`.
public struct Silence: Codable, Sendable, Equatable, Identifiable {
    public var uuid: String
    public var matchers: [AlarmLabel]
    public var startsAt: Int64
    public var endsAt: Int64
    public var comment: String
    public var createdBy: String
    public var createDate: Int64

    public var id: String { uuid }

    public init(uuid: String, matchers: [AlarmLabel], startsAt: Int64, endsAt: Int64, comment: String = "",
                createdBy: String = "", createDate: Int64 = 0) {
        self.uuid = uuid
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.comment = comment
        self.createdBy = createdBy
        self.createDate = createDate
    }

    /// Active at `time`: `startsAt <= time < endsAt`.
    public func isActive(at time: Int64) -> Bool { startsAt <= time && time < endsAt }
}

/// Routes resource events (`VMStateChanged`, `HostDisconnected`, `VmCrash`, …) whose labels match
/// to SNS topics (ZStack's event subscription).
public struct EventSubscription: Codable, Sendable, Equatable, Identifiable {
    public var uuid: String
    public var name: String
    /// `ZStack/VM`, `ZStack/Host`.
    public var namespace: String
    /// A `ResourceEvent.EventType` name.
    public var eventName: String
    public var labels: [AlarmLabel]
    public var actions: [String]
    public var emergencyLevel: EmergencyLevel
    public var enabled: Bool
    public var createDate: Int64

    public var id: String { uuid }

    public init(uuid: String, name: String, namespace: String, eventName: String, labels: [AlarmLabel] = [],
                actions: [String] = [], emergencyLevel: EmergencyLevel = .important, enabled: Bool = true, createDate: Int64 = 0) {
        self.uuid = uuid
        self.name = name
        self.namespace = namespace
        self.eventName = eventName
        self.labels = labels
        self.actions = actions
        self.emergencyLevel = emergencyLevel
        self.enabled = enabled
        self.createDate = createDate
    }
}
