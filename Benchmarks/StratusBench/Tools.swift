import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Small process, file and HTTP helpers for the benchmark driver.
enum Tools {
    /// Seconds on a monotonic clock.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// A field of /proc/<pid>/status in bytes (`VmHWM`, `VmRSS`), or 0.
    static func procStatus(_ pid: Int32, _ field: String) -> Int64 {
        let path = pid == 0 ? "/proc/self/status" : "/proc/\(pid)/status"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        // "VmHWM:\t  123456 kB": the number is right-aligned in 8 columns after a tab, so from
        // 10,000,000 kB on no space separates it from the tab; split on both.
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kb = line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int64($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }

    /// User + system CPU seconds of this process so far (every thread).
    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }

    /// Bytes used by the files under `path` (allocated blocks, like `du`).
    static func diskUsage(_ path: String) -> Int64 {
        var total: Int64 = 0
        guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
        while let rel = e.nextObject() as? String {
            var st = stat()
            if lstat(path + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += Int64(st.st_blocks) * 512 }
        }
        return total
    }

    /// Runs a program to completion, returning its status and stdout.
    @discardableResult
    static func run(_ exe: String, _ args: [String], stdout: Bool = true) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Finds an executable on PATH.
    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// A TCP port free right now on 127.0.0.1.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(fd, $0, len) } }
        withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// GET `url`; returns status and body.
    static func get(_ url: String) async throws -> (Int, Data) {
        var req = URLRequest(url: URL(string: url)!)
        req.timeoutInterval = 600
        let (data, resp) = try await URLSession.shared.data(for: req)
        return ((resp as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// Polls `url` until it answers 200 or `timeout` seconds pass.
    static func waitHealthy(_ url: String, timeout: Double = 60) async -> Bool {
        let deadline = now() + timeout
        while now() < deadline {
            if let (status, _) = try? await get(url), status == 200 { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Percent-encodes a query parameter value.
    static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    static func log(_ s: String) {
        FileHandle.standardError.write(Data(("[bench] " + s + "\n").utf8))
    }
}
