#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The store's write-ahead log: numbered segment files in one directory, each a sequence of
/// records `u32 length (LE) · u32 CRC-32C of the payload (LE) · payload`.
///
/// Writers call `append` (a `write(2)`, in the order the store applied the samples) and then
/// `sync(through:)` outside any store lock: group commit. One caller fsyncs everything written so
/// far; callers whose offset that fsync covered return without one.
final class WriteAheadLog: Sendable {
    /// Segments roll over at this size.
    static let segmentLimit = 64 << 20

    let directory: String
    private let state: PlainMutex<State>
    /// Held while an fsync runs; holds the logical offset known to be on disk.
    private let synced = PlainMutex<Int>(0)
    /// The group-commit thread behind `whenDurable` (started by its first caller).
    private let groupSync: WALGroupSync

    private struct State {
        var fd: Int32
        var segment: UInt64
        var segmentBytes: Int
        /// Bytes written since this log was opened, over all segments (logical offsets).
        var written: Int
        var closed = false
    }

    /// Opens a new segment numbered `segment` (removing a leftover file of that number).
    init(directory: String, segment: UInt64) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw MetricsError.storage(operation: "create WAL directory \(directory)", message: "\(error)")
        }
        let fd = try Self.create(directory, segment)
        state = PlainMutex(State(fd: fd, segment: segment, segmentBytes: 0, written: 0))
        let box = WeakWAL()
        groupSync = WALGroupSync(name: "stratus-wal-sync") { offset in
            guard let wal = box.wal else {
                throw MetricsError.storage(operation: "sync WAL", message: "the WAL in \(directory) is gone")
            }
            try wal.sync(through: offset)
        }
        box.wal = self
    }

    static func segmentPath(_ directory: String, _ segment: UInt64) -> String {
        directory + "/" + paddedNumber(segment) + ".wal"
    }

    /// `segment` in 12 zero-padded digits, so file names sort in number order (WAL segments, head snapshots).
    static func paddedNumber(_ segment: UInt64) -> String {
        let digits = String(segment)
        return String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }

    /// Segment numbers present in `directory`, ascending.
    static func segments(in directory: String) -> [UInt64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in
            name.hasSuffix(".wal") ? UInt64(name.dropLast(4)) : nil
        }.sorted()
    }

    private static func create(_ directory: String, _ segment: UInt64) throws(MetricsError) -> Int32 {
        let path = segmentPath(directory, segment)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw errnoError("create WAL segment \(path)") }
        // The new file's directory entry must survive a crash too.
        syncDirectory(directory)
        return fd
    }

    /// Syncs `directory` so a file created or renamed in it survives a crash (best effort: a
    /// directory that cannot be opened is left as it is).
    static func syncDirectory(_ directory: String) {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            Glibc.close(dfd)
        }
    }

    static func errnoError(_ operation: String) -> MetricsError {
        MetricsError.storage(operation: operation, message: String(cString: strerror(errno)))
    }

    /// The segment being written.
    var currentSegment: UInt64 { state.withLock { $0.segment } }

    /// Bytes written since this log was opened.
    var bytesWritten: Int { state.withLock { $0.written } }

    /// The logical offset known to be on disk (waits for an fsync in flight).
    var durableOffset: Int { synced.withLock { $0 } }

    /// Writes one record; returns the logical offset just past it, for `sync(through:)`.
    /// Not durable until `sync(through:)` returns.
    @discardableResult
    func append(_ payload: [UInt8]) throws -> Int {
        try payload.withUnsafeBytes { try append($0) }
    }

    /// Writes one record from raw bytes; see `append(_: [UInt8])`.
    @discardableResult
    func append(_ payload: UnsafeRawBufferPointer) throws -> Int {
        try append(payload, crc: CRC32C.checksum(payload))
    }

    /// Writes one record whose payload checksum `crc` (CRC-32C) the caller computed already.
    @discardableResult
    func append(_ payload: UnsafeRawBufferPointer, crc: UInt32) throws -> Int {
        if state.withLock({ $0.segmentBytes >= Self.segmentLimit }) { _ = try roll() }
        return try state.withLock { s throws(MetricsError) -> Int in
            guard !s.closed else { throw MetricsError.storage(operation: "append to WAL", message: "the WAL in \(directory) is closed") }
            var header = [UInt8](repeating: 0, count: 8)
            let length = UInt32(payload.count)
            for k in 0..<4 {
                header[k] = UInt8(truncatingIfNeeded: length >> UInt32(8 * k))
                header[4 + k] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * k))
            }
            try Self.writeAll(s.fd, header, payload, segment: Self.segmentPath(directory, s.segment))
            s.segmentBytes += 8 + payload.count
            s.written += 8 + payload.count
            return s.written
        }
    }

    /// Writes several records in one `write(2)`: the payloads are `ranges` of `bytes`, in order.
    /// Returns the logical offset past the last one; not durable until `sync(through:)` returns.
    @discardableResult
    func append(records bytes: UnsafeRawBufferPointer, ranges: [Range<Int>]) throws -> Int {
        var framed: [UInt8] = []
        framed.reserveCapacity(bytes.count + 8 * ranges.count)
        for r in ranges {
            let payload = UnsafeRawBufferPointer(rebasing: bytes[r])
            let length = UInt32(payload.count)
            let crc = CRC32C.checksum(payload)
            for k in 0..<4 { framed.append(UInt8(truncatingIfNeeded: length >> UInt32(8 * k))) }
            for k in 0..<4 { framed.append(UInt8(truncatingIfNeeded: crc >> UInt32(8 * k))) }
            framed.append(contentsOf: payload)
        }
        if state.withLock({ $0.segmentBytes >= Self.segmentLimit }) { _ = try roll() }
        return try state.withLock { s throws(MetricsError) -> Int in
            guard !s.closed else { throw MetricsError.storage(operation: "append to WAL", message: "the WAL in \(directory) is closed") }
            let fd = s.fd, segment = Self.segmentPath(directory, s.segment)
            let failure: MetricsError? = framed.withUnsafeBytes { bytes in
                do throws(MetricsError) {
                    try Self.writeAll(fd, [], bytes, segment: segment)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
            s.segmentBytes += framed.count
            s.written += framed.count
            return s.written
        }
    }

    private static func writeAll(_ fd: Int32, _ header: [UInt8], _ p: UnsafeRawBufferPointer, segment: String) throws(MetricsError) {
        let total = header.count + p.count
        var done = 0
        while done < total {
            let n: Int = header.withUnsafeBytes { h in
                do {
                    var iov: [iovec] = []
                    if done < h.count {
                        iov.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: h.baseAddress! + done), iov_len: h.count - done))
                        if p.count > 0 { iov.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: p.baseAddress!), iov_len: p.count)) }
                    } else {
                        let off = done - h.count
                        iov.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: p.baseAddress! + off), iov_len: p.count - off))
                    }
                    return writev(fd, iov, Int32(iov.count))
                }
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw errnoError("write WAL segment \(segment)")
            }
            done += n
        }
    }

    /// Returns once every byte up to logical `offset` is on disk. Concurrent callers share one fsync.
    func sync(through offset: Int) throws {
        try synced.withLock { synced throws(MetricsError) in
            guard synced < offset else { return }
            let (fd, written, closed) = state.withLock { ($0.fd, $0.written, $0.closed) }
            guard !closed else { throw MetricsError.storage(operation: "sync WAL", message: "the WAL in \(directory) is closed") }
            guard fdatasync(fd) == 0 else { throw Self.errnoError("fsync WAL in \(directory)") }
            synced = written
        }
    }

    /// Syncs the current segment and starts the next; returns its number. Every record appended
    /// afterwards is in that segment or a later one.
    func roll() throws -> UInt64 {
        try synced.withLock { synced throws(MetricsError) -> UInt64 in
            try state.withLock { s throws(MetricsError) -> UInt64 in
                guard !s.closed else { throw MetricsError.storage(operation: "roll WAL", message: "the WAL in \(directory) is closed") }
                guard fdatasync(s.fd) == 0 else { throw Self.errnoError("fsync WAL in \(directory)") }
                let next = s.segment + 1
                let fd = try Self.create(directory, next)
                Glibc.close(s.fd)
                s.fd = fd
                s.segment = next
                s.segmentBytes = 0
                synced = s.written
                return next
            }
        }
    }

    /// Removes every segment numbered below `segment`.
    func deleteSegments(before segment: UInt64) {
        for n in Self.segments(in: directory) where n < segment {
            unlink(Self.segmentPath(directory, n))
        }
    }

    /// Calls `done` once every byte up to logical `offset` is on disk (or with the fsync's error),
    /// from the WAL's sync thread: the caller's thread is free meanwhile. Waiters at the same
    /// moment share one fsync, like `sync(through:)` callers.
    func whenDurable(through offset: Int, _ done: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        groupSync.whenDurable(through: offset, done)
    }

    /// Syncs and closes the current segment; idempotent. `whenDurable` waiters are answered first.
    func close() {
        groupSync.stop()
        state.withLock { s in
            guard !s.closed else { return }
            _ = fdatasync(s.fd)
            Glibc.close(s.fd)
            s.closed = true
        }
    }
}

/// The sync thread's way back to its log without keeping it alive.
// @unchecked Sendable: `wal` is written once, in `WriteAheadLog.init` before the log is shared,
// and only read afterwards.
private final class WeakWAL: @unchecked Sendable {
    weak var wal: WriteAheadLog?
}
