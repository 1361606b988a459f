import Foundation
import StratusMetrics
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The agent's disk buffer: one file per collection round (`<sequence>.batch`, written to a
/// `.tmp` file, fsynced, renamed, directory fsynced — so a batch counts only once it is durable),
/// read back oldest first, deleted once the manager took it.
///
/// Bounded by `maxBytes`: appending past it deletes the oldest batches and counts their samples as
/// dropped. A batch file that does not check out (a torn write at the tail after a crash, a
/// leftover `.tmp`) is deleted and counted as torn. The counters survive restarts
/// (`counters.json` in the same folder). Every call blocks (file I/O): run it on a thread pool.
///
/// File layout: magic `STRB`, version 1, 3 reserved bytes, sequence (UInt64), samples (UInt32),
/// payload length (UInt32), CRC-32C of the payload (the WAL's checksum) (UInt32), all little-endian, then the payload.
public final class AgentSpool: Sendable {
    /// What the spool has thrown away so far.
    public struct Counters: Codable, Sendable, Equatable {
        /// Batches and samples deleted unsent because the spool was full.
        public var droppedBatches: Int64 = 0
        public var droppedSamples: Int64 = 0
        /// Batches and samples the manager refused as bad data (4xx).
        public var rejectedBatches: Int64 = 0
        public var rejectedSamples: Int64 = 0
        /// Batch files found damaged (torn writes) and skipped.
        public var tornBatches: Int64 = 0
        public init() {}
    }

    /// One spooled round.
    public struct Batch: Sendable, Equatable {
        public var sequence: UInt64
        public var samples: Int
        /// The gzip body to POST.
        public var payload: [UInt8]
    }

    private struct State {
        /// Sequence → file size, oldest first.
        var files: [(sequence: UInt64, bytes: Int64)] = []
        var totalBytes: Int64 = 0
        var nextSequence: UInt64 = 1
        var counters = Counters()
    }

    static let headerSize = 28
    static let magic: [UInt8] = Array("STRB".utf8)

    /// The folder holding the batches.
    public let directory: String
    /// Bound on the batches' total size.
    public let maxBytes: Int64
    private let state: Mutex<State>

    /// Opens (creating) the spool in `directory`.
    public init(directory: String, maxBytes: Int64) throws {
        guard maxBytes > Int64(Self.headerSize) else {
            throw AgentError.configuration("--spool-max-bytes \(maxBytes) is too small; give at least a few MB (default \(AgentDefaults.spoolMaxBytes))")
        }
        self.directory = directory
        self.maxBytes = maxBytes
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw AgentError.spool(path: directory, message: "cannot create the folder (\(error.localizedDescription)); pass a writable --spool-dir")
        }
        var s = State()
        if let data = fm.contents(atPath: directory + "/counters.json"),
           let counters = try? JSONDecoder().decode(Counters.self, from: data) {
            s.counters = counters
        }
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: directory) } catch {
            throw AgentError.spool(path: directory, message: "cannot list the folder: \(error.localizedDescription)")
        }
        var leftovers = 0
        for name in names {
            if name.hasSuffix(".batch.tmp") {
                // A write that never completed (never acknowledged as spooled).
                unlink(directory + "/" + name)
                leftovers += 1
            } else if name.hasSuffix(".batch"), let seq = UInt64(name.dropLast(6)) {
                var st = stat()
                guard stat(directory + "/" + name, &st) == 0 else { continue }
                s.files.append((seq, Int64(st.st_size)))
                s.totalBytes += Int64(st.st_size)
            }
        }
        s.files.sort { $0.sequence < $1.sequence }
        s.nextSequence = (s.files.last?.sequence ?? 0) + 1
        if leftovers > 0 { s.counters.tornBatches += Int64(leftovers) }
        state = Mutex(s)
        if leftovers > 0 { try state.withLock { try saveCounters($0.counters) } }
    }

    /// The counters now.
    public var counters: Counters { state.withLock { $0.counters } }

    /// Batches waiting and their total size.
    public var pending: (batches: Int, bytes: Int64) { state.withLock { ($0.files.count, $0.totalBytes) } }

    /// Writes a batch durably; returns its sequence. Drops the oldest batches first when the new one
    /// would pass `maxBytes` (a batch larger than the whole bound is dropped itself).
    @discardableResult
    public func append(payload: [UInt8], samples: Int) throws -> UInt64 {
        try state.withLock { s in
            let size = Int64(Self.headerSize + payload.count)
            let sequence = s.nextSequence
            s.nextSequence += 1
            guard size <= maxBytes else {
                s.counters.droppedBatches += 1
                s.counters.droppedSamples += Int64(samples)
                try saveCounters(s.counters)
                return sequence
            }
            var droppedAny = false
            while s.totalBytes + size > maxBytes, let oldest = s.files.first {
                let header = readHeader(oldest.sequence)
                unlink(path(oldest.sequence))
                s.files.removeFirst()
                s.totalBytes -= oldest.bytes
                if let header {
                    s.counters.droppedBatches += 1
                    s.counters.droppedSamples += Int64(header.samples)
                } else {
                    s.counters.tornBatches += 1
                }
                droppedAny = true
            }
            if droppedAny { try saveCounters(s.counters) }

            var file = [UInt8]()
            file.reserveCapacity(Int(size))
            file += Self.magic
            file += [1, 0, 0, 0]
            Self.put(sequence, 8, into: &file)
            Self.put(UInt64(samples), 4, into: &file)
            Self.put(UInt64(payload.count), 4, into: &file)
            Self.put(UInt64(CRC32C.checksum(payload)), 4, into: &file)
            file += payload
            try writeDurably(file, to: path(sequence))
            s.files.append((sequence, size))
            s.totalBytes += size
            return sequence
        }
    }

    /// The oldest batch that checks out, or nil when empty. Damaged files are deleted and counted.
    public func oldest() throws -> Batch? {
        try state.withLock { s in
            while let first = s.files.first {
                if let batch = readBatch(first.sequence) { return batch }
                unlink(path(first.sequence))
                s.files.removeFirst()
                s.totalBytes -= first.bytes
                s.counters.tornBatches += 1
                try saveCounters(s.counters)
            }
            return nil
        }
    }

    /// Deletes a batch the manager took.
    public func remove(_ sequence: UInt64) {
        state.withLock { s in
            guard let i = s.files.firstIndex(where: { $0.sequence == sequence }) else { return }
            unlink(path(sequence))
            s.totalBytes -= s.files[i].bytes
            s.files.remove(at: i)
        }
    }

    /// Deletes a batch the manager refused as bad data, counting it.
    public func reject(_ batch: Batch) throws {
        remove(batch.sequence)
        try state.withLock { s in
            s.counters.rejectedBatches += 1
            s.counters.rejectedSamples += Int64(batch.samples)
            try saveCounters(s.counters)
        }
    }

    // MARK: Files

    private func path(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return directory + "/" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".batch"
    }

    private static func put(_ v: UInt64, _ bytes: Int, into out: inout [UInt8]) {
        for i in 0..<bytes { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    private static func get(_ b: ArraySlice<UInt8>, _ at: Int, _ bytes: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<bytes { v |= UInt64(b[b.startIndex + at + i]) << (8 * UInt64(i)) }
        return v
    }

    private func readFile(_ sequence: UInt64, limit: Int? = nil) -> [UInt8]? {
        let fd = open(path(sequence), O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while limit.map({ out.count < $0 }) ?? true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            out += buffer[0..<n]
        }
        return out
    }

    private func parseHeader(_ f: ArraySlice<UInt8>, sequence: UInt64) -> (samples: Int, length: Int, crc: UInt32)? {
        guard f.count >= Self.headerSize, Array(f.prefix(4)) == Self.magic, f[f.startIndex + 4] == 1,
              Self.get(f, 8, 8) == sequence else { return nil }
        return (Int(Self.get(f, 16, 4)), Int(Self.get(f, 20, 4)), UInt32(Self.get(f, 24, 4)))
    }

    private func readHeader(_ sequence: UInt64) -> (samples: Int, length: Int, crc: UInt32)? {
        guard let f = readFile(sequence, limit: Self.headerSize) else { return nil }
        return parseHeader(f[...], sequence: sequence)
    }

    private func readBatch(_ sequence: UInt64) -> Batch? {
        guard let f = readFile(sequence), let h = parseHeader(f[...], sequence: sequence),
              f.count == Self.headerSize + h.length else { return nil }
        let payload = Array(f[Self.headerSize...])
        guard CRC32C.checksum(payload) == h.crc else { return nil }
        return Batch(sequence: sequence, samples: h.samples, payload: payload)
    }

    /// Writes `bytes` to `<path>.tmp`, fsyncs it, renames it to `path`, fsyncs the folder.
    private func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw errnoError("create \(tmp)") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let e = errnoError("write \(tmp)")
                close(fd)
                unlink(tmp)
                throw e
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let e = errnoError("fsync \(tmp)")
            close(fd)
            unlink(tmp)
            throw e
        }
        close(fd)
        guard rename(tmp, path) == 0 else { throw errnoError("rename \(tmp)") }
        let dfd = open(directory, O_RDONLY)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    private func saveCounters(_ c: Counters) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try writeDurably(Array(try encoder.encode(c)), to: directory + "/counters.json")
    }

    private func errnoError(_ what: String) -> AgentError {
        AgentError.spool(path: directory, message: "\(what): \(String(cString: strerror(errno))); check free space and permissions")
    }
}
