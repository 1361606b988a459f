import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checks done before anything is stored, so a bad setting fails with one clear line.
enum StartupChecks {
    /// Creates the data dir if needed and proves it is writable.
    static func dataDir(_ path: String) throws -> URL {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw StartupError("cannot create data dir '\(url.path)': \(Self.reason(error)); pass --data-dir with a writable folder")
        }
        let probe = url.appendingPathComponent(".write-probe-\(getpid())")
        guard FileManager.default.createFile(atPath: probe.path, contents: Data("ok".utf8)) else {
            throw StartupError("data dir '\(url.path)' is not writable (\(String(cString: strerror(errno)))); fix its permissions or pass --data-dir with a writable folder")
        }
        try? FileManager.default.removeItem(at: probe)
        return url
    }

    /// Fails when `host:port` cannot be bound (in use, or an address this machine does not have).
    static func port(host: String, port: Int) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let info = result else {
            throw StartupError("cannot listen on '\(host)': \(String(cString: gai_strerror(rc))); pass --host with an address of this machine, e.g. 127.0.0.1")
        }
        defer { freeaddrinfo(info) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw StartupError("cannot open a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            let err = errno
            if err == EADDRINUSE {
                throw StartupError("\(host):\(port) is already in use (another Stratus or another server?); stop it or pass --port with a free port")
            }
            throw StartupError("cannot listen on \(host):\(port): \(String(cString: strerror(err))); pass --host/--port you may bind")
        }
    }

    static func reason(_ error: any Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }
}
