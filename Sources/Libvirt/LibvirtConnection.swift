import CLibvirt
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One libvirt connection (`virConnectPtr`), closed in `deinit` or by `close()`, and re-openable
/// in place with `reopen()` so everything holding this object (collectors, event subscribers)
/// follows a reconnect.
///
/// ```swift
/// let conn = try LibvirtConnection(uri: "test:///default")
/// let vms = try await conn.onThreadPool { try $0.domains() }
/// ```
///
/// Every method is a blocking libvirt call: from async code, go through `onThreadPool`.
// @unchecked Sendable: libvirt connections are thread-safe (libvirt locks internally); the current
// pointer (swapped by reopen/close) lives in a Mutex, and each call holds its own libvirt
// reference (virConnectRef) so a concurrent close() or reopen() cannot free the connection under it.
// Event registrations live in a second Mutex (see DomainEvents.swift).
public final class LibvirtConnection: @unchecked Sendable {
    /// The URI the connection was opened with.
    public let uri: String
    /// The open `virConnectPtr` as a bit pattern (0 = closed) and the keepalive to re-apply on reopen.
    private let state: Mutex<State>
    /// The lifecycle registration; held across the blocking register/deregister calls so reopen,
    /// close, subscribe and cancel never interleave. Lock order: `registrations`, then `state`.
    let registrations = Mutex(EventRegistrations())

    private struct State {
        var bits: Int
        var keepAlive: (interval: Int32, count: UInt32)?
    }

    /// Opens `uri` read-write (`virConnectOpen`); throws `LibvirtError` with libvirt's message on failure.
    /// Starts libvirt's event loop first (once per process), as libvirt requires for events and keepalive.
    public init(uri: String) throws {
        self.uri = uri
        self.state = Mutex(State(bits: Int(bitPattern: try Self.open(uri)), keepAlive: nil))
    }

    private static func open(_ uri: String) throws -> virConnectPtr {
        LibvirtErrorPrinting.silence()
        LibvirtEventLoop.ensureRunning()
        guard let pointer = virConnectOpen(uri) else {
            throw LibvirtError.last("virConnectOpen(\(uri))")
        }
        return pointer
    }

    deinit {
        // Subscriptions hold this object, so none is registered here.
        if let p = OpaquePointer(bitPattern: state.withLock { $0.bits }) { virConnectClose(p) }
    }

    /// Closes the connection now; later calls throw until `reopen()`. Calls in flight finish first
    /// (they hold a reference). Event subscriptions stay listed and are registered again by `reopen()`.
    public func close() {
        registrations.withLock { regs in
            let old = state.withLock { s -> Int in
                defer { s.bits = 0 }
                return s.bits
            }
            guard let p = OpaquePointer(bitPattern: old) else { return }
            regs.deregister(on: p)
            virConnectClose(p)
        }
    }

    /// Opens a fresh connection to the same URI and swaps it in: registers every lifecycle
    /// subscription on it and re-applies the keepalive, then closes the old connection (open or
    /// not). On failure the old connection stays as it was and the error is thrown.
    public func reopen() throws {
        try registrations.withLock { regs in
            let fresh = try Self.open(uri)
            let id: Int32?
            do {
                if let k = state.withLock({ $0.keepAlive }) { _ = try Self.applyKeepAlive(fresh, uri: uri, k.interval, k.count) }
                id = try regs.registerIfNeeded(on: fresh, uri: uri)
            } catch {
                virConnectClose(fresh)
                throw error
            }
            let old = state.withLock { s -> Int in
                defer { s.bits = Int(bitPattern: fresh) }
                return s.bits
            }
            // A registration holds a reference on its connection: drop it so the old one is freed.
            if let p = OpaquePointer(bitPattern: old) {
                regs.deregister(on: p)
                virConnectClose(p)
            }
            regs.callbackID = id
        }
    }

    /// Asks libvirt to probe the peer every `interval` seconds and close the connection after
    /// `count` unanswered probes (`virConnectSetKeepAlive`), now and after each `reopen()`.
    /// Returns false when the driver has no keepalive (local drivers such as `test:///`, or a
    /// peer that does not support it); throws on other failures.
    @discardableResult
    public func setKeepAlive(interval: Int32, count: UInt32) throws -> Bool {
        state.withLock { $0.keepAlive = (interval, count) }
        return try withPointer("virConnectSetKeepAlive(\(uri))") { try Self.applyKeepAlive($0, uri: uri, interval, count) }
    }

    private static func applyKeepAlive(_ conn: virConnectPtr, uri: String, _ interval: Int32, _ count: UInt32) throws -> Bool {
        switch virConnectSetKeepAlive(conn, interval, count) {
        case 0: return true
        case 1: return false
        default:
            let e = LibvirtError.last("virConnectSetKeepAlive(\(uri))", connection: conn)
            if e.code == Int32(VIR_ERR_NO_SUPPORT.rawValue) { return false }
            throw e
        }
    }

    /// Runs `body` with the connection pointer while holding a libvirt reference to it.
    func withPointer<T>(_ operation: @autoclosure () -> String, _ body: (virConnectPtr) throws -> T) throws -> T {
        let bits = state.withLock { s -> Int in
            if let p = OpaquePointer(bitPattern: s.bits) { virConnectRef(p) }
            return s.bits
        }
        guard let pointer = OpaquePointer(bitPattern: bits) else {
            throw LibvirtError(operation: operation(), message: "the connection to \(uri) was closed; reopen() it or open a new LibvirtConnection", code: -1)
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
