import Foundation
import GRDB

/// The embedded inventory: one SQLite file (WAL mode) through GRDB, migrated on open.
public final class SQLiteInventoryStore: InventoryStore {
    private let db: any DatabaseWriter

    /// Opens (creating and migrating) the database at `path`; `nil` opens a private in-memory one.
    public init(path: String?) throws {
        do {
            var config = Configuration()
            config.foreignKeysEnabled = true
            if let path {
                db = try DatabasePool(path: path, configuration: config)
            } else {
                db = try DatabaseQueue(configuration: config)
            }
            try InventoryMigrations.migrator.migrate(db)
        } catch let error as DatabaseError {
            throw ControlError.storage("cannot open \(path ?? ":memory:"): \(error.message ?? "\(error)")")
        }
    }

    /// Runs a write transaction, turning SQLite errors into `ControlError.storage`.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await db.write(body) } catch let e as DatabaseError {
            throw ControlError.storage(e.message ?? "\(e)")
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await db.read(body) } catch let e as DatabaseError {
            throw ControlError.storage(e.message ?? "\(e)")
        }
    }

    // MARK: Zones and clusters

    public func createZone(name: String, description: String, at: Int64) async throws -> Zone {
        try Self.requireName(name)
        let zone = Zone(uuid: ResourceUUID.make(), name: name, description: description, state: "Enabled",
                        createDate: at, lastOpDate: at)
        return try await write { db in
            if try Zone.filter(Column("name") == name).fetchOne(db) != nil {
                throw ControlError.alreadyExists(resource: "zone", id: name)
            }
            try zone.insert(db)
            try Self.log(db, at, "Zone", zone.uuid, "Created", nil, zone.name)
            return zone
        }
    }

    public func createCluster(name: String, zoneUuid: String, hypervisorType: String, at: Int64) async throws -> Cluster {
        try Self.requireName(name)
        let cluster = Cluster(uuid: ResourceUUID.make(), name: name, zoneUuid: zoneUuid, hypervisorType: hypervisorType,
                              state: "Enabled", createDate: at, lastOpDate: at)
        return try await write { db in
            guard try Zone.fetchOne(db, key: zoneUuid) != nil else {
                throw ControlError.notFound(resource: "zone", id: zoneUuid)
            }
            try cluster.insert(db)
            try Self.log(db, at, "Cluster", cluster.uuid, "Created", nil, cluster.name)
            return cluster
        }
    }

    public func zones() async throws -> [Zone] { try await read { try Zone.order(Column("createDate")).fetchAll($0) } }
    public func clusters() async throws -> [Cluster] { try await read { try Cluster.order(Column("createDate")).fetchAll($0) } }

    // MARK: Hosts

    public func addHost(_ host: Host, at: Int64) async throws -> Host {
        try Self.requireName(host.name)
        return try await write { db in
            let existing: Host? = if let uri = host.hypervisorURI {
                try Host.filter(Column("hypervisorURI") == uri).fetchOne(db)
            } else {
                try Host.filter(Column("hypervisorURI") == nil && Column("name") == host.name).fetchOne(db)
            }
            if let existing { return existing }
            guard try Cluster.fetchOne(db, key: host.clusterUuid) != nil else {
                throw ControlError.notFound(resource: "cluster", id: host.clusterUuid)
            }
            var h = host
            h.createDate = at
            h.lastOpDate = at
            try h.insert(db)
            try Self.log(db, at, "Host", h.uuid, "Created", nil, h.status)
            return h
        }
    }

    public func setHostStatus(uuid: String, status: String, at: Int64) async throws {
        try await write { db in
            guard var h = try Host.fetchOne(db, key: uuid) else { throw ControlError.notFound(resource: "host", id: uuid) }
            guard h.status != status else { return }
            let old = h.status
            h.status = status
            h.lastOpDate = at
            try h.update(db)
            try Self.log(db, at, "Host", uuid, ResourceEvent.EventType.hostStatusChanged, old, status)
            if status == "Disconnected" {
                try Self.log(db, at, "Host", uuid, ResourceEvent.EventType.hostDisconnected, old, status)
            }
        }
    }

    public func hosts(_ query: InventoryQuery) async throws -> QueryResult<Host> {
        let (page, all) = try query.apply(to: Host.order(Column("name")), resource: "hosts")
        return try await read { db in QueryResult(inventories: try page.fetchAll(db), total: try all.fetchCount(db)) }
    }

    public func host(uuid: String) async throws -> Host {
        guard let h = try await read({ try Host.fetchOne($0, key: uuid) }) else {
            throw ControlError.notFound(resource: "host", id: uuid)
        }
        return h
    }

    // MARK: VMs

    @discardableResult
    public func syncVMs(hostUuid: String, reported: [ReportedVM], at: Int64) async throws -> [ResourceEvent] {
        try await write { db in
            guard let host = try Host.fetchOne(db, key: hostUuid) else {
                throw ControlError.notFound(resource: "host", id: hostUuid)
            }
            var events: [ResourceEvent] = []
            for r in reported {
                if var vm = try VMInstance.fetchOne(db, key: r.uuid) {
                    // A record changed after this report was taken (a lifecycle event landed
                    // while the host was being listed) is newer than the report: keep it.
                    guard vm.lastOpDate <= at else { continue }
                    var changed = false
                    if vm.state != r.state {
                        events.append(try Self.log(db, at, "VmInstance", vm.uuid, ResourceEvent.EventType.vmStateChanged,
                                                    vm.state.rawValue, r.state.rawValue))
                        vm.state = r.state
                        changed = true
                    }
                    if vm.hostUuid != hostUuid {
                        events.append(try Self.log(db, at, "VmInstance", vm.uuid, ResourceEvent.EventType.hostChanged, vm.hostUuid, hostUuid))
                        vm.hostUuid = hostUuid
                        changed = true
                    }
                    if vm.name != r.name || vm.cpuNum != r.cpuNum || vm.memorySize != r.memorySize {
                        vm.name = r.name
                        vm.cpuNum = r.cpuNum
                        vm.memorySize = r.memorySize
                        changed = true
                    }
                    if changed {
                        vm.lastOpDate = at
                        try vm.update(db)
                    }
                } else {
                    let vm = VMInstance(uuid: r.uuid, name: r.name, zoneUuid: host.zoneUuid, clusterUuid: host.clusterUuid,
                                        hostUuid: hostUuid, hypervisorType: host.hypervisorType, state: r.state,
                                        cpuNum: r.cpuNum, memorySize: r.memorySize, createDate: at, lastOpDate: at)
                    try vm.insert(db)
                    events.append(try Self.log(db, at, "VmInstance", vm.uuid, "Created", nil, vm.state.rawValue))
                }
            }
            return events
        }
    }

    @discardableResult
    public func recordVMState(uuid: String, hostUuid: String, state: VMState, crashReason: String?,
                              at: Int64) async throws -> [ResourceEvent] {
        try await write { db in
            guard var vm = try VMInstance.fetchOne(db, key: uuid) else {
                throw ControlError.notFound(resource: "VM", id: uuid)
            }
            guard try Host.fetchOne(db, key: hostUuid) != nil else {
                throw ControlError.notFound(resource: "host", id: hostUuid)
            }
            var events: [ResourceEvent] = []
            let old = vm.state
            if old != state {
                events.append(try Self.log(db, at, "VmInstance", uuid, ResourceEvent.EventType.vmStateChanged, old.rawValue, state.rawValue))
                vm.state = state
            }
            if let crashReason {
                events.append(try Self.log(db, at, "VmInstance", uuid, ResourceEvent.EventType.vmCrash, old.rawValue, crashReason))
            }
            if vm.hostUuid != hostUuid {
                events.append(try Self.log(db, at, "VmInstance", uuid, ResourceEvent.EventType.hostChanged, vm.hostUuid, hostUuid))
                vm.hostUuid = hostUuid
            }
            if !events.isEmpty {
                vm.lastOpDate = max(vm.lastOpDate, at)
                try vm.update(db)
            }
            return events
        }
    }

    public func vms(_ query: InventoryQuery) async throws -> QueryResult<VMInstance> {
        let (page, all) = try query.apply(to: VMInstance.order(Column("name")), resource: "vm-instances")
        return try await read { db in QueryResult(inventories: try page.fetchAll(db), total: try all.fetchCount(db)) }
    }

    public func vm(uuid: String) async throws -> VMInstance {
        guard let vm = try await read({ try VMInstance.fetchOne($0, key: uuid) }) else {
            throw ControlError.notFound(resource: "VM", id: uuid)
        }
        return vm
    }

    // MARK: Event log

    public func events(after: Int64, limit: Int) async throws -> [ResourceEvent] {
        try await read { db in
            try ResourceEvent.filter(Column("sequence") > after).order(Column("sequence")).limit(limit).fetchAll(db)
        }
    }

    @discardableResult
    static func log(_ db: Database, _ at: Int64, _ type: String, _ uuid: String, _ event: String,
                    _ old: String?, _ new: String?) throws -> ResourceEvent {
        var e = ResourceEvent(time: at, resourceType: type, resourceUuid: uuid, eventType: event, oldValue: old, newValue: new)
        try e.insert(db)
        return e
    }

    static func requireName(_ name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 255 else {
            throw ControlError.invalidArgument(field: "name", reason: "give a name of 1 to 255 characters")
        }
    }
}
