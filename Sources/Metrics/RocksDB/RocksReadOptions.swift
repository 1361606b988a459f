import CRocksDB

/// Owns a `rocksdb_readoptions_t` and the bytes of its iterate bounds.
///
/// RocksDB keeps only a pointer to a bound, so the bytes live here, in memory this object frees in
/// `deinit`; an iterator keeps its read options alive.
final class RocksReadOptions {
    let handle: OpaquePointer
    private var lowerBound: UnsafeMutableBufferPointer<CChar>?
    private var upperBound: UnsafeMutableBufferPointer<CChar>?

    /// - Parameters:
    ///   - lower: the first key an iterator may visit (inclusive), or nil for none.
    ///   - upper: the key an iterator stops before (exclusive), or nil for none.
    init(lower: [UInt8]? = nil, upper: [UInt8]? = nil, fillCache: Bool = true) {
        handle = rocksdb_readoptions_create()
        rocksdb_readoptions_set_fill_cache(handle, fillCache ? 1 : 0)
        if let lower {
            let buf = Self.copy(lower)
            lowerBound = buf
            rocksdb_readoptions_set_iterate_lower_bound(handle, buf.baseAddress, lower.count)
        }
        if let upper {
            let buf = Self.copy(upper)
            upperBound = buf
            rocksdb_readoptions_set_iterate_upper_bound(handle, buf.baseAddress, upper.count)
        }
    }

    private static func copy(_ bytes: [UInt8]) -> UnsafeMutableBufferPointer<CChar> {
        // Capacity ≥ 1 so that an empty bound still has a valid address.
        let buf = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(bytes.count, 1))
        for (i, b) in bytes.enumerated() { buf[i] = CChar(bitPattern: b) }
        return buf
    }

    deinit {
        rocksdb_readoptions_destroy(handle)
        lowerBound?.deallocate()
        upperBound?.deallocate()
    }
}
