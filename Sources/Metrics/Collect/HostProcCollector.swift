import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Collects `ZStack/Host` CPU and memory metrics of the machine it runs on from `/proc`
/// (see `HostProcCalculator` for the formulas). The first collect emits memory only; CPU
/// utilisation needs two reads.
///
/// ```swift
/// let host = HostProcCollector(hostUuid: uuid)
/// let samples = try await host.collect(stamp: gridTime, now: clock.now())
/// ```
public final class HostProcCollector: Collector {
    public let name: String
    private let hostUuid: String
    private let statPath: String
    private let meminfoPath: String
    private let calculator: Mutex<HostProcCalculator>

    /// - Parameters:
    ///   - hostUuid: the `HostUuid` label of every sample.
    ///   - procRoot: where procfs is mounted (a copy of it in tests, `/host/proc` in a container).
    public init(hostUuid: String, procRoot: String = "/proc") {
        self.name = "host:\(hostUuid)"
        self.hostUuid = hostUuid
        statPath = procRoot + "/stat"
        meminfoPath = procRoot + "/meminfo"
        calculator = Mutex(HostProcCalculator(statPath: statPath, meminfoPath: meminfoPath))
    }

    public func collect(stamp: Int64, now: Int64) async throws -> [Sample] {
        let (stat, meminfo) = try await NIOThreadPool.singleton.runIfActive { [statPath, meminfoPath] in
            (try readWholeFile(statPath), try readWholeFile(meminfoPath))
        }
        return try calculator.withLock { calc in
            try calc.samples(procStat: stat, meminfo: meminfo, hostUuid: hostUuid, stamp: stamp)
        }
    }
}

/// Reads a file to its end with read(2); procfs files report size 0, so no stat-sized read.
/// Throws `MetricsError.storage(operation: "read <path>", …)` with the system's reason.
func readWholeFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw MetricsError.storage(operation: "read \(path)", message: String(cString: strerror(errno))) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw MetricsError.storage(operation: "read \(path)", message: String(cString: strerror(errno)))
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}
