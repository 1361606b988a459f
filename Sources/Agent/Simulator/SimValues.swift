/// One running VM's values for one round (percentages, bytes, rates per second).
public struct SimVMValues: Sendable, Equatable {
    /// Per-vCPU used % (first `cpuNum` lanes).
    public var vcpu = SIMD4<Double>()
    public var cpuAverage = 0.0
    public var cpuAll = 0.0
    public var memoryUsedBytes = 0.0
    public var memoryUsedPercent = 0.0
    public var memoryFreeBytes = 0.0
    public var memoryFreePercent = 0.0
    /// Per disk (vda, vdb), per second.
    public var diskReadOps = SIMD2<Double>()
    public var diskWriteOps = SIMD2<Double>()
    public var diskReadBytes = SIMD2<Double>()
    public var diskWriteBytes = SIMD2<Double>()
    /// The one NIC, per second.
    public var netInBytes = 0.0
    public var netOutBytes = 0.0
    public var netInPackets = 0.0
    public var netOutPackets = 0.0
    public var netInErrors = 0.0
    public var netOutErrors = 0.0
    public var netInDropped = 0.0
    public var netOutDropped = 0.0

    public init() {}
}

/// One host's values for one round.
public struct SimHostValues: Sendable, Equatable {
    public var cpu = SIMD8<Double>()
    public var cpuAverage = 0.0
    public var cpuAll = 0.0
    public var cpuUser = 0.0
    public var cpuSystem = 0.0
    public var cpuWait = 0.0
    public var memoryUsedBytes = 0.0
    public var memoryUsedPercent = 0.0
    public var memoryFreeBytes = 0.0
    public var memoryFreePercent = 0.0
    public var diskReadOps = SIMD2<Double>()
    public var diskWriteOps = SIMD2<Double>()
    public var diskReadBytes = SIMD2<Double>()
    public var diskWriteBytes = SIMD2<Double>()
    public var mountUsedBytes = SIMD2<Double>()
    public var mountUsedPercent = SIMD2<Double>()
    public var mountFreeBytes = SIMD2<Double>()
    public var nicInBytes = SIMD2<Double>()
    public var nicOutBytes = SIMD2<Double>()
    public var nicInPackets = SIMD2<Double>()
    public var nicOutPackets = SIMD2<Double>()
    public var nicInErrors = SIMD2<Double>()
    public var nicOutErrors = SIMD2<Double>()
    /// LoadAverage1, 5, 15.
    public var load = SIMD3<Double>()
    public var vmCount = 0.0
    public var runningVMCount = 0.0

    public init() {}
}

extension SimValueModel {
    /// Emits a VM's whole ZStack/VM catalog in a fixed order (the series table uses the same order).
    static func emitVM(_ vm: SimVMSpec, _ v: SimVMValues, into s: inout some SimSink) {
        for c in 0..<vm.cpuNum {
            s.put("CPUUsedUtilization", .cpu(c), v.vcpu[c])
            s.put("CPUIdleUtilization", .cpu(c), r2(100 - v.vcpu[c]))
        }
        s.put("CPUAverageUsedUtilization", .none, v.cpuAverage)
        s.put("CPUAllUsedUtilization", .none, v.cpuAll)
        s.put("CPUAllIdleUtilization", .none, r2(100 - v.cpuAll))
        s.put("MemoryUsedBytes", .none, v.memoryUsedBytes)
        s.put("MemoryUsedInPercent", .none, v.memoryUsedPercent)
        s.put("MemoryFreeBytes", .none, v.memoryFreeBytes)
        s.put("MemoryFreeInPercent", .none, v.memoryFreePercent)
        for d in 0..<vm.disks {
            s.put("DiskReadOps", .vmDisk(d), v.diskReadOps[d])
            s.put("DiskWriteOps", .vmDisk(d), v.diskWriteOps[d])
            s.put("DiskReadBytes", .vmDisk(d), v.diskReadBytes[d])
            s.put("DiskWriteBytes", .vmDisk(d), v.diskWriteBytes[d])
        }
        s.put("DiskAllReadOps", .none, r3(v.diskReadOps.sum()))
        s.put("DiskAllWriteOps", .none, r3(v.diskWriteOps.sum()))
        s.put("DiskAllReadBytes", .none, r3(v.diskReadBytes.sum()))
        s.put("DiskAllWriteBytes", .none, r3(v.diskWriteBytes.sum()))
        s.put("NetworkInBytes", .vmNIC, v.netInBytes)
        s.put("NetworkOutBytes", .vmNIC, v.netOutBytes)
        s.put("NetworkInPackets", .vmNIC, v.netInPackets)
        s.put("NetworkOutPackets", .vmNIC, v.netOutPackets)
        s.put("NetworkInErrors", .vmNIC, v.netInErrors)
        s.put("NetworkOutErrors", .vmNIC, v.netOutErrors)
        s.put("NetworkInDroppedBytes", .vmNIC, v.netInDropped)
        s.put("NetworkOutDroppedBytes", .vmNIC, v.netOutDropped)
        s.put("NetworkAllInBytes", .none, v.netInBytes)
        s.put("NetworkAllOutBytes", .none, v.netOutBytes)
        s.put("NetworkAllInPackets", .none, v.netInPackets)
        s.put("NetworkAllOutPackets", .none, v.netOutPackets)
    }

    /// Emits a host's whole ZStack/Host catalog in a fixed order.
    static func emitHost(_ v: SimHostValues, into s: inout some SimSink) {
        for c in 0..<SimHostSpec.cpuNum {
            s.put("CPUUsedUtilization", .cpu(c), v.cpu[c])
            s.put("CPUIdleUtilization", .cpu(c), r2(100 - v.cpu[c]))
        }
        s.put("CPUAverageUsedUtilization", .none, v.cpuAverage)
        s.put("CPUAllUsedUtilization", .none, v.cpuAll)
        s.put("CPUAllIdleUtilization", .none, r2(100 - v.cpuAll))
        s.put("CPUUserUtilization", .none, v.cpuUser)
        s.put("CPUSystemUtilization", .none, v.cpuSystem)
        s.put("CPUWaitUtilization", .none, v.cpuWait)
        s.put("MemoryUsedBytes", .none, v.memoryUsedBytes)
        s.put("MemoryUsedInPercent", .none, v.memoryUsedPercent)
        s.put("MemoryFreeBytes", .none, v.memoryFreeBytes)
        s.put("MemoryFreeInPercent", .none, v.memoryFreePercent)
        for d in 0..<SimHostSpec.disks.count {
            s.put("DiskReadOps", .hostDisk(d), v.diskReadOps[d])
            s.put("DiskWriteOps", .hostDisk(d), v.diskWriteOps[d])
            s.put("DiskReadBytes", .hostDisk(d), v.diskReadBytes[d])
            s.put("DiskWriteBytes", .hostDisk(d), v.diskWriteBytes[d])
        }
        s.put("DiskAllReadOps", .none, r3(v.diskReadOps.sum()))
        s.put("DiskAllWriteOps", .none, r3(v.diskWriteOps.sum()))
        s.put("DiskAllReadBytes", .none, r3(v.diskReadBytes.sum()))
        s.put("DiskAllWriteBytes", .none, r3(v.diskWriteBytes.sum()))
        for m in 0..<SimHostSpec.mounts.count {
            s.put("DiskUsedCapacityInBytes", .mount(m), v.mountUsedBytes[m])
            s.put("DiskUsedCapacityInPercent", .mount(m), v.mountUsedPercent[m])
            s.put("DiskFreeCapacityInBytes", .mount(m), v.mountFreeBytes[m])
        }
        for n in 0..<SimHostSpec.nics.count {
            s.put("NetworkInBytes", .hostNIC(n), v.nicInBytes[n])
            s.put("NetworkOutBytes", .hostNIC(n), v.nicOutBytes[n])
            s.put("NetworkInPackets", .hostNIC(n), v.nicInPackets[n])
            s.put("NetworkOutPackets", .hostNIC(n), v.nicOutPackets[n])
            s.put("NetworkInErrors", .hostNIC(n), v.nicInErrors[n])
            s.put("NetworkOutErrors", .hostNIC(n), v.nicOutErrors[n])
        }
        s.put("NetworkAllInBytes", .none, r3(v.nicInBytes.sum()))
        s.put("NetworkAllOutBytes", .none, r3(v.nicOutBytes.sum()))
        s.put("NetworkAllInPackets", .none, r3(v.nicInPackets.sum()))
        s.put("NetworkAllOutPackets", .none, r3(v.nicOutPackets.sum()))
        s.put("LoadAverage1", .none, v.load[0])
        s.put("LoadAverage5", .none, v.load[1])
        s.put("LoadAverage15", .none, v.load[2])
        s.put("VMCount", .none, v.vmCount)
        s.put("RunningVMCount", .none, v.runningVMCount)
    }

    /// Rounded to three decimals: sums of per-device rates (count / interval) print as short as the parts.
    @inline(__always)
    static func r3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

    /// Rounded to two decimals (so the text is short and the Idle/Free complements add up to 100).
    @inline(__always)
    static func r2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
}
