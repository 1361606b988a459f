/// Whole-chunk helpers on top of `ChunkBuilder` and `Chunk`.
public enum ChunkCodec {
    /// Encodes points with strictly increasing timestamps (used for merges and rewrites).
    public static func encode<C: Collection>(_ points: C) -> [UInt8] where C.Element == Point {
        var builder = ChunkBuilder()
        for p in points { builder.append(p.timestamp, p.value) }
        return builder.bytes()
    }

    /// Merges two series of points into one with strictly increasing timestamps. Where both hold a
    /// timestamp, `incoming` replaces `existing`; within `incoming` itself the later of duplicate
    /// timestamps wins (a re-sent sample corrects an earlier one). Neither input needs to be sorted.
    public static func merge(existing: [Point], incoming: [Point]) -> [Point] {
        let old = latestPerTimestamp(existing)
        let new = latestPerTimestamp(incoming)
        var out: [Point] = []
        out.reserveCapacity(old.count + new.count)
        var i = 0
        var j = 0
        while i < old.count || j < new.count {
            if j == new.count || (i < old.count && old[i].timestamp < new[j].timestamp) {
                out.append(old[i]); i += 1
            } else {
                if i < old.count && old[i].timestamp == new[j].timestamp { i += 1 }
                out.append(new[j]); j += 1
            }
        }
        return out
    }

    /// `points` sorted by time with only the last-given point of each timestamp (stable).
    static func latestPerTimestamp(_ points: [Point]) -> [Point] {
        var sorted = true
        for k in points.indices.dropFirst() where points[k - 1].timestamp >= points[k].timestamp { sorted = false; break }
        if sorted { return points }
        let ordered = points.enumerated().sorted { a, b in
            a.element.timestamp != b.element.timestamp ? a.element.timestamp < b.element.timestamp : a.offset < b.offset
        }
        var out: [Point] = []
        out.reserveCapacity(points.count)
        for (_, p) in ordered {
            if let last = out.last, last.timestamp == p.timestamp { out[out.count - 1] = p } else { out.append(p) }
        }
        return out
    }
}
