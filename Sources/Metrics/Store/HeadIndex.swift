import Foundation

/// The in-memory series index: canonical labels ↔ id and postings (label name → value → ids).
///
/// Labels live once, as canonical bytes in one arena; a hash of those bytes finds the id (a 64-bit
/// hash collision falls back to an exact-bytes map), and `postings` resolves matchers without
/// decoding any labels. Ids are the store's dense series ids; a removed id leaves a hole.
struct SeriesIndex {
    private var arena: [UInt8] = []
    /// Per id − 1: where its canonical labels start in `arena`, and their length (0 = no series).
    private var starts: [Int] = []
    private var lengths: [UInt32] = []
    private var byHash: [Int: UInt32] = [:]
    /// Series whose hash another series already took: canonical bytes → id.
    private var collisions: [[UInt8]: UInt32] = [:]
    /// name → value → ids (ascending).
    private(set) var postings: [String: [String: [UInt32]]] = [:]
    /// Live series.
    private(set) var count = 0

    /// The largest id slot allocated (live or removed).
    var maxID: UInt64 { UInt64(starts.count) }

    private static func hash(_ bytes: [UInt8]) -> Int {
        var h = Hasher()
        bytes.withUnsafeBytes { h.combine(bytes: $0) }
        return h.finalize()
    }

    private func bytesEqual(_ id: UInt32, _ canonical: [UInt8]) -> Bool {
        let i = Int(id) - 1
        guard i < starts.count, Int(lengths[i]) == canonical.count else { return false }
        let s = starts[i]
        return arena.withUnsafeBufferPointer { a in
            canonical.withUnsafeBufferPointer { c in memcmp(a.baseAddress! + s, c.baseAddress!, c.count) == 0 }
        }
    }

    /// The id of the series with these canonical labels, if any.
    func id(of canonical: [UInt8]) -> UInt64? {
        if let id = byHash[Self.hash(canonical)], bytesEqual(id, canonical) { return UInt64(id) }
        return collisions[canonical].map(UInt64.init)
    }

    func contains(_ id: UInt64) -> Bool {
        id >= 1 && id <= maxID && lengths[Int(id) - 1] != 0
    }

    /// Adds series `id` (not present) with its canonical bytes and labels.
    mutating func insert(id: UInt64, canonical: [UInt8], labels: Labels) {
        precondition(id >= 1 && id < UInt64(UInt32.max), "series id \(id) out of range")
        let slot = Int(id) - 1
        while starts.count <= slot {
            starts.append(0)
            lengths.append(0)
        }
        starts[slot] = arena.count
        lengths[slot] = UInt32(canonical.count)
        arena.append(contentsOf: canonical)
        let h = Self.hash(canonical)
        if byHash[h] == nil { byHash[h] = UInt32(id) } else { collisions[canonical] = UInt32(id) }
        for p in labels.pairs { Self.insertSorted(UInt32(id), into: &postings[p.name, default: [:]][p.value, default: []]) }
        count += 1
    }

    private static func insertSorted(_ id: UInt32, into list: inout [UInt32]) {
        if list.last.map({ $0 < id }) ?? true { list.append(id); return }
        var lo = 0, hi = list.count
        while lo < hi { let m = (lo + hi) / 2; if list[m] < id { lo = m + 1 } else { hi = m } }
        if lo < list.count && list[lo] == id { return }
        list.insert(id, at: lo)
    }

    /// Removes series `id` (its arena bytes stay until the process restarts).
    mutating func remove(_ id: UInt64) {
        guard contains(id), let labels = try? labels(of: id) else { return }
        let canonical = canonicalBytes(of: id)
        let h = Self.hash(canonical)
        if byHash[h] == UInt32(id) { byHash[h] = nil } else { collisions[canonical] = nil }
        for p in labels.pairs {
            postings[p.name]?[p.value]?.removeAll { $0 == UInt32(id) }
            if postings[p.name]?[p.value]?.isEmpty == true { postings[p.name]![p.value] = nil }
            if postings[p.name]?.isEmpty == true { postings[p.name] = nil }
        }
        lengths[Int(id) - 1] = 0
        count -= 1
    }

    func canonicalBytes(of id: UInt64) -> [UInt8] {
        let i = Int(id) - 1
        return Array(arena[starts[i]..<(starts[i] + Int(lengths[i]))])
    }

    /// Appends series `id`'s canonical bytes to `out`; returns where they landed.
    func appendCanonical(of id: UInt64, to out: inout [UInt8]) -> Range<Int> {
        let i = Int(id) - 1
        let start = out.count
        out.append(contentsOf: arena[starts[i]..<(starts[i] + Int(lengths[i]))])
        return start..<out.count
    }

    func labels(of id: UInt64) throws -> Labels {
        try LabelsCodec.decode(canonicalBytes(of: id), key: MetricKey.labels(id))
    }

    /// Ids of every live series, ascending.
    func allIDs() -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(count)
        for i in 0..<lengths.count where lengths[i] != 0 { out.append(UInt64(i + 1)) }
        return out
    }

    /// Ids (ascending) of series matching every matcher; a missing label matches "".
    ///
    /// A matcher that refuses "" needs the label: its ids are the union of the postings of the
    /// values it accepts, and these sets are intersected. A matcher that accepts "" excludes the
    /// postings of the values it refuses, from that set or from all series.
    func matching(_ matchers: [LabelMatcher]) -> [UInt64] {
        var required: [[UInt32]] = []
        var excluded = Set<UInt32>()
        for m in matchers {
            let values = postings[m.name] ?? [:]
            if !m.matches("") {
                if m.op == .equal {
                    required.append(values[m.value] ?? [])
                } else {
                    var union: [UInt32] = []
                    for (v, ids) in values where m.matches(v) { union.append(contentsOf: ids) }
                    union.sort()
                    required.append(union)
                }
            } else {
                for (v, ids) in values where !m.matches(v) { excluded.formUnion(ids) }
            }
        }
        var result: [UInt64] = []
        if required.isEmpty {
            for id in allIDs() where !excluded.contains(UInt32(id)) { result.append(id) }
            return result
        }
        required.sort { $0.count < $1.count }
        var current = required[0]
        for other in required.dropFirst() {
            if current.isEmpty { break }
            current = Self.intersect(current, other)
        }
        var last: UInt32 = 0
        for id in current where id != last && !excluded.contains(id) {
            result.append(UInt64(id))
            last = id
        }
        return result
    }

    /// The ids of ascending `small` also in ascending `large`: a binary search per id, each from
    /// where the last one ended (no hash set of the larger list).
    static func intersect(_ small: [UInt32], _ large: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(small.count)
        var lo = 0
        for id in small {
            var hi = large.count
            while lo < hi {
                let m = (lo + hi) >> 1
                if large[m] < id { lo = m + 1 } else { hi = m }
            }
            if lo == large.count { break }
            if large[lo] == id { out.append(id) }
        }
        return out
    }

    /// Bytes held (capacities and estimated hash-table and string overheads).
    var memoryFootprint: Int {
        var bytes = arena.capacity + starts.capacity * 8 + lengths.capacity * 4
        bytes += byHash.capacity * 12 + collisions.count * 64
        for (_, values) in postings {
            bytes += 64 + values.capacity * 40
            for (v, ids) in values { bytes += ids.capacity * 4 + 32 + (v.utf8.count > 15 ? v.utf8.count : 0) }
        }
        return bytes
    }
}
