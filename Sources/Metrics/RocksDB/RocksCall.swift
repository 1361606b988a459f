import CRocksDB

/// Runs one RocksDB C call that reports failure through a `char** errptr`, and turns a set error
/// into `MetricsError.storage(operation:message:)`, freeing the C string.
///
/// - Parameters:
///   - operation: what was attempted, for the error (e.g. `"put"`, `"open /var/lib/stratus/tsdb"`).
///   - body: the C call; it receives the `errptr` to pass on.
func rocksCall<T>(
    _ operation: @autoclosure () -> String,
    _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws -> T
) throws -> T {
    var err: UnsafeMutablePointer<CChar>? = nil
    let result = try body(&err)
    if let err {
        let message = String(cString: err)
        rocksdb_free(err)
        throw MetricsError.storage(operation: operation(), message: message)
    }
    return result
}

/// Calls `body` with a `(pointer, count)` view of `bytes` typed as C `char`, the shape every
/// RocksDB key/value argument has. The pointer is valid only inside `body`.
@inline(__always)
func withCBytes<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>?, Int) throws -> T) rethrows -> T {
    if bytes.isEmpty {
        // An empty array may have no storage; give C a valid address with length 0.
        var zero: CChar = 0
        return try body(&zero, 0)
    }
    return try bytes.withUnsafeBufferPointer { buf in
        try buf.withMemoryRebound(to: CChar.self) { c in try body(c.baseAddress, c.count) }
    }
}

/// Copies `count` bytes at `pointer` (owned by RocksDB) into a Swift array.
@inline(__always)
func copyCBytes(_ pointer: UnsafePointer<CChar>?, _ count: Int) -> [UInt8] {
    guard let pointer, count > 0 else { return [] }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: count) {
        Array(UnsafeBufferPointer(start: $0, count: count))
    }
}
