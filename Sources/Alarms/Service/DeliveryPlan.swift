/// How one endpoint's due entries are split into attempts in one pass. Pure.
public enum DeliveryPlan {
    /// Splits `entries` (oldest first) into attempts given the `slots` the rate limit allows:
    /// one attempt per entry while they fit; when there are more entries than slots, the last slot
    /// carries all the rest as one summary (DingTalk's "merge past 20 per minute"). `slots == nil`
    /// means unlimited; `slots == 0` gives no attempts.
    ///
    /// `slots: 3` over entries `a b c d e` → `[a] [b] [c d e]`.
    public static func attempts(_ entries: [OutboxEntry], slots: Int?) -> [[OutboxEntry]] {
        guard let slots else { return entries.map { [$0] } }
        guard slots > 0, !entries.isEmpty else { return [] }
        if entries.count <= slots { return entries.map { [$0] } }
        var out = entries.prefix(slots - 1).map { [$0] }
        out.append(Array(entries.dropFirst(slots - 1)))
        return out
    }

    /// Groups entries by endpoint, keeping the oldest-first order inside each group and ordering the
    /// groups by their oldest entry.
    public static func byEndpoint(_ entries: [OutboxEntry]) -> [(endpointUuid: String, entries: [OutboxEntry])] {
        var order: [String] = []
        var groups: [String: [OutboxEntry]] = [:]
        for e in entries {
            if groups[e.endpointUuid] == nil { order.append(e.endpointUuid) }
            groups[e.endpointUuid, default: []].append(e)
        }
        return order.map { ($0, groups[$0]!) }
    }
}
