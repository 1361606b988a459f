import GRDB

/// A zone: the top of the resource tree (ZStack's ZoneInventory).
public struct Zone: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "zone"
    public var uuid: String
    public var name: String
    public var description: String
    public var state: String
    public var createDate: Int64
    public var lastOpDate: Int64
}

/// A cluster of hosts of one hypervisor type inside a zone (ZStack's ClusterInventory).
public struct Cluster: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "cluster"
    public var uuid: String
    public var name: String
    public var zoneUuid: String
    public var hypervisorType: String
    public var state: String
    public var createDate: Int64
    public var lastOpDate: Int64
}

/// A physical host (ZStack's HostInventory). `hypervisorURI` is the libvirt URI Stratus connects
/// to; it is nil for a host whose only source is its own /proc (the management node itself).
public struct Host: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "host"
    public var uuid: String
    public var name: String
    public var zoneUuid: String
    public var clusterUuid: String
    public var managementIp: String
    public var hypervisorType: String
    public var hypervisorURI: String?
    /// Admin state: Enabled / Disabled / Maintenance.
    public var state: String
    /// Connection status: Connecting / Connected / Disconnected.
    public var status: String
    public var cpuNum: Int
    public var totalMemoryCapacity: Int64
    public var createDate: Int64
    public var lastOpDate: Int64
}

/// A virtual machine (ZStack's VmInstanceInventory, the fields the foundation needs).
public struct VMInstance: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "vm_instance"
    public var uuid: String
    public var name: String
    public var zoneUuid: String
    public var clusterUuid: String
    public var hostUuid: String?
    public var hypervisorType: String
    public var state: VMState
    public var cpuNum: Int
    /// Bytes.
    public var memorySize: Int64
    public var createDate: Int64
    public var lastOpDate: Int64
}

/// ZStack's VM states.
public enum VMState: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case starting = "Starting"
    case running = "Running"
    case stopping = "Stopping"
    case stopped = "Stopped"
    case paused = "Paused"
    case crashed = "Crashed"
    case unknown = "Unknown"
}

extension Host {
    /// A host record; `createDate`/`lastOpDate` are set by the store when it is added.
    public init(uuid: String = ResourceUUID.make(), name: String, zoneUuid: String, clusterUuid: String,
                managementIp: String, hypervisorType: String, hypervisorURI: String?, state: String = "Enabled",
                status: String = "Connected", cpuNum: Int, totalMemoryCapacity: Int64) {
        self.init(uuid: uuid, name: name, zoneUuid: zoneUuid, clusterUuid: clusterUuid, managementIp: managementIp,
                  hypervisorType: hypervisorType, hypervisorURI: hypervisorURI, state: state, status: status,
                  cpuNum: cpuNum, totalMemoryCapacity: totalMemoryCapacity, createDate: 0, lastOpDate: 0)
    }
}
