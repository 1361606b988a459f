import GRDB

/// One row of `agent_token`: the SHA-256 of a host's agent token.
struct AgentTokenRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "agent_token"
    var hostUuid: String
    var tokenHash: String
    var createDate: Int64
}

extension SQLiteInventoryStore: AgentTokenStore {
    public func registerAgentHost(_ host: Host, tokenHash: String, at: Int64) async throws -> Host {
        try Self.requireName(host.name)
        guard tokenHash.count == 64 else {
            throw ControlError.invalidArgument(field: "tokenHash", reason: "give the 64-hex-digit SHA-256 of the token")
        }
        return try await write { db in
            var stored: Host
            if let existing = try Host.filter(Column("hypervisorURI") == host.hypervisorURI).fetchOne(db) {
                stored = existing
                if stored.managementIp != host.managementIp || stored.cpuNum != host.cpuNum
                    || stored.totalMemoryCapacity != host.totalMemoryCapacity {
                    stored.managementIp = host.managementIp
                    stored.cpuNum = host.cpuNum
                    stored.totalMemoryCapacity = host.totalMemoryCapacity
                    stored.lastOpDate = at
                    try stored.update(db)
                }
            } else {
                guard try Cluster.fetchOne(db, key: host.clusterUuid) != nil else {
                    throw ControlError.notFound(resource: "cluster", id: host.clusterUuid)
                }
                stored = host
                stored.createDate = at
                stored.lastOpDate = at
                try stored.insert(db)
                try Self.log(db, at, "Host", stored.uuid, ResourceEvent.EventType.created, nil, stored.status)
            }
            try AgentTokenRecord.filter(Column("hostUuid") == stored.uuid).deleteAll(db)
            try AgentTokenRecord(hostUuid: stored.uuid, tokenHash: tokenHash, createDate: at).insert(db)
            return stored
        }
    }

    public func agentHost(tokenHash: String) async throws -> String? {
        try await read { db in try AgentTokenRecord.filter(Column("tokenHash") == tokenHash).fetchOne(db)?.hostUuid }
    }

    public func agentHostUuids() async throws -> [String] {
        try await read { db in try AgentTokenRecord.fetchAll(db).map(\.hostUuid) }
    }
}
