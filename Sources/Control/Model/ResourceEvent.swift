import GRDB

/// One entry of the durable, append-only resource event log. Every state change of a resource is
/// written in the same transaction as the change itself, so consumers (billing, alarms) that read
/// the log in `sequence` order see every change exactly once and in order.
public struct ResourceEvent: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "resource_event"

    /// Monotonic, gap-free position in the log (SQLite rowid); assigned on insert.
    public var sequence: Int64?
    /// Milliseconds since the epoch.
    public var time: Int64
    /// `Zone`, `Cluster`, `Host`, `VmInstance`.
    public var resourceType: String
    public var resourceUuid: String
    /// One of the `ResourceEvent.EventType` names: `Created`, `VMStateChanged`, `VmCrash`,
    /// `HostChanged`, `HostStatusChanged`, `HostDisconnected`, `Deleted`.
    public var eventType: String
    /// JSON or plain text of the previous value (nil on creation).
    public var oldValue: String?
    /// JSON or plain text of the new value (nil on deletion).
    public var newValue: String?

    public init(time: Int64, resourceType: String, resourceUuid: String, eventType: String,
                oldValue: String?, newValue: String?) {
        self.time = time
        self.resourceType = resourceType
        self.resourceUuid = resourceUuid
        self.eventType = eventType
        self.oldValue = oldValue
        self.newValue = newValue
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        sequence = inserted.rowID
    }
}

extension ResourceEvent {
    /// The event types the inventory writes, with what `oldValue` / `newValue` hold.
    public enum EventType {
        /// A resource was created; new = its state (VM) or status (host) or name.
        public static let created = "Created"
        /// A VM's state changed; old/new = ZStack state names (`Running`, `Paused`, `Stopped`, …).
        public static let vmStateChanged = "VMStateChanged"
        /// A VM crashed (libvirt reported a crash, or a stop with reason crashed); old = the state
        /// before, new = libvirt's reason (`crashed`, `panicked`, `crashloaded`). Written beside
        /// the `VMStateChanged` of the same change.
        public static let vmCrash = "VmCrash"
        /// A VM is now on another host; old/new = host uuids.
        public static let hostChanged = "HostChanged"
        /// A host's connection status changed; old/new = `Connecting` / `Connected` / `Disconnected`.
        public static let hostStatusChanged = "HostStatusChanged"
        /// A host became Disconnected; old = the status before, new = `Disconnected`. Written in the
        /// same transaction as its `HostStatusChanged`.
        public static let hostDisconnected = "HostDisconnected"
    }
}
