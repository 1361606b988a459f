import CLibvirt
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One open libvirt connection (`virConnectPtr`), closed in `deinit` or by `close()`.
///
/// ```swift
/// let conn = try LibvirtConnection(uri: "test:///default")
/// let vms = try await conn.onThreadPool { try $0.domains() }
/// ```
///
/// Every method is a blocking libvirt call: from async code, go through `onThreadPool`.
// @unchecked Sendable: libvirt connections are thread-safe (libvirt locks internally), the pointer
// never changes, and the only mutable state (`closed`) lives in a Mutex. Each call holds its own
// libvirt reference (virConnectRef) so a concurrent close() cannot free the connection under it.
public final class LibvirtConnection: @unchecked Sendable {
    /// The URI the connection was opened with.
    public let uri: String
    private let pointer: virConnectPtr
    private let closed = Mutex(false)

    /// Opens `uri` read-write (`virConnectOpen`); throws `LibvirtError` with libvirt's message on failure.
    public init(uri: String) throws {
        LibvirtErrorPrinting.silence()
        guard let pointer = virConnectOpen(uri) else {
            throw LibvirtError.last("virConnectOpen(\(uri))")
        }
        self.uri = uri
        self.pointer = pointer
    }

    deinit {
        if !closed.withLock({ $0 }) { virConnectClose(pointer) }
    }

    /// Closes the connection now; later calls throw. Calls in flight finish first (they hold a reference).
    public func close() {
        let wasOpen = closed.withLock { c -> Bool in
            defer { c = true }
            return !c
        }
        if wasOpen { virConnectClose(pointer) }
    }

    /// Runs `body` with the connection pointer while holding a libvirt reference to it.
    func withPointer<T>(_ operation: @autoclosure () -> String, _ body: (virConnectPtr) throws -> T) throws -> T {
        let open = closed.withLock { c -> Bool in
            if c { return false }
            virConnectRef(pointer)
            return true
        }
        guard open else {
            throw LibvirtError(operation: operation(), message: "the connection to \(uri) was closed; open a new LibvirtConnection", code: -1)
        }
        defer { virConnectClose(pointer) }
        return try body(pointer)
    }

    /// Whether libvirt still considers the connection usable (`virConnectIsAlive`).
    public var isAlive: Bool {
        (try? withPointer("virConnectIsAlive(\(uri))") { virConnectIsAlive($0) == 1 }) ?? false
    }

    /// The host's name (`virConnectGetHostname`). The test driver answers the local machine's name.
    public func hostname() throws -> String {
        try withPointer("virConnectGetHostname(\(uri))") { conn in
            guard let text = virConnectGetHostname(conn) else {
                throw LibvirtError.last("virConnectGetHostname(\(uri))", connection: conn)
            }
            defer { free(text) }
            return String(cString: text)
        }
    }

    /// The host's CPU model, memory, CPU count and clock (`virNodeGetInfo`).
    public func nodeInfo() throws -> NodeInfo {
        try withPointer("virNodeGetInfo(\(uri))") { conn in
            var raw = virNodeInfo()
            guard virNodeGetInfo(conn, &raw) == 0 else {
                throw LibvirtError.last("virNodeGetInfo(\(uri))", connection: conn)
            }
            let model = withUnsafeBytes(of: raw.model) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            return NodeInfo(model: model, memoryKiB: UInt64(raw.memory), cpus: Int(raw.cpus), mhz: Int(raw.mhz))
        }
    }

    /// Runs blocking libvirt calls on `NIOThreadPool.singleton` (never the cooperative pool).
    public func onThreadPool<T: Sendable>(_ body: @escaping @Sendable (LibvirtConnection) throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive { try body(self) }
    }
}
