import CLibvirt

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Listing, lookup and lifecycle

extension LibvirtConnection {
    /// All domains, active and inactive (`virConnectListAllDomains`).
    public func domains() throws -> [DomainInfo] {
        try allDomainHandles().map { try $0.info() }
    }

    /// The domain with this uuid (with or without dashes); throws `LibvirtError` (code 42,
    /// `VIR_ERR_NO_DOMAIN`) when there is none.
    public func domain(uuid: String) throws -> DomainInfo {
        try handle(uuid: uuid).info()
    }

    /// Defines (persists, does not start) a domain from its XML (`virDomainDefineXML`).
    public func define(xml: String) throws -> DomainInfo {
        let handle = try withPointer("virDomainDefineXML(\(uri))") { conn -> DomainHandle in
            guard let dom = virDomainDefineXML(conn, xml) else {
                throw LibvirtError.last("virDomainDefineXML(\(uri))", connection: conn)
            }
            return DomainHandle(dom)
        }
        return try handle.info()
    }

    /// Starts a defined domain (`virDomainCreate`).
    public func start(uuid: String) throws {
        try handle(uuid: uuid).perform("virDomainCreate") { virDomainCreate($0) }
    }

    /// Asks the guest to shut down (`virDomainShutdown`); returns before it has stopped.
    public func shutdown(uuid: String) throws {
        try handle(uuid: uuid).perform("virDomainShutdown") { virDomainShutdown($0) }
    }

    /// Stops the domain at once, like pulling the plug (`virDomainDestroy`).
    public func destroy(uuid: String) throws {
        try handle(uuid: uuid).perform("virDomainDestroy") { virDomainDestroy($0) }
    }

    /// Pauses the domain's vCPUs (`virDomainSuspend`).
    public func suspend(uuid: String) throws {
        try handle(uuid: uuid).perform("virDomainSuspend") { virDomainSuspend($0) }
    }

    /// Resumes a paused domain (`virDomainResume`).
    public func resume(uuid: String) throws {
        try handle(uuid: uuid).perform("virDomainResume") { virDomainResume($0) }
    }

    /// Asks the guest to reboot (`virDomainReboot`).
    public func reboot(uuid: String) throws {
        try handle(uuid: uuid).perform("virDomainReboot") { virDomainReboot($0, 0) }
    }

    /// Removes a domain's persistent definition (`virDomainUndefine`); a running domain becomes transient.
    public func undefine(uuid: String) throws {
        try handle(uuid: uuid).perform("virDomainUndefine") { virDomainUndefine($0) }
    }

    // MARK: Handles (internal)

    func handle(uuid: String) throws -> DomainHandle {
        try withPointer("virDomainLookupByUUIDString(\(uuid))") { conn in
            guard let dom = virDomainLookupByUUIDString(conn, uuid) else {
                throw LibvirtError.last("virDomainLookupByUUIDString(\(uuid)) on \(uri)", connection: conn)
            }
            return DomainHandle(dom)
        }
    }

    func allDomainHandles() throws -> [DomainHandle] {
        try withPointer("virConnectListAllDomains(\(uri))") { conn in
            var list: UnsafeMutablePointer<virDomainPtr?>?
            let count = virConnectListAllDomains(conn, &list, 0)
            guard count >= 0 else {
                throw LibvirtError.last("virConnectListAllDomains(\(uri))", connection: conn)
            }
            defer { free(list) }
            guard let list else { return [] }
            return (0..<Int(count)).compactMap { i in list[i].map(DomainHandle.init) }
        }
    }
}
