import GRDB

/// The inventory schema, as versioned migrations. Never edit a registered migration: add a new one.
enum InventoryMigrations {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: zones, clusters, hosts, vms, event log") { db in
            try db.create(table: "zone") { t in
                t.primaryKey("uuid", .text)
                t.column("name", .text).notNull().unique()
                t.column("description", .text).notNull().defaults(to: "")
                t.column("state", .text).notNull()
                t.column("createDate", .integer).notNull()
                t.column("lastOpDate", .integer).notNull()
            }
            try db.create(table: "cluster") { t in
                t.primaryKey("uuid", .text)
                t.column("name", .text).notNull()
                t.column("zoneUuid", .text).notNull().references("zone", onDelete: .restrict)
                t.column("hypervisorType", .text).notNull()
                t.column("state", .text).notNull()
                t.column("createDate", .integer).notNull()
                t.column("lastOpDate", .integer).notNull()
            }
            try db.create(table: "host") { t in
                t.primaryKey("uuid", .text)
                t.column("name", .text).notNull()
                t.column("zoneUuid", .text).notNull().references("zone", onDelete: .restrict)
                t.column("clusterUuid", .text).notNull().references("cluster", onDelete: .restrict)
                t.column("managementIp", .text).notNull()
                t.column("hypervisorType", .text).notNull()
                t.column("hypervisorURI", .text).unique()
                t.column("state", .text).notNull()
                t.column("status", .text).notNull()
                t.column("cpuNum", .integer).notNull()
                t.column("totalMemoryCapacity", .integer).notNull()
                t.column("createDate", .integer).notNull()
                t.column("lastOpDate", .integer).notNull()
            }
            try db.create(table: "vm_instance") { t in
                t.primaryKey("uuid", .text)
                t.column("name", .text).notNull()
                t.column("zoneUuid", .text).notNull().references("zone", onDelete: .restrict)
                t.column("clusterUuid", .text).notNull().references("cluster", onDelete: .restrict)
                t.column("hostUuid", .text).indexed().references("host", onDelete: .setNull)
                t.column("hypervisorType", .text).notNull()
                t.column("state", .text).notNull()
                t.column("cpuNum", .integer).notNull()
                t.column("memorySize", .integer).notNull()
                t.column("createDate", .integer).notNull()
                t.column("lastOpDate", .integer).notNull()
            }
            try db.create(table: "resource_event") { t in
                t.autoIncrementedPrimaryKey("sequence")
                t.column("time", .integer).notNull()
                t.column("resourceType", .text).notNull()
                t.column("resourceUuid", .text).notNull().indexed()
                t.column("eventType", .text).notNull()
                t.column("oldValue", .text)
                t.column("newValue", .text)
            }
            // The log is append-only: the database itself refuses edits and deletions.
            try db.execute(sql: """
                CREATE TRIGGER resource_event_no_update BEFORE UPDATE ON resource_event
                BEGIN SELECT RAISE(ABORT, 'resource_event is append-only'); END;
                CREATE TRIGGER resource_event_no_delete BEFORE DELETE ON resource_event
                BEGIN SELECT RAISE(ABORT, 'resource_event is append-only'); END;
                """)
        }
        m.registerMigration("v2: accounts and sessions") { db in
            try db.create(table: "account") { t in
                t.primaryKey("uuid", .text)
                t.column("name", .text).notNull().unique()
                t.column("passwordHash", .text).notNull()
                t.column("type", .text).notNull()
                t.column("createDate", .integer).notNull()
                t.column("lastOpDate", .integer).notNull()
            }
            try db.create(table: "session") { t in
                t.primaryKey("uuid", .text)
                t.column("accountUuid", .text).notNull().indexed().references("account", onDelete: .cascade)
                t.column("createDate", .integer).notNull()
                t.column("expiredDate", .integer).notNull()
            }
        }
        m.registerMigration("v3: agent tokens") { db in
            // Only the SHA-256 of each token; one token per host (registering again replaces it).
            try db.create(table: "agent_token") { t in
                t.primaryKey("hostUuid", .text).references("host", onDelete: .cascade)
                t.column("tokenHash", .text).notNull().unique()
                t.column("createDate", .integer).notNull()
            }
        }
        return m
    }
}
