import Synchronization

/// Compiled renderers by (template, recoveryTemplate), so a delivery does not re-parse an endpoint's
/// mustache templates on every attempt. Keyed by the template texts themselves: an edited endpoint
/// gets a new entry. Bounded: past `capacity` entries it starts over.
public final class NoticeRendererCache: Sendable {
    struct Key: Hashable {
        var template: String?
        var recoveryTemplate: String?
    }

    /// The process-wide cache the senders use.
    public static let shared = NoticeRendererCache()

    private let entries = Mutex<[Key: NoticeRenderer]>([:])
    private let capacity: Int

    public init(capacity: Int = 512) {
        self.capacity = capacity
    }

    /// The renderer of `endpoint`'s templates, compiled once.
    public func renderer(for endpoint: SNSEndpoint) -> NoticeRenderer {
        let key = Key(template: endpoint.template, recoveryTemplate: endpoint.recoveryTemplate)
        if key.template == nil && key.recoveryTemplate == nil { return NoticeRenderer(template: nil, recoveryTemplate: nil) }
        if let hit = entries.withLock({ $0[key] }) { return hit }
        let made = NoticeRenderer(template: key.template, recoveryTemplate: key.recoveryTemplate)
        entries.withLock { map in
            if map.count >= capacity { map.removeAll(keepingCapacity: true) }
            map[key] = made
        }
        return made
    }

    /// Entries held (for tests and diagnostics).
    public var count: Int { entries.withLock { $0.count } }
}
