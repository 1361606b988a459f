import Foundation
import StratusMetrics

/// A VM that started or stopped during a round.
public struct SimStateChange: Sendable, Equatable {
    public var vmIndex: Int
    public var running: Bool
}

/// The simulator's values: for each host and round, the host's and each running VM's whole ZWatch
/// catalog, as a pure function of (seed, fleet, stamp) plus a little state (which VMs run, load
/// averages). Same seed and stamps → same values.
///
/// - Diurnal: load follows `0.5 + 0.5·cos(2π(h − 15)/24)` of the host's local hour `h`, peaking at 15:00.
/// - Noise: every metric draws its own hashed noise per round.
/// - Noisy neighbours: a VM above 70 % CPU is busy; its host's CPU rises with the demand, and its
///   siblings' vCPUs show the contention (run-queue wait) as extra used time, the host as CPU wait.
/// - Hot VMs (1 %): every vCPU between 90 and 100 %.
/// - Counters become rates the way a collector computes them: integer deltas over the interval,
///   bytes = packets × bytes-per-packet (≥ 64) and ops × I/O size, "All" = the sum over devices.
/// - A running VM stops on average every `hoursBetweenStops`; a stopped one starts again after
///   `minutesStopped` on average (hot VMs never stop). Stopped VMs emit nothing.
public struct SimValueModel: Sendable {
    public let fleet: SimFleet
    /// ms.
    public let interval: Int64
    public var hoursBetweenStops = 6.0
    public var minutesStopped = 10.0
    /// By VM index.
    public private(set) var running: [Bool]
    /// Load averages per host; nil before the host's first round.
    private var load: [SIMD3<Double>?]
    /// Scratch: demand (% of all vCPUs) of each VM on the host being generated.
    private var demand: [Double] = []

    public init(fleet: SimFleet, interval: Int64) {
        self.fleet = fleet
        self.interval = max(1, interval)
        running = fleet.vms.map(\.initiallyRunning)
        load = Array(repeating: nil, count: fleet.hosts.count)
    }

    /// Starts or stops a VM now (its next batch shows it).
    public mutating func setRunning(_ vmIndex: Int, _ on: Bool) { running[vmIndex] = on }

    /// The VM report a host sends (`PUT vmsPath`): every VM on it with its state.
    public func vmReport(host: Int, time: Int64) -> AgentVMReport {
        AgentVMReport(time: time, vms: fleet.hosts[host].vmIndices.map { v in
            let vm = fleet.vms[v]
            return AgentVM(uuid: vm.uuid, name: vm.name, state: running[v] ? "Running" : "Stopped",
                           cpuNum: vm.cpuNum, memorySize: vm.memorySize)
        })
    }

    /// Running VMs in the fleet.
    public var runningCount: Int { running.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// One host's round at grid time `stamp`: decides starts and stops, computes every value, and
    /// appends the host's values (host catalog + each running VM's) to `encoder`. Returns the VMs
    /// whose state changed (the caller reports them with `PUT vmsPath`).
    public mutating func round<Output: SimRoundOutput>(host h: Int, stamp: Int64, table: SimHostSeries,
                                                       into encoder: inout Output) -> [SimStateChange] {
        let host = fleet.hosts[h]
        let k = stamp / interval
        let seconds = Double(interval) / 1000
        let seed = fleet.seed
        var changes: [SimStateChange] = []

        // Starts and stops.
        let pStop = seconds / (hoursBetweenStops * 3600)
        let pStart = seconds / (minutesStopped * 60)
        for v in host.vmIndices where !fleet.vms[v].hot {
            let u = SimNoise.unit(seed, SimNoise.key(v, 900), k)
            if running[v] ? u < pStop : u < pStart {
                running[v].toggle()
                changes.append(SimStateChange(vmIndex: v, running: running[v]))
            }
        }

        // Pass 1: each VM's CPU demand; the host's demand and contention.
        let d = Self.diurnal(stamp, timezoneOffsetHours: host.timezoneOffsetHours)
        demand.removeAll(keepingCapacity: true)
        var demandCores = 0.0, busyCores = 0.0, runningCount = 0
        for v in host.vmIndices {
            guard running[v] else { demand.append(0); continue }
            let vm = fleet.vms[v]
            var x: Double
            if vm.hot {
                x = 92 + 7 * SimNoise.unit(seed, SimNoise.key(v, 1), k)
            } else {
                x = vm.baseCPU * (0.3 + 0.7 * d) * (1 + 0.3 * SimNoise.signed(seed, SimNoise.key(v, 1), k))
                if SimNoise.unit(seed, SimNoise.key(v, 2), k) < 0.003 { x += 60 }  // a burst
            }
            x = min(100, max(0, x))
            demand.append(x)
            runningCount += 1
            let cores = x / 100 * Double(vm.cpuNum)
            demandCores += cores
            if x > 70 { busyCores += cores }
        }
        let hostCPUs = Double(SimHostSpec.cpuNum)
        let contention = busyCores / hostCPUs
        let siblingWait = min(25, contention * 15)

        // Pass 2: VM values, written at once; host sums kept.
        var writer = SimBatchWriter(table: table, output: Output.empty, cursor: table.hostSeriesCount, timestamp: stamp)
        swap(&writer.output, &encoder)  // one owner of the buffer: appends never copy it
        var vmDiskRead = 0.0, vmDiskWrite = 0.0, vmDiskReadBytes = 0.0, vmDiskWriteBytes = 0.0
        var vmIn = 0.0, vmOut = 0.0, vmInPkts = 0.0, vmOutPkts = 0.0, vmMemory = 0.0
        var values = SimVMValues()
        for (i, v) in host.vmIndices.enumerated() where running[v] {
            let vm = fleet.vms[v]
            Self.vmValues(vm, demand: demand[i], wait: demand[i] > 70 ? 0 : siblingWait, diurnal: d,
                          seed: seed, round: k, seconds: seconds, into: &values)
            writer.cursor = table.vmStart[i]
            Self.emitVM(vm, values, into: &writer)
            vmDiskRead += values.diskReadOps.sum()
            vmDiskWrite += values.diskWriteOps.sum()
            vmDiskReadBytes += values.diskReadBytes.sum()
            vmDiskWriteBytes += values.diskWriteBytes.sum()
            vmIn += values.netInBytes
            vmOut += values.netOutBytes
            vmInPkts += values.netInPackets
            vmOutPkts += values.netOutPackets
            vmMemory += values.memoryUsedBytes + 0.03 * Double(vm.memorySize)
        }

        // Host values.
        var hv = SimHostValues()
        let hk = 1_000_000_000 + h  // the host's noise keys, apart from VM indices
        let used = min(100, max(0, host.baseLoad + demandCores / hostCPUs * 95
                                    + 1.5 * SimNoise.signed(seed, SimNoise.key(hk, 1), k)))
        for c in 0..<SimHostSpec.cpuNum {
            hv.cpu[c] = Self.r2(min(100, max(0, used * (1 + 0.2 * SimNoise.signed(seed, SimNoise.key(hk, 10 + c), k)))))
        }
        hv.cpuAverage = Self.r2(hv.cpu.sum() / hostCPUs)
        hv.cpuAll = hv.cpuAverage
        hv.cpuUser = Self.r2(hv.cpuAll * 0.72)
        hv.cpuSystem = Self.r2(hv.cpuAll - hv.cpuUser)
        let ioWait = min(5, vmDiskRead / 2000)
        hv.cpuWait = Self.r2(min(100 - hv.cpuAll, max(0, 0.2 + contention * 6 + ioWait
                                                      + 0.2 * SimNoise.signed(seed, SimNoise.key(hk, 2), k))))
        let memory = Double(host.memorySize)
        let memUsed = min(memory - Double(1 << 30), Double(3 << 30) + vmMemory)
        Self.memory(total: memory, used: memUsed, into: &hv.memoryUsedBytes, &hv.memoryUsedPercent,
                    &hv.memoryFreeBytes, &hv.memoryFreePercent)
        // Disks: VM I/O lands 70/30 on sda/sdb, plus the host's own.
        for (dsk, share) in [(0, 0.7), (1, 0.3)] {
            let own = 2 + 3 * SimNoise.unit(seed, SimNoise.key(hk, 20 + dsk), k)
            let reads = ((vmDiskRead * share + own) * seconds).rounded()
            let writes = ((vmDiskWrite * share + own * 2) * seconds).rounded()
            hv.diskReadOps[dsk] = reads / seconds
            hv.diskWriteOps[dsk] = writes / seconds
            let ownBytes = (own * seconds).rounded() * 4096
            hv.diskReadBytes[dsk] = ((vmDiskReadBytes * share * seconds / 4096).rounded() * 4096 + ownBytes) / seconds
            hv.diskWriteBytes[dsk] = ((vmDiskWriteBytes * share * seconds / 4096).rounded() * 4096 + 2 * ownBytes) / seconds
        }
        // Mounts fill slowly through the day and are cleaned at midnight UTC.
        let dayFraction = Double(stamp % 86_400_000) / 86_400_000
        for m in 0..<SimHostSpec.mounts.count {
            let capacity = Double(SimHostSpec.mountCapacity[m])
            let pct = min(99, host.mountUsedPercent[m] + 3 * dayFraction)
            let usedBytes = (capacity * pct / 100 / 4096).rounded() * 4096
            hv.mountUsedBytes[m] = usedBytes
            hv.mountUsedPercent[m] = Self.r2(usedBytes / capacity * 100)
            hv.mountFreeBytes[m] = capacity - usedBytes
        }
        // eth0 carries the VMs' traffic and a little management; eth1 is storage (jumbo frames).
        let mgmt = (50 + 50 * SimNoise.unit(seed, SimNoise.key(hk, 30), k)) * seconds
        let inPkts0 = (vmInPkts * seconds + mgmt).rounded(), outPkts0 = (vmOutPkts * seconds + mgmt).rounded()
        hv.nicInPackets[0] = inPkts0 / seconds
        hv.nicOutPackets[0] = outPkts0 / seconds
        hv.nicInBytes[0] = (vmIn * seconds + mgmt.rounded() * 200).rounded() / seconds
        hv.nicOutBytes[0] = (vmOut * seconds + mgmt.rounded() * 200).rounded() / seconds
        let storageBytes = (vmDiskReadBytes + vmDiskWriteBytes) * 0.3 * seconds
        let storagePkts = (storageBytes / 8_000).rounded() + 10 * seconds
        hv.nicInPackets[1] = storagePkts / seconds
        hv.nicOutPackets[1] = (storagePkts * 0.6).rounded() / seconds
        hv.nicInBytes[1] = max(storagePkts * 64, (storageBytes * 0.6).rounded()) / seconds
        hv.nicOutBytes[1] = max((storagePkts * 0.6).rounded() * 64, (storageBytes * 0.4).rounded()) / seconds
        for n in 0..<2 {
            hv.nicInErrors[n] = Self.rareCount(seed, SimNoise.key(hk, 40 + n), k, chance: 0.002) / seconds
            hv.nicOutErrors[n] = Self.rareCount(seed, SimNoise.key(hk, 42 + n), k, chance: 0.001) / seconds
        }
        // Load averages: exponential moving averages of the runnable count, as the kernel keeps them.
        let runnable = demandCores + contention * 2 + used / 100 * 0.5
        var la = load[h] ?? SIMD3(repeating: runnable)
        for (i, window) in [60.0, 300.0, 900.0].enumerated() {
            let a = exp(-seconds / window)
            la[i] = la[i] * a + runnable * (1 - a)
        }
        load[h] = la
        hv.load = SIMD3(Self.r2(la[0]), Self.r2(la[1]), Self.r2(la[2]))
        hv.vmCount = Double(host.vmIndices.count)
        hv.runningVMCount = Double(runningCount)

        writer.cursor = 0
        Self.emitHost(hv, into: &writer)
        swap(&writer.output, &encoder)
        return changes
    }

    /// One VM's values given its CPU demand and the contention it suffers.
    static func vmValues(_ vm: SimVMSpec, demand x: Double, wait: Double, diurnal d: Double,
                         seed: UInt64, round k: Int64, seconds: Double, into v: inout SimVMValues) {
        let i = vm.index
        var sum = 0.0
        for c in 0..<vm.cpuNum {
            let n = SimNoise.signed(seed, SimNoise.key(i, 10 + c), k)
            let u = vm.hot ? 90 + 5 * (1 + n) : x * (1 + 0.25 * n) + wait
            v.vcpu[c] = r2(min(100, max(0, u)))
            sum += v.vcpu[c]
        }
        for c in vm.cpuNum..<4 { v.vcpu[c] = 0 }
        v.cpuAverage = r2(sum / Double(vm.cpuNum))
        v.cpuAll = r2(min(100, v.cpuAverage + 0.4))  // cpu.time includes the emulator threads

        let mem = Double(vm.memorySize)
        let pct = min(97, max(3, vm.baseMemoryPercent + 10 * d + 1.5 * SimNoise.signed(seed, SimNoise.key(i, 3), k)))
        memory(total: mem, used: mem * pct / 100, into: &v.memoryUsedBytes, &v.memoryUsedPercent,
               &v.memoryFreeBytes, &v.memoryFreePercent)

        let activity = (0.25 + 0.75 * d) * (vm.hot ? 3 : 1) * (1 + 0.3 * SimNoise.signed(seed, SimNoise.key(i, 4), k))
        for dsk in 0..<2 {
            guard dsk < vm.disks else {
                v.diskReadOps[dsk] = 0; v.diskWriteOps[dsk] = 0; v.diskReadBytes[dsk] = 0; v.diskWriteBytes[dsk] = 0
                continue
            }
            let share = dsk == 0 ? 1.0 : 0.35
            let ops = vm.diskOps * activity * share * seconds
            let reads = (ops * 0.4 * (1 + 0.2 * SimNoise.signed(seed, SimNoise.key(i, 20 + dsk), k))).rounded()
            let writes = (ops * 0.6 * (1 + 0.2 * SimNoise.signed(seed, SimNoise.key(i, 22 + dsk), k))).rounded()
            v.diskReadOps[dsk] = reads / seconds
            v.diskWriteOps[dsk] = writes / seconds
            v.diskReadBytes[dsk] = reads * vm.ioSize / seconds
            v.diskWriteBytes[dsk] = (writes * vm.ioSize * 1.25 / 512).rounded() * 512 / seconds
        }

        let inPkts = (vm.packets * activity * seconds).rounded()
        let outPkts = (inPkts * (0.6 + 0.3 * SimNoise.unit(seed, SimNoise.key(i, 30), k))).rounded()
        let size = vm.packetSize.rounded()
        v.netInPackets = inPkts / seconds
        v.netOutPackets = outPkts / seconds
        v.netInBytes = inPkts * size / seconds
        v.netOutBytes = outPkts * max(64, (size * 0.8).rounded()) / seconds
        v.netInErrors = rareCount(seed, SimNoise.key(i, 31), k, chance: 0.002) / seconds
        v.netOutErrors = rareCount(seed, SimNoise.key(i, 32), k, chance: 0.001) / seconds
        v.netInDropped = rareCount(seed, SimNoise.key(i, 33), k, chance: 0.01) / seconds
        v.netOutDropped = rareCount(seed, SimNoise.key(i, 34), k, chance: 0.005) / seconds
    }

    /// Used/free bytes (whole KiB) and percentages that add up to the total and to 100.
    static func memory(total: Double, used: Double, into usedBytes: inout Double, _ usedPercent: inout Double,
                       _ freeBytes: inout Double, _ freePercent: inout Double) {
        let u = (min(max(used, 0), total) / 1024).rounded() * 1024
        usedBytes = u
        freeBytes = total - u
        usedPercent = r2(u / total * 100)
        freePercent = r2(100 - usedPercent)
    }

    /// Usually 0; with `chance`, a count of 1–3 in this interval.
    @inline(__always)
    static func rareCount(_ seed: UInt64, _ key: UInt64, _ k: Int64, chance: Double) -> Double {
        let u = SimNoise.unit(seed, key, k)
        return u < chance ? 1 + (u / chance * 3).rounded(.down) : 0
    }

    /// 0 at night … 1 at 15:00 local time.
    public static func diurnal(_ stamp: Int64, timezoneOffsetHours: Int) -> Double {
        let hours = Double(stamp % 86_400_000) / 3_600_000 + Double(timezoneOffsetHours)
        return 0.5 + 0.5 * cos(2 * Double.pi * (hours - 15) / 24)
    }
}
