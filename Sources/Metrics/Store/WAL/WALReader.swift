import Foundation

/// Reads WAL segments back for recovery.
enum WALReader {
    /// Calls `body` with each intact record payload of segment file `path`, in order. Stops at the
    /// first torn or corrupt record (short header, length past the end, CRC mismatch) and, when
    /// `truncate` is set, cuts the file there. Returns whether the segment ended cleanly.
    @discardableResult
    static func read(_ path: String, truncate: Bool, _ body: (ArraySlice<UInt8>) throws -> Void) throws -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MetricsError.storage(operation: "read WAL segment \(path)", message: "cannot read the file")
        }
        let bytes = [UInt8](data)
        var i = 0
        var clean = true
        while i < bytes.count {
            guard bytes.count - i >= 8 else { clean = false; break }
            var length = 0
            var crc: UInt32 = 0
            for k in 0..<4 {
                length |= Int(bytes[i + k]) << (8 * k)
                crc |= UInt32(bytes[i + 4 + k]) << UInt32(8 * k)
            }
            guard length > 0, length <= bytes.count - i - 8 else { clean = false; break }
            let payload = bytes[(i + 8)..<(i + 8 + length)]
            let ok = payload.withUnsafeBytes { CRC32C.checksum($0) } == crc
            guard ok else { clean = false; break }
            try body(payload)
            i += 8 + length
        }
        if !clean && truncate {
            guard Foundation.truncate(path, off_t(i)) == 0 else {
                throw WriteAheadLog.errnoError("truncate torn WAL segment \(path) at \(i)")
            }
        }
        return clean
    }
}
