import StratusMetrics

/// Which device label a simulated series carries.
public enum SimDevice: Sendable {
    case none
    /// `CPUNum` = n.
    case cpu(Int)
    /// `DiskDeviceLetter` = vda, vdb.
    case vmDisk(Int)
    /// `NetworkDeviceLetter` = vnic0.0.
    case vmNIC
    /// `DiskDeviceLetter` = sda, sdb.
    case hostDisk(Int)
    /// `NetworkDeviceLetter` = eth0, eth1.
    case hostNIC(Int)
    /// `MountPoint` = /, /var/lib/libvirt.
    case mount(Int)

    var label: (String, String)? {
        switch self {
        case .none: nil
        case let .cpu(n): ("CPUNum", String(n))
        case let .vmDisk(d): ("DiskDeviceLetter", SimVMSpec.diskLetters[d])
        case .vmNIC: ("NetworkDeviceLetter", SimVMSpec.nic)
        case let .hostDisk(d): ("DiskDeviceLetter", SimHostSpec.disks[d])
        case let .hostNIC(n): ("NetworkDeviceLetter", SimHostSpec.nics[n])
        case let .mount(m): ("MountPoint", SimHostSpec.mounts[m])
        }
    }
}

/// Where the value model puts each value, in emission order. One emission routine drives both
/// the label recorder (once, to build a host's series texts) and the batch writer (every round), so
/// series and values cannot drift apart.
public protocol SimSink {
    mutating func put(_ metric: StaticString, _ device: SimDevice, _ value: Double)
}

/// The precomputed series texts of one host (its own series, then each VM's block), built once with
/// `AgentBatchEncoder.seriesText` and reused every round.
public struct SimHostSeries: Sendable {
    public let hostUuid: String
    /// Series texts: the host's first, then each VM's, in `SimHostSpec.vmIndices` order.
    public let series: [[UInt8]]
    /// Host series count (they start at 0).
    public let hostSeriesCount: Int
    /// For each VM on the host (by position in `vmIndices`), its first series.
    public let vmStart: [Int]

    /// Builds the table for a host: runs the model's emission with a recorder.
    public init(host: SimHostSpec, fleet: SimFleet, hostUuid: String) {
        self.hostUuid = hostUuid
        var recorder = SimLabelRecorder(namespace: "ZStack/Host", base: ["HostUuid": hostUuid])
        SimValueModel.emitHost(SimHostValues(), into: &recorder)
        hostSeriesCount = recorder.series.count
        var starts: [Int] = []
        for v in host.vmIndices {
            starts.append(recorder.series.count)
            recorder.namespace = "ZStack/VM"
            recorder.base = ["HostUuid": hostUuid, "VMUuid": fleet.vms[v].uuid]
            SimValueModel.emitVM(fleet.vms[v], SimVMValues(), into: &recorder)
        }
        series = recorder.series
        vmStart = starts
    }
}

/// Records the series text of every `put`.
struct SimLabelRecorder: SimSink {
    var namespace: String
    var base: [String: String]
    var series: [[UInt8]] = []

    mutating func put(_ metric: StaticString, _ device: SimDevice, _ value: Double) {
        var labels = base
        if let (k, v) = device.label { labels[k] = v }
        series.append(AgentBatchEncoder.seriesText(
            ZWatchName.labels(namespace: namespace, metricName: metric.description, labels)))
    }
}

/// Where a host's round goes, one value per series of its table in emission order: Prometheus
/// text lines (`AgentBatchEncoder`) or `SimRoundValues` (encoded later as a compact batch).
public protocol SimRoundOutput {
    /// An empty output (the writer swaps it with the caller's, so appends never copy a buffer).
    static var empty: Self { get }
    mutating func put(series: Int, of table: SimHostSeries, value: Double, timestamp: Int64)
}

extension AgentBatchEncoder: SimRoundOutput {
    public static var empty: AgentBatchEncoder { AgentBatchEncoder(capacity: 0) }

    @inline(__always)
    public mutating func put(series: Int, of table: SimHostSeries, value: Double, timestamp: Int64) {
        append(seriesText: table.series[series], value: value, timestamp: timestamp)
    }
}

/// A host's round as series indices and values, for a compact batch built at send time (when the
/// refs the manager answered so far are known).
public struct SimRoundValues: SimRoundOutput, Sendable {
    /// Index into the host's `SimHostSeries.series` of each value.
    public var series: [Int32] = []
    public var values: [Double] = []
    public var timestamp: Int64 = 0

    public init(capacity: Int = 0) {
        series.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    public static var empty: SimRoundValues { SimRoundValues() }

    public var count: Int { values.count }

    @inline(__always)
    public mutating func put(series s: Int, of table: SimHostSeries, value: Double, timestamp: Int64) {
        series.append(Int32(s))
        values.append(value)
        self.timestamp = timestamp
    }
}

/// Hands one value per `put` to the output, taking the series from a host's table in order.
struct SimBatchWriter<Output: SimRoundOutput>: SimSink {
    let table: SimHostSeries
    var output: Output
    var cursor: Int
    let timestamp: Int64

    @inline(__always)
    mutating func put(_ metric: StaticString, _ device: SimDevice, _ value: Double) {
        output.put(series: cursor, of: table, value: value, timestamp: timestamp)
        cursor += 1
    }
}
