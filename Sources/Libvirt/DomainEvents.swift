import CLibvirt
import NIOPosix
import Synchronization

/// The kind of a domain lifecycle event (`virDomainEventType`).
public enum DomainEventType: Int32, Sendable, CaseIterable {
    case defined = 0, undefined, started, suspended, resumed, stopped, shutdown, pmSuspended, crashed
}

/// One `VIR_DOMAIN_EVENT_ID_LIFECYCLE` event: which domain, what happened, and libvirt's detail
/// (a `virDomainEvent<Type>DetailType` value, e.g. `VIR_DOMAIN_EVENT_STOPPED_DESTROYED` = 1).
public struct DomainLifecycleEvent: Sendable, Equatable, CustomStringConvertible {
    /// With dashes, lowercase.
    public var uuid: String
    public var name: String
    public var type: DomainEventType
    public var detail: Int32

    public init(uuid: String, name: String, type: DomainEventType, detail: Int32) {
        self.uuid = uuid
        self.name = name
        self.type = type
        self.detail = detail
    }

    /// libvirt's reason when the event reports a crash, else nil: `crashed` for a stop whose
    /// detail is `VIR_DOMAIN_EVENT_STOPPED_CRASHED`, `panicked` / `crashloaded` for a
    /// `VIR_DOMAIN_EVENT_CRASHED` event.
    public var crashReason: String? {
        switch type {
        case .stopped where detail == Int32(VIR_DOMAIN_EVENT_STOPPED_CRASHED.rawValue): "crashed"
        case .crashed: detail == Int32(VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED.rawValue) ? "crashloaded" : "panicked"
        default: nil
        }
    }

    /// The event and its detail in words, e.g. `Stopped/Destroyed`.
    public var detailName: String {
        let names: [DomainEventType: [String]] = [
            .defined: ["Added", "Updated", "Renamed", "FromSnapshot"],
            .undefined: ["Removed", "Renamed"],
            .started: ["Booted", "Migrated", "Restored", "FromSnapshot", "Wakeup"],
            .suspended: ["Paused", "Migrated", "IOError", "Watchdog", "Restored", "FromSnapshot", "APIError", "Postcopy", "PostcopyFailed"],
            .resumed: ["Unpaused", "Migrated", "FromSnapshot", "Postcopy", "PostcopyFailed"],
            .stopped: ["Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "FromSnapshot"],
            .shutdown: ["Finished", "Guest", "Host"],
            .pmSuspended: ["Memory", "Disk"],
            .crashed: ["Panicked", "Crashloaded"],
        ]
        let kind = "\(type)".prefix(1).uppercased() + "\(type)".dropFirst()
        let list = names[type] ?? []
        return "\(kind)/" + (list.indices.contains(Int(detail)) ? list[Int(detail)] : "\(detail)")
    }

    public var description: String { "\(name) (\(uuid)) \(detailName)" }
}

/// A lifecycle subscription; `cancel()` (or releasing the stream from `lifecycleEvents()`) ends it.
// @unchecked Sendable: immutable after init; `cancel()` goes through the connection's registration Mutex.
public final class DomainEventSubscription: @unchecked Sendable {
    let connection: LibvirtConnection
    let key: Int

    init(connection: LibvirtConnection, key: Int) {
        self.connection = connection
        self.key = key
    }

    /// Stops calling the handler; the last subscription of a connection also deregisters libvirt's
    /// callback (`virConnectDomainEventDeregisterAny`, a blocking call). Safe to repeat.
    public func cancel() {
        connection.registrations.withLock { regs in
            guard regs.dispatcher.remove(key), regs.dispatcher.isEmpty, let id = regs.callbackID else { return }
            regs.callbackID = nil
            _ = try? connection.withPointer("virConnectDomainEventDeregisterAny(\(connection.uri))") {
                virConnectDomainEventDeregisterAny($0, id)
            }
        }
    }
}

extension LibvirtConnection {
    /// Calls `handler` for every domain lifecycle event on this connection
    /// (`virConnectDomainEventRegisterAny` with `VIR_DOMAIN_EVENT_ID_LIFECYCLE`), in libvirt's
    /// order, until the subscription is cancelled. The subscription survives `reopen()` (it is
    /// registered again on the new connection); events while the connection was down are lost,
    /// so reconcile with a full listing after a reopen.
    ///
    /// libvirt accepts one registration per callback and connection, so the connection registers
    /// once and fans each event out to its subscribers. `handler` runs on libvirt's event thread:
    /// it must return quickly and must not cancel subscriptions. Blocking call (an RPC for remote URIs).
    public func subscribeLifecycleEvents(_ handler: @escaping @Sendable (DomainLifecycleEvent) -> Void) throws -> DomainEventSubscription {
        guard LibvirtEventLoop.ensureRunning() else {
            throw LibvirtError(operation: "virEventRegisterDefaultImpl", message: LibvirtEventLoop.failure ?? "no event loop", code: -1)
        }
        let key = try registrations.withLock { regs -> Int in
            if regs.callbackID == nil {
                let dispatcher = regs.dispatcher
                regs.callbackID = try withPointer("virConnectDomainEventRegisterAny(\(uri))") {
                    try EventRegistrations.register(dispatcher, on: $0, uri: uri)
                }
            }
            return regs.dispatcher.add(handler)
        }
        return DomainEventSubscription(connection: self, key: key)
    }

    /// The lifecycle events as an `AsyncStream` (see `subscribeLifecycleEvents`). It keeps the
    /// newest `buffer` events when the consumer falls behind. Ending the stream's consumption
    /// (cancelling the task, or dropping the stream) cancels the subscription on `NIOThreadPool.singleton`.
    public func lifecycleEvents(buffer: Int = 65_536) throws -> AsyncStream<DomainLifecycleEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: DomainLifecycleEvent.self, bufferingPolicy: .bufferingNewest(buffer))
        let subscription = try subscribeLifecycleEvents { continuation.yield($0) }
        continuation.onTermination = { _ in
            NIOThreadPool.singleton.submit { _ in subscription.cancel() }
        }
        return stream
    }
}

/// A connection's subscribers. libvirt holds one retained reference per registration, released by
/// the free callback it calls when the registration ends. The event thread reads the handlers
/// under this object's own lock, never the connection's.
final class LifecycleDispatcher: Sendable {
    private let handlers = Mutex<(next: Int, byKey: [Int: @Sendable (DomainLifecycleEvent) -> Void])>((0, [:]))

    func add(_ handler: @escaping @Sendable (DomainLifecycleEvent) -> Void) -> Int {
        handlers.withLock { h in
            h.next += 1
            h.byKey[h.next] = handler
            return h.next
        }
    }

    /// Removes a handler; false when it was already gone.
    func remove(_ key: Int) -> Bool { handlers.withLock { $0.byKey.removeValue(forKey: key) != nil } }

    var isEmpty: Bool { handlers.withLock { $0.byKey.isEmpty } }

    /// Calls every handler, oldest subscription first.
    func dispatch(_ event: DomainLifecycleEvent) {
        let current = handlers.withLock { h in h.byKey.sorted { $0.key < $1.key }.map(\.value) }
        for handler in current { handler(event) }
    }
}

/// The lifecycle registration of one `LibvirtConnection` on its current pointer.
struct EventRegistrations {
    let dispatcher = LifecycleDispatcher()
    /// libvirt's callback id on the current pointer; nil while nothing is registered (no
    /// subscribers, or the connection is closed).
    var callbackID: Int32?

    /// Registers on `conn` (a fresh connection) when there are subscribers and returns the new
    /// callback id, changing nothing here.
    func registerIfNeeded(on conn: virConnectPtr, uri: String) throws -> Int32? {
        dispatcher.isEmpty ? nil : try Self.register(dispatcher, on: conn, uri: uri)
    }

    /// Deregisters from `conn`, best effort (the peer may be gone).
    mutating func deregister(on conn: virConnectPtr) {
        if let id = callbackID { _ = virConnectDomainEventDeregisterAny(conn, id) }
        callbackID = nil
    }

    static func register(_ dispatcher: LifecycleDispatcher, on conn: virConnectPtr, uri: String) throws -> Int32 {
        let opaque = Unmanaged.passRetained(dispatcher).toOpaque()
        let callback = unsafeBitCast(lifecycleCallback, to: virConnectDomainEventGenericCallback.self)
        let id = virConnectDomainEventRegisterAny(conn, nil, Int32(VIR_DOMAIN_EVENT_ID_LIFECYCLE.rawValue), callback, opaque, releaseDispatcher)
        guard id >= 0 else {
            // libvirt does not call the free callback when registration fails.
            Unmanaged<LifecycleDispatcher>.fromOpaque(opaque).release()
            throw LibvirtError.last("virConnectDomainEventRegisterAny(\(uri))", connection: conn)
        }
        return id
    }
}

/// `virConnectDomainEventCallback`: runs on libvirt's event thread; `dom` is borrowed.
private let lifecycleCallback: @convention(c) (virConnectPtr?, virDomainPtr?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = {
    _, dom, event, detail, opaque in
    guard let dom, let opaque, let type = DomainEventType(rawValue: event) else { return 0 }
    var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
    guard virDomainGetUUIDString(dom, &buffer) == 0 else { return 0 }
    let uuid = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased()
    let name = virDomainGetName(dom).map { String(cString: $0) } ?? ""
    let dispatcher = Unmanaged<LifecycleDispatcher>.fromOpaque(opaque).takeUnretainedValue()
    dispatcher.dispatch(DomainLifecycleEvent(uuid: uuid, name: name, type: type, detail: detail))
    return 0
}

/// `virFreeCallback` for a registration's opaque pointer.
private let releaseDispatcher: @convention(c) (UnsafeMutableRawPointer?) -> Void = { opaque in
    if let opaque { Unmanaged<LifecycleDispatcher>.fromOpaque(opaque).release() }
}
