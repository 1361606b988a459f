import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The alarms' secret key file: 32 random bytes, mode 0600, beside alarms.sqlite (`alarms.key`).
/// Created on first open; back it up with the database, as secrets sealed under it cannot be read
/// without it.
public enum AlarmKeyFile {
    /// `alarms.key` in the folder of `databasePath`.
    public static func path(besideDatabase databasePath: String) -> String {
        URL(fileURLWithPath: databasePath).deletingLastPathComponent().appendingPathComponent("alarms.key").path
    }

    /// Reads the key at `path`, or creates it (0600, exclusive create, fsynced) when it does not exist.
    /// Throws `AlarmKeyError` when it is unreadable, not 32 bytes, or cannot be created.
    public static func loadOrCreate(path: String) throws(AlarmKeyError) -> [UInt8] {
        if let key = try load(path: path) { return key }
        let key = AlarmSecretBox.randomBytes(AlarmSecretBox.keySize)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            let err = errno
            // Another process created it first: use that one.
            if err == EEXIST, let key = try load(path: path) { return key }
            throw .cannotCreate(path: path, reason: String(cString: strerror(err)))
        }
        defer { close(fd) }
        let written = key.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == key.count, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw .cannotCreate(path: path, reason: reason)
        }
        return key
    }

    /// The key at `path`, nil when no file is there.
    public static func load(path: String) throws(AlarmKeyError) -> [UInt8]? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let err = errno
            if err == ENOENT { return nil }
            throw .unreadable(path: path, reason: String(cString: strerror(err)))
        }
        defer { close(fd) }
        // Read one byte more than a key, to tell a longer file from a good one.
        var buffer = [UInt8](repeating: 0, count: AlarmSecretBox.keySize + 1)
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            total += n
        }
        guard total == AlarmSecretBox.keySize else {
            var size = total
            var st = stat()
            if fstat(fd, &st) == 0 { size = Int(st.st_size) }
            throw .wrongSize(path: path, size: size)
        }
        return Array(buffer.prefix(total))
    }
}
