import Libvirt
import Synchronization

/// Collects the `ZStack/VM` metrics (CPU, memory, disk, network) of every running domain of one
/// libvirt connection with one bulk stats call per collect (see `VMStatsCalculator` for the
/// formulas), plus the host's `ZStack/Host` `VMCount` and `RunningVMCount` from the same call.
/// The first collect emits the gauges (memory, counts) only; rates need two reads.
///
/// ```swift
/// let vms = LibvirtVMCollector(connection: try LibvirtConnection(uri: "qemu:///system"), hostUuid: host)
/// let samples = try await vms.collect(stamp: gridTime, now: clock.now())
/// ```
public final class LibvirtVMCollector: Collector {
    public let name: String
    private let connection: LibvirtConnection
    private let hostUuid: String
    private let calculator = Mutex(VMStatsCalculator())

    /// - Parameters:
    ///   - connection: the hypervisor to read; calls run on `NIOThreadPool.singleton`.
    ///   - hostUuid: the `HostUuid` label of every sample.
    public init(connection: LibvirtConnection, hostUuid: String) {
        self.name = "vms@\(connection.uri)"
        self.connection = connection
        self.hostUuid = hostUuid
    }

    /// Reads all domains' stats once. Throws `LibvirtError` when the bulk call fails (the previous
    /// counters are then kept, so the next successful read still yields rates).
    public func collect(stamp: Int64, now: Int64) async throws -> [Sample] {
        let records = try await connection.onThreadPool { try $0.domainStats() }
        let vms = calculator.withLock { $0.samples(from: records, hostUuid: hostUuid, stamp: stamp, now: now) }
        return VMStatsCalculator.hostCountSamples(from: records, hostUuid: hostUuid, stamp: stamp) + vms
    }
}
