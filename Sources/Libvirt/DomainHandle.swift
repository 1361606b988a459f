import CLibvirt

#if canImport(Glibc)
import Glibc
#endif

/// Owns one `virDomainPtr` (a reference libvirt counted for us) and frees it in `deinit`.
/// Internal: domain pointers never leave the Libvirt module.
final class DomainHandle {
    let pointer: virDomainPtr

    init(_ pointer: virDomainPtr) { self.pointer = pointer }

    deinit { virDomainFree(pointer) }

    /// The domain's name (libvirt owns the string; copied here).
    var name: String {
        virDomainGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// The uuid with dashes, lowercase.
    func uuid() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        guard virDomainGetUUIDString(pointer, &buffer) == 0 else {
            throw LibvirtError.last("virDomainGetUUIDString(\(name))")
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased()
    }

    /// `virDomainGetInfo` as a `DomainInfo`.
    func info() throws -> DomainInfo {
        var raw = virDomainInfo()
        guard virDomainGetInfo(pointer, &raw) == 0 else {
            throw LibvirtError.last("virDomainGetInfo(\(name))")
        }
        return DomainInfo(
            uuid: try uuid(), name: name,
            state: DomainState(rawValue: Int32(raw.state)) ?? .noState,
            maxMemoryKiB: UInt64(raw.maxMem), memoryKiB: UInt64(raw.memory),
            vcpus: Int(raw.nrVirtCpu), cpuTimeNs: UInt64(raw.cpuTime))
    }

    /// The live XML description.
    func xml() throws -> String {
        guard let text = virDomainGetXMLDesc(pointer, 0) else {
            throw LibvirtError.last("virDomainGetXMLDesc(\(name))")
        }
        defer { free(text) }
        return String(cString: text)
    }

    /// Runs a lifecycle call returning 0 on success, turning -1 into a `LibvirtError`.
    func perform(_ call: String, _ body: (virDomainPtr) -> Int32) throws {
        guard body(pointer) == 0 else {
            throw LibvirtError.last("\(call)(\(name))")
        }
    }
}
