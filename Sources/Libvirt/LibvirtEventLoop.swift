import CLibvirt
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// libvirt's default event loop, registered once per process and run on one dedicated thread.
///
/// Domain events, keepalive and the remote driver's socket I/O all need it, and libvirt requires
/// `virEventRegisterDefaultImpl()` before the first `virConnectOpen` (a connection opened earlier
/// never gets its socket watched). `LibvirtConnection.init` calls `ensureRunning()` first, so
/// callers never need to; calling it again is free.
///
/// The thread loops `virEventRunDefaultImpl()` for the life of the process (libvirt offers no way
/// to unregister the implementation, so there is nothing to stop). Callbacks run on it: they must
/// not block.
public enum LibvirtEventLoop {
    /// The registration's outcome, computed once: nil, or why it failed.
    private static let started: String? = {
        LibvirtErrorPrinting.silence()
        guard virEventRegisterDefaultImpl() == 0 else {
            return LibvirtError.last("virEventRegisterDefaultImpl").description
        }
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { _ in
            while true {
                // Returns after each dispatch round; -1 means a poll error, which libvirt logs.
                if virEventRunDefaultImpl() < 0 { usleep(10_000) }
            }
        }, nil)
        guard rc == 0 else { return "pthread_create failed with errno \(rc)" }
        pthread_detach(thread)
        return nil
    }()

    /// Registers libvirt's default event implementation and starts its thread, once per process.
    /// Returns false (with the reason in `failure`) when either step failed; connections still
    /// work then, but domain events and keepalive are unavailable.
    @discardableResult
    public static func ensureRunning() -> Bool { started == nil }

    /// Why the event loop could not start, or nil when it runs.
    public static var failure: String? { started }
}
