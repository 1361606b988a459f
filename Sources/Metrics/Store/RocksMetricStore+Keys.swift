/// The key/value layout of the RocksDB metric store, format v2 (Docs/format/metric-store-v2.md).
///
/// | key | value |
/// |---|---|
/// | `M` "format" | format version, 1 byte (2) |
/// | `M` "next_series_id" | next unallocated series id, u64 BE |
/// | `M` "checkpoint" | first WAL segment to replay, u64 BE |
/// | `M` "oldest_sample" | no sample or bucket is older, i64 BE (two's complement) |
/// | `S` labels(canonical) | series id, u64 BE |
/// | `I` id(u64 BE) | labels(canonical) |
/// | `P` name 0x00 value 0x00 id(u64 BE) | empty |
/// | `C` id(u64 BE) maxT(u64 BE) | closed chunk (ChunkCodec bytes) |
/// | `H` id(u64 BE) | head chunk as of a checkpoint (builds before `HeadSnapshot`; deleted on open) |
/// | `Q` hour(u64 BE) id(u64 BE) | empty: rollups of that hour need rebuilding |
///
/// v1 (Docs/format/metric-store-v1.md) kept one `D` id timestamp → value key per sample; its keys
/// stay here for the migration.
enum MetricKey {
    static let formatVersion: UInt8 = 2
    static let format: [UInt8] = [UInt8(ascii: "M")] + Array("format".utf8)
    static let nextSeriesID: [UInt8] = [UInt8(ascii: "M")] + Array("next_series_id".utf8)
    static let checkpoint: [UInt8] = [UInt8(ascii: "M")] + Array("checkpoint".utf8)
    /// The retention low-water mark: every sample the store holds (and so every rollup bucket end
    /// and `Q` hour) is ≥ it. Lowered (synced) before a write with an older sample is logged, raised
    /// to the cutoff by a completed retention pass; `Int64.max` = nothing stored yet, absent = unknown.
    static let oldestSample: [UInt8] = [UInt8(ascii: "M")] + Array("oldest_sample".utf8)

    static let chunkPrefix = UInt8(ascii: "C")
    static let headPrefix = UInt8(ascii: "H")
    static let queuePrefix = UInt8(ascii: "Q")

    // MARK: Chunks (v2)

    /// An hour partition, (end − 1 h, end], is named by its end.
    static let partitionLength: Int64 = 3_600_000

    /// The end of the hour partition holding `t`: `ceil(t / 1 h) · 1 h`.
    @inline(__always) static func partition(_ t: Int64) -> Int64 {
        let q = t / partitionLength
        return (q * partitionLength < t ? q + 1 : q) * partitionLength
    }

    /// `C` + id: every chunk of a series.
    static func chunksPrefix(_ id: UInt64) -> [UInt8] { [chunkPrefix] + BigEndian.bytes(id) }

    /// `C` + id + maxT.
    static func chunk(_ id: UInt64, maxT: Int64) -> [UInt8] { chunksPrefix(id) + BigEndian.bytes(UInt64(max(maxT, 0))) }

    /// The maxT of a `C` key.
    static func maxTOfChunkKey(_ key: [UInt8]) -> Int64 { Int64(bitPattern: BigEndian.uint64(key[9...])) }

    /// `H` + id.
    static func head(_ id: UInt64) -> [UInt8] { [headPrefix] + BigEndian.bytes(id) }

    /// `Q` + hour + id.
    static func queue(hour: Int64, id: UInt64) -> [UInt8] { [queuePrefix] + BigEndian.bytes(UInt64(hour)) + BigEndian.bytes(id) }

    static let seriesPrefix = UInt8(ascii: "S")
    static let labelsPrefix = UInt8(ascii: "I")
    static let postingPrefix = UInt8(ascii: "P")
    static let samplePrefix = UInt8(ascii: "D")

    // MARK: Series

    /// `S` + canonical labels → id.
    static func series(_ labels: Labels) -> [UInt8] { [seriesPrefix] + LabelsCodec.encode(labels) }

    /// `I` + id → canonical labels.
    static func labels(_ id: UInt64) -> [UInt8] { [labelsPrefix] + BigEndian.bytes(id) }

    /// The id of an `I` key.
    static func idOfLabelsKey(_ key: [UInt8]) throws -> UInt64 {
        guard key.count == 9, key[0] == labelsPrefix else {
            throw MetricsError.corrupt(key: hex(key), reason: "a labels key is 'I' + 8-byte id")
        }
        return BigEndian.uint64(key[1...])
    }

    // MARK: Postings

    /// `P` + name + 0x00: all postings of a label name.
    static func postingsPrefix(name: String) -> [UInt8] { [postingPrefix] + Array(name.utf8) + [0] }

    /// `P` + name + 0x00 + value + 0x00: all series with `name=value`.
    static func postingsPrefix(name: String, value: String) -> [UInt8] {
        postingsPrefix(name: name) + Array(value.utf8) + [0]
    }

    static func posting(name: String, value: String, id: UInt64) -> [UInt8] {
        postingsPrefix(name: name, value: value) + BigEndian.bytes(id)
    }

    /// The value and id of a posting key under `postingsPrefix(name:)`. Names cannot hold 0x00,
    /// and the id is the fixed last 8 bytes, so a value containing 0x00 still decodes exactly.
    static func decodePosting(_ key: [UInt8], namePrefixCount: Int) throws -> (value: String, id: UInt64) {
        guard key.count >= namePrefixCount + 9, key[key.count - 9] == 0 else {
            throw MetricsError.corrupt(key: hex(key), reason: "a posting key is 'P' name 0x00 value 0x00 id(8)")
        }
        let value = String(decoding: key[namePrefixCount..<(key.count - 9)], as: UTF8.self)
        return (value, BigEndian.uint64(key[(key.count - 8)...]))
    }

    // MARK: Samples (v1, read only by the migration)

    /// `D` + id: all samples of a series.
    static func samplesPrefix(_ id: UInt64) -> [UInt8] { [samplePrefix] + BigEndian.bytes(id) }

    /// `D` + id + timestamp. Timestamps are ≥ 0 (validated), so byte order is time order.
    static func sample(_ id: UInt64, _ timestamp: Int64) -> [UInt8] {
        samplesPrefix(id) + BigEndian.bytes(UInt64(timestamp))
    }

    static func decodeSample(_ key: [UInt8], _ value: [UInt8]) throws -> Point {
        guard key.count == 17, key[0] == samplePrefix, value.count == 8 else {
            throw MetricsError.corrupt(key: hex(key), reason: "a sample is 'D' id(8) timestamp(8) → 8-byte value, found \(key.count)-byte key, \(value.count)-byte value")
        }
        return Point(timestamp: Int64(bitPattern: BigEndian.uint64(key[9...])),
                     value: Double(bitPattern: BigEndian.uint64(value[...])))
    }

    static func encodeValue(_ value: Double) -> [UInt8] { BigEndian.bytes(value.bitPattern) }

    /// Lower-case hex of a key, for errors.
    static func hex(_ key: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(key.count * 2)
        for b in key { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Unsigned big-endian integers, so that byte order is numeric order.
enum BigEndian {
    static func bytes(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }

    /// Reads 8 bytes starting at the slice's start.
    static func uint64(_ b: ArraySlice<UInt8>) -> UInt64 {
        var v: UInt64 = 0
        for byte in b.prefix(8) { v = v << 8 | UInt64(byte) }
        return v
    }
}

/// The canonical, unambiguous byte form of a label set: pairs in name order, each
/// `uvarint(len(name)) name uvarint(len(value)) value` (UTF-8, LEB128 lengths).
enum LabelsCodec {
    static func encode(_ labels: Labels) -> [UInt8] {
        var out: [UInt8] = []
        for p in labels.pairs {
            append(Array(p.name.utf8), to: &out)
            append(Array(p.value.utf8), to: &out)
        }
        return out
    }

    /// Decodes `bytes`; `key` names where they were read, for the error.
    static func decode(_ bytes: [UInt8], key: [UInt8]) throws -> Labels {
        var i = 0
        var dict: [String: String] = [:]
        func field() throws -> String {
            var length = 0
            var shift = 0
            while true {
                guard i < bytes.count, shift < 63 else {
                    throw MetricsError.corrupt(key: MetricKey.hex(key), reason: "labels: truncated length at byte \(i)")
                }
                let b = bytes[i]
                i += 1
                length |= Int(b & 0x7F) << shift
                shift += 7
                if b & 0x80 == 0 { break }
            }
            guard length <= bytes.count - i else {
                throw MetricsError.corrupt(key: MetricKey.hex(key), reason: "labels: field of \(length) bytes at byte \(i) runs past the end (\(bytes.count))")
            }
            defer { i += length }
            return String(decoding: bytes[i..<(i + length)], as: UTF8.self)
        }
        while i < bytes.count {
            let name = try field()
            let value = try field()
            dict[name] = value
        }
        return Labels(dict)
    }

    private static func append(_ field: [UInt8], to out: inout [UInt8]) {
        var n = field.count
        repeat {
            var b = UInt8(n & 0x7F)
            n >>= 7
            if n > 0 { b |= 0x80 }
            out.append(b)
        } while n > 0
        out.append(contentsOf: field)
    }
}
