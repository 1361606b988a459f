#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file descriptor line by line with one reusable buffer, so memory stays bounded by the
/// longest line (not the file). Lines end at `\n`; a trailing `\r` is dropped; the last line
/// need not end with a newline.
///
/// ```swift
/// var reader = ImportLineReader(fd: fd)
/// while try reader.next({ line, number in handle(line) }) {}
/// ```
public struct ImportLineReader: ~Copyable {
    private let fd: Int32
    private var buffer: [UInt8]
    /// Valid bytes are `buffer[start..<end]`.
    private var start = 0
    private var end = 0
    private var eof = false
    /// Bytes read from the descriptor so far.
    public private(set) var bytesRead: Int64 = 0
    /// 1-based number of the line most recently handed out.
    public private(set) var lineNumber = 0

    /// Reads from `fd` (not closed here) in chunks of `chunkSize` bytes.
    public init(fd: Int32, chunkSize: Int = 1 << 20) {
        self.fd = fd
        buffer = [UInt8](repeating: 0, count: max(chunkSize, 16))
    }

    /// Calls `body` with the next line (without its newline) and its 1-based number and returns true, or returns false at
    /// the end of the input. Throws `MetricsError.storage` when `read` fails.
    public mutating func next(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws -> Bool {
        while true {
            let found: Int? = buffer.withUnsafeBufferPointer { b in
                guard end > start, let p = memchr(b.baseAddress! + start, 0x0A, end - start) else { return nil }
                return b.baseAddress!.distance(to: p.assumingMemoryBound(to: UInt8.self))
            }
            if let nl = found {
                let s = start
                start = nl + 1
                lineNumber += 1
                try emit(from: s, to: nl, body)
                return true
            }
            if eof {
                guard end > start else { return false }
                let s = start
                start = end
                lineNumber += 1
                try emit(from: s, to: end, body)
                return true
            }
            try fill()
        }
    }

    private func emit(from s: Int, to e: Int, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        var e = e
        if e > s && buffer[e - 1] == 0x0D { e -= 1 }
        try buffer.withUnsafeBufferPointer { b in
            try body(UnsafeBufferPointer(rebasing: b[s..<e]), lineNumber)
        }
    }

    /// Moves the partial line to the front (growing the buffer when one line fills it) and reads more.
    private mutating func fill() throws {
        if start > 0 {
            let n = end - start
            if n > 0 {
                buffer.withUnsafeMutableBufferPointer { b in
                    _ = memmove(b.baseAddress!, b.baseAddress! + start, n)
                }
            }
            start = 0
            end = n
        }
        if end == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
        let got = buffer.withUnsafeMutableBufferPointer { b in
            var r: Int
            repeat { r = read(fd, b.baseAddress! + end, b.count - end) } while r < 0 && errno == EINTR
            return r
        }
        if got < 0 {
            throw MetricsError.storage(operation: "read input", message: String(cString: strerror(errno)))
        }
        if got == 0 { eof = true }
        end += got
        bytesRead += Int64(got)
    }
}
