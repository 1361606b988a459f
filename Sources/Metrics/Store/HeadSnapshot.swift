#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The heads a checkpoint saved: one file per checkpoint, `snapshot/<segment>.heads`, named by the
/// WAL segment the checkpoint rolled to (`M checkpoint`), so recovery loads the file that matches
/// the segments it replays.
///
/// Records are framed like the WAL's (`u32 length · u32 CRC-32C · payload`, little endian). A
/// payload is `kind u8 · id u64 LE · ChunkBuilder bytes`; the last record is `end u8 · count u64 LE`,
/// so a file cut short at a record boundary is still found out. The file is written as
/// `<segment>.heads.tmp`, synced and renamed before `M checkpoint` names its segment.
///
/// Checkpoints used to write every head as an `H` key: at 4 M series ~400 MB of RocksDB writes
/// every five minutes, flushed and compacted with ZSTD and overwritten at the next checkpoint. A
/// sequential file costs a `write(2)` and an fsync instead, and can hold the sealed heads still
/// in their hold, which a checkpoint had to write as chunks before it could drop their WAL segments.
enum HeadSnapshot {
    /// What a record holds.
    enum Kind: UInt8 {
        /// The series' open head.
        case head = 0
        /// A sealed head not yet written whose write puts its hour's `Q` entry (an hour's end).
        case sealedQueued = 1
        /// A sealed head not yet written, without a `Q` entry (an interval cut: its hour is open).
        case sealed = 2
        /// The last record: how many came before it.
        case end = 0xFF
    }

    static func directory(_ storePath: String) -> String { storePath + "/snapshot" }

    static func path(_ storePath: String, segment: UInt64) -> String {
        directory(storePath) + "/" + WriteAheadLog.paddedNumber(segment) + ".heads"
    }

    /// Removes every snapshot but the one for `segment` (and any unfinished `.tmp`).
    static func deleteAll(in storePath: String, except segment: UInt64) {
        let dir = directory(storePath)
        let keep = (path(storePath, segment: segment) as NSString).lastPathComponent
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name != keep {
            unlink(dir + "/" + name)
        }
    }

    /// Calls `body` with each record of the snapshot for `segment`, in order; false when there is no
    /// such file (a store that never checkpointed, or one from before snapshots). A torn or corrupt
    /// file throws `MetricsError.corrupt`: it was synced before `M checkpoint` named it.
    static func read(_ storePath: String, segment: UInt64, _ body: (Kind, UInt64, [UInt8]) throws -> Void) throws -> Bool {
        let file = path(storePath, segment: segment)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return false }
            throw WriteAheadLog.errnoError("open head snapshot \(file)")
        }
        defer { close(fd) }
        func corrupt(_ reason: String) -> MetricsError { .corrupt(key: file, reason: reason + "; remove the file to recover from the WAL alone, which loses the heads it held") }
        var buffer: [UInt8] = []
        var start = 0
        var eof = false
        /// Makes `count` bytes from `start` available; false at the end of the file.
        func fill(_ count: Int) throws -> Bool {
            while buffer.count - start < count {
                if eof { return false }
                if start > 0 {
                    buffer.removeFirst(start)
                    start = 0
                }
                let want = max(count - buffer.count, 4 << 20)
                let old = buffer.count
                buffer.append(contentsOf: repeatElement(0, count: want))
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + old, want) }
                guard n >= 0 else { throw WriteAheadLog.errnoError("read head snapshot \(file)") }
                buffer.removeLast(want - n)
                if n == 0 { eof = true }
            }
            return true
        }
        var records: UInt64 = 0
        while true {
            guard try fill(8) else { throw corrupt("the file ends before its end record") }
            var length = 0
            var crc: UInt32 = 0
            for k in 0..<4 {
                length |= Int(buffer[start + k]) << (8 * k)
                crc |= UInt32(buffer[start + 4 + k]) << UInt32(8 * k)
            }
            guard length >= 9, try fill(8 + length) else { throw corrupt("record \(records) is torn") }
            let payload = buffer[(start + 8)..<(start + 8 + length)]
            guard payload.withUnsafeBytes({ CRC32C.checksum($0) }) == crc else { throw corrupt("record \(records) fails its checksum") }
            start += 8 + length
            guard let kind = Kind(rawValue: payload[payload.startIndex]) else { throw corrupt("record \(records) has unknown kind \(payload[payload.startIndex])") }
            var id: UInt64 = 0
            for k in 0..<8 { id |= UInt64(payload[payload.startIndex + 1 + k]) << UInt64(8 * k) }
            if kind == .end {
                guard id == records else { throw corrupt("the end record counts \(id) records, the file has \(records)") }
                return true
            }
            try body(kind, id, Array(payload[(payload.startIndex + 9)...]))
            records += 1
        }
    }
}

/// Writes one snapshot file (see `HeadSnapshot`): `append` buffers, `finish` syncs and renames.
final class HeadSnapshotWriter {
    private let finalPath: String
    private let tmpPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var records: UInt64 = 0
    private static let flushBytes = 1 << 20
    /// Bytes written to the file so far, and how far `startWriteback` has handed them to the disk.
    private var written = 0
    private var handedOff = 0
    /// Writeback is started every this many bytes (see `startWriteback`).
    static let writebackBytes = 8 << 20

    /// Creates `<segment>.heads.tmp` in the store's snapshot directory.
    init(storePath: String, segment: UInt64) throws {
        let dir = HeadSnapshot.directory(storePath)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw MetricsError.storage(operation: "create snapshot directory \(dir)", message: "\(error)")
        }
        finalPath = HeadSnapshot.path(storePath, segment: segment)
        tmpPath = finalPath + ".tmp"
        fd = open(tmpPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteAheadLog.errnoError("create head snapshot \(tmpPath)") }
        buffer.reserveCapacity(Self.flushBytes + 4096)
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(tmpPath)
        }
    }

    /// Adds one record.
    func append(_ kind: HeadSnapshot.Kind, id: UInt64, _ bytes: [UInt8]) throws {
        let length = 9 + bytes.count
        var payload = [UInt8](repeating: 0, count: 9)
        payload[0] = kind.rawValue
        for k in 0..<8 { payload[1 + k] = UInt8(truncatingIfNeeded: id >> UInt64(8 * k)) }
        payload.append(contentsOf: bytes)
        let crc = payload.withUnsafeBytes { CRC32C.checksum($0) }
        for k in 0..<4 { buffer.append(UInt8(truncatingIfNeeded: UInt32(length) >> UInt32(8 * k))) }
        for k in 0..<4 { buffer.append(UInt8(truncatingIfNeeded: crc >> UInt32(8 * k))) }
        buffer.append(contentsOf: payload)
        if kind != .end { records += 1 }
        if buffer.count >= Self.flushBytes { try flush() }
    }

    private func flush() throws {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw WriteAheadLog.errnoError("write head snapshot \(tmpPath)")
            }
            done += n
        }
        written += buffer.count
        buffer.removeAll(keepingCapacity: true)
        if written - handedOff >= Self.writebackBytes { startWriteback() }
    }

    /// Starts the disk write of the newest bytes now and drops the pages of the ones before them
    /// (written by then) from the page cache (`POSIX_FADV_DONTNEED` does both on Linux, without
    /// waiting). Left to the kernel, a ~600 MB snapshot sat dirty in memory and went out in one
    /// flood ~30 s later, and the WAL's fsyncs, which every agent push waits for, queued behind it
    /// (a 1.5 GB flood held them up to 0.5 s on this VM). Recovery reads the snapshot once, so its
    /// pages are not worth keeping cached either.
    private func startWriteback() {
        let from = max(0, handedOff - Self.writebackBytes)
        _ = posix_fadvise(fd, off_t(from), off_t(written - from), POSIX_FADV_DONTNEED)
        handedOff = written
    }

    /// Writes the end record, syncs the file, renames it into place and syncs the directory.
    func finish() throws {
        try append(.end, id: records, [])
        try flush()
        guard fdatasync(fd) == 0 else { throw WriteAheadLog.errnoError("sync head snapshot \(tmpPath)") }
        close(fd)
        fd = -1
        guard rename(tmpPath, finalPath) == 0 else { throw WriteAheadLog.errnoError("rename head snapshot \(tmpPath)") }
        WriteAheadLog.syncDirectory((finalPath as NSString).deletingLastPathComponent)
    }
}
