/// The ZWatch metrics Stratus knows by name (the catalog in /work/shared/METRICS.md): namespace,
/// metric, unit and label names, for `GET /zwatch/metrics/meta-data`.
public enum ZWatchCatalog {
    /// One known metric.
    public struct Metric: Sendable, Equatable {
        public var namespace: String
        public var name: String
        /// The unit, in words (`%`, `B/s`, …).
        public var description: String
        public var labelNames: [String]
    }

    /// Every known metric, by namespace then name.
    public static let metrics: [Metric] = {
        var all: [Metric] = []
        func add(_ ns: String, _ labels: [String], _ unit: String, _ names: String, device: String? = nil) {
            for n in names.split(separator: " ") {
                all.append(Metric(namespace: ns, name: String(n), description: unit,
                                  labelNames: (labels + (device.map { [$0] } ?? [])).sorted()))
            }
        }
        for ns in ["ZStack/VM", "ZStack/VRouter"] {
            let l = ns == "ZStack/VM" ? ["VMUuid", "HostUuid"] : ["VRouterUuid", "HostUuid"]
            add(ns, l, "% of one vCPU", "CPUUsedUtilization CPUIdleUtilization", device: "CPUNum")
            add(ns, l, "%", "CPUAverageUsedUtilization CPUAllUsedUtilization CPUAllIdleUtilization MemoryUsedInPercent MemoryFreeInPercent")
            add(ns, l, "B", "MemoryUsedBytes MemoryFreeBytes")
            add(ns, l, "per s", "DiskReadOps DiskWriteOps DiskReadBytes DiskWriteBytes", device: "DiskDeviceLetter")
            add(ns, l, "per s", "DiskAllReadOps DiskAllWriteOps DiskAllReadBytes DiskAllWriteBytes")
            add(ns, l, "per s", "NetworkInBytes NetworkOutBytes NetworkInPackets NetworkOutPackets NetworkInErrors NetworkOutErrors NetworkInDroppedBytes NetworkOutDroppedBytes", device: "NetworkDeviceLetter")
            add(ns, l, "per s", "NetworkAllInBytes NetworkAllOutBytes NetworkAllInPackets NetworkAllOutPackets")
        }
        let h = ["HostUuid"]
        add("ZStack/Host", h, "%", "CPUUsedUtilization CPUIdleUtilization", device: "CPUNum")
        add("ZStack/Host", h, "%", "CPUAverageUsedUtilization CPUAllUsedUtilization CPUAllIdleUtilization CPUUserUtilization CPUSystemUtilization CPUWaitUtilization MemoryUsedInPercent MemoryFreeInPercent")
        add("ZStack/Host", h, "B", "MemoryUsedBytes MemoryFreeBytes")
        add("ZStack/Host", h, "per s", "DiskReadOps DiskWriteOps DiskReadBytes DiskWriteBytes", device: "DiskDeviceLetter")
        add("ZStack/Host", h, "per s", "DiskAllReadOps DiskAllWriteOps DiskAllReadBytes DiskAllWriteBytes")
        add("ZStack/Host", h, "B, %", "DiskUsedCapacityInBytes DiskUsedCapacityInPercent DiskFreeCapacityInBytes", device: "MountPoint")
        add("ZStack/Host", h, "per s", "NetworkInBytes NetworkOutBytes NetworkInPackets NetworkOutPackets NetworkInErrors NetworkOutErrors", device: "NetworkDeviceLetter")
        add("ZStack/Host", h, "per s", "NetworkAllInBytes NetworkAllOutBytes NetworkAllInPackets NetworkAllOutPackets")
        add("ZStack/Host", h, "load", "LoadAverage1 LoadAverage5 LoadAverage15")
        add("ZStack/Host", h, "count", "VMCount RunningVMCount")
        add("ZStack/L3Network", ["L3NetworkUuid"], "count, %", "UsedIPCount UsedIPInPercent AvailableIPCount AvailableIPInPercent")
        add("ZStack/VIP", ["VipUuid"], "B, packets", "VIPInBoundTrafficInBytes VIPOutBoundTrafficInBytes VIPInBoundTrafficInPackages VIPOutBoundTrafficInPackages")
        add("ZStack/BackupStorage", ["BackupStorageUuid"], "B, %", "AvailableCapacityInBytes AvailableCapacityInPercent TotalCapacityInBytes")
        add("ZStack/PrimaryStorage", ["PrimaryStorageUuid"], "B, %", "AvailableCapacityInBytes AvailableCapacityInPercent UsedCapacityInBytes UsedCapacityInPercent")
        return all.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }()

    /// The catalog entry for a metric, or nil when it is not a known one.
    public static func metric(namespace: String, name: String) -> Metric? {
        metrics.first { $0.namespace == namespace && $0.name == name }
    }
}
