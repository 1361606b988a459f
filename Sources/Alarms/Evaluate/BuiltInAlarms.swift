/// The alarm templates Stratus turns on by default (issue 5): VM and host CPU average utilization,
/// memory used and host disk used >= 80 % for 300 s, repeated every 1800 s without limit, recovery
/// notified, `Important`, type `Any` (one instance per VM / host / mount point), enabled, with no
/// topics: they show in the firing-alarms page and history at once and notify as soon as the
/// operator adds a topic to `actions`.
///
/// There is no VM disk-used template: METRICS.md has no guest filesystem metric for `ZStack/VM`
/// (libvirt reports block I/O, not how full the guest's filesystems are), so "disk used" is covered
/// for hosts (`DiskUsedCapacityInPercent`, per `MountPoint`) only.
///
/// The uuids are fixed, so the same template keeps its identity (history, instance states) across
/// restarts and installations.
public enum BuiltInAlarms {
    /// 32 hex digits, as ZStack uuids; the last four number the template.
    static func uuid(_ n: Int) -> String {
        let suffix = String(n, radix: 16)
        return "5a1a7a1a" + String(repeating: "0", count: 24 - suffix.count) + suffix
    }

    public static let vmCPUUuid = uuid(1)
    public static let vmMemoryUuid = uuid(2)
    public static let hostCPUUuid = uuid(3)
    public static let hostMemoryUuid = uuid(4)
    public static let hostDiskUuid = uuid(5)

    /// The templates, as created on a brand-new store at time `at`.
    public static func templates(at: Int64 = 0) -> [AlarmRule] {
        func rule(_ uuid: String, _ name: String, _ namespace: String, _ metric: String, _ description: String) -> AlarmRule {
            AlarmRule(uuid: uuid, name: name, description: description, namespace: namespace, metricName: metric,
                      comparisonOperator: .greaterThanOrEqualTo, threshold: 80, period: 300, type: .any,
                      repeatInterval: 1800, repeatCount: -1, enableRecovery: true, emergencyLevel: .important,
                      actions: [], enabled: true, builtIn: true, createDate: at, lastOpDate: at)
        }
        return [
            rule(vmCPUUuid, "VM CPU utilization high", "ZStack/VM", "CPUAverageUsedUtilization",
                 "Built-in: a VM's average vCPU utilization has been at or above 80 % for 5 minutes."),
            rule(vmMemoryUuid, "VM memory used high", "ZStack/VM", "MemoryUsedInPercent",
                 "Built-in: a VM's memory use has been at or above 80 % for 5 minutes."),
            rule(hostCPUUuid, "Host CPU utilization high", "ZStack/Host", "CPUAverageUsedUtilization",
                 "Built-in: a host's average CPU utilization has been at or above 80 % for 5 minutes."),
            rule(hostMemoryUuid, "Host memory used high", "ZStack/Host", "MemoryUsedInPercent",
                 "Built-in: a host's memory use has been at or above 80 % for 5 minutes."),
            rule(hostDiskUuid, "Host disk used high", "ZStack/Host", "DiskUsedCapacityInPercent",
                 "Built-in: a host file system (per mount point) has been at least 80 % full for 5 minutes."),
        ]
    }

    /// Creates the templates on a brand-new store and returns the rules created (empty otherwise).
    ///
    /// "Brand-new" means nothing has happened in the store yet: no alarm, no topic, no endpoint, no
    /// history row, and an event cursor of 0. So the templates appear on first start, and a template
    /// an operator deleted (or disabled) stays deleted (disabled) across restarts: the store has no
    /// tombstones to tell "deleted" from "never created", and re-creating an alarm an operator
    /// removed would be worse than not re-creating one. Idempotent: a second call creates nothing.
    /// Should the process die between two creations, the next start sees a non-empty store and
    /// leaves the rest uncreated (the operator can re-create them from `templates()`).
    @discardableResult
    public static func ensure(in store: any AlarmStore, at: Int64) async throws -> [AlarmRule] {
        guard try await isBrandNew(store) else { return [] }
        var created: [AlarmRule] = []
        let existing = Set(try await store.alarms().map(\.uuid))
        for t in templates(at: at) where !existing.contains(t.uuid) {
            created.append(try await store.createAlarm(t, at: at))
        }
        return created
    }

    static func isBrandNew(_ store: any AlarmStore) async throws -> Bool {
        guard try await store.alarms().isEmpty else { return false }
        guard try await store.topics().isEmpty, try await store.endpoints().isEmpty else { return false }
        guard try await store.eventCursor() == 0 else { return false }
        return try await store.history(AlarmHistoryQuery(limit: 1)).isEmpty
    }
}
