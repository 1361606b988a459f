import CLibvirt

/// A libvirt call failed: which call (with its argument), libvirt's own message and error code.
///
/// ```swift
/// do { _ = try LibvirtConnection(uri: "qemu+tcp://badhost/system") }
/// catch let e as LibvirtError { print(e) }  // virConnectOpen(qemu+tcp://badhost/system) failed: … (libvirt code 38)
/// ```
public struct LibvirtError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The call and its subject, e.g. `virConnectOpen(qemu+tcp://x/system)`.
    public let operation: String
    /// libvirt's message (`virGetLastError()->message`), or a description of a wrapper-side check.
    public let message: String
    /// `virError.code` (a `virErrorNumber`, e.g. 42 = `VIR_ERR_NO_DOMAIN`); -1 when libvirt set none.
    public let code: Int32

    public init(operation: String, message: String, code: Int32) {
        self.operation = operation
        self.message = message
        self.code = code
    }

    public var description: String {
        "\(operation) failed: \(message) (libvirt code \(code))"
    }

    /// `VIR_ERR_NO_DOMAIN`: no domain with that uuid or name.
    public var isNoDomain: Bool { code == Int32(VIR_ERR_NO_DOMAIN.rawValue) }

    /// Reads the calling thread's last libvirt error (falling back to the connection's) for `operation`.
    static func last(_ operation: String, connection: virConnectPtr? = nil) -> LibvirtError {
        if let e = virGetLastError(), let text = e.pointee.message {
            return LibvirtError(operation: operation, message: String(cString: text), code: e.pointee.code)
        }
        if let connection, let e = virConnGetLastError(connection), let text = e.pointee.message {
            return LibvirtError(operation: operation, message: String(cString: text), code: e.pointee.code)
        }
        return LibvirtError(operation: operation, message: "libvirt reported no error detail", code: -1)
    }
}

/// Silences libvirt's default error printing to stderr, once per process; errors are read with
/// `virGetLastError` and thrown as `LibvirtError` instead.
enum LibvirtErrorPrinting {
    private static let silenced: Void = {
        virSetErrorFunc(nil) { _, _ in }
    }()

    static func silence() { _ = silenced }
}
