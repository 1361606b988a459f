import Control
import Hummingbird
import Logging
import ServiceLifecycle
import StratusMetrics
import Synchronization

/// `Authorization: Bearer <agentToken>` → the host the token belongs to. Known tokens are kept in
/// memory by their SHA-256 (the inventory is asked only on a miss); unknown ones are never cached.
final class AgentTokenAuth: Sendable {
    private let tokens: any AgentTokenStore
    /// SHA-256 hex of a token → host uuid.
    private let cache = Mutex<[String: String]>([:])

    init(tokens: any AgentTokenStore) { self.tokens = tokens }

    /// The host of the request's bearer token; 401 naming what is wrong otherwise.
    func hostUuid(_ request: Request) async throws -> String {
        guard let header = request.headers[.authorization] else {
            throw Self.unauthorized("send 'Authorization: Bearer <agentToken>' (the token POST \(AgentProtocol.registerPath) answered)")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Self.unauthorized("agent calls authenticate with 'Authorization: Bearer <agentToken>', not '\(parts.first ?? "")'")
        }
        let hash = AgentToken.hash(parts[1].trimmingCharacters(in: .whitespaces))
        if let host = cache.withLock({ $0[hash] }) { return host }
        guard let host = try await tokens.agentHost(tokenHash: hash) else {
            throw Self.unauthorized("unknown agent token: it was never issued or the host was registered again since; register the host (POST \(AgentProtocol.registerPath)) and restart the agent with the new --token")
        }
        cache.withLock { $0[hash] = host }
        return host
    }

    /// Forgets the tokens of `hostUuid` (its token was rotated).
    func forget(hostUuid: String) {
        cache.withLock { c in c = c.filter { $0.value != hostUuid } }
    }

    static func unauthorized(_ details: String) -> APIError {
        APIError(.unauthorized, code: "ID.1001", description: "agent authentication failed", details: details)
    }
}

/// Knows when each agent host last pushed; marks a host Connected on its first push (a write only
/// when that changes) and Disconnected when it stays silent longer than `threshold`.
final class AgentHostTracker: Sendable {
    struct Entry {
        var lastSeen: Int64
        var connected: Bool
        var dropped: Int64 = 0
    }

    private let inventory: any InventoryStore
    private let clock: any WallClock
    private let logger: Logger
    /// Silence (ms) after which a host is marked Disconnected.
    let threshold: Int64
    private let entries = Mutex<[String: Entry]>([:])

    /// `interval` is the collection interval; a host is lost after 3 intervals or 3 minutes, whichever is longer.
    init(inventory: any InventoryStore, clock: any WallClock, interval: Int64, logger: Logger) {
        self.inventory = inventory
        self.clock = clock
        self.logger = logger
        self.threshold = max(3 * 60_000, 3 * interval)
    }

    /// Agent hosts heard from within `threshold`.
    var connectedCount: Int {
        let now = clock.now()
        return entries.withLock { $0.values.count { $0.connected && now - $0.lastSeen <= threshold } }
    }

    /// Records a call from `hostUuid`'s agent; `dropped` is its `X-Stratus-Agent-Dropped` header.
    func seen(_ hostUuid: String, dropped: Int64? = nil) async {
        let now = clock.now()
        let (becameConnected, newlyDropped) = entries.withLock { e -> (Bool, Int64) in
            var entry = e[hostUuid] ?? Entry(lastSeen: now, connected: false)
            let was = entry.connected
            entry.lastSeen = now
            entry.connected = true
            var more: Int64 = 0
            if let dropped, dropped > entry.dropped {
                more = dropped - entry.dropped
                entry.dropped = dropped
            }
            e[hostUuid] = entry
            return (!was, more)
        }
        if newlyDropped > 0 {
            logger.warning("agent of host \(hostUuid) reports \(dropped ?? 0) sample(s) dropped from its full disk buffer (\(newlyDropped) since last heard)")
        }
        guard becameConnected else { return }
        do {
            try await inventory.setHostStatus(uuid: hostUuid, status: "Connected", at: now)
        } catch {
            entries.withLock { $0[hostUuid]?.connected = false }
            logger.error("cannot mark host \(hostUuid) Connected: \(error)")
        }
    }

    /// Starts watching hosts that have an agent token, as if just heard from (after a manager
    /// restart an agent that never comes back is still marked Disconnected).
    func watch(_ hostUuids: [String]) {
        let now = clock.now()
        entries.withLock { e in
            for h in hostUuids where e[h] == nil { e[h] = Entry(lastSeen: now, connected: true) }
        }
    }

    /// Marks every host silent past `threshold` Disconnected. Returns their uuids.
    @discardableResult
    func checkOnce() async -> [String] {
        let now = clock.now()
        let lost = entries.withLock { e -> [String] in
            var out: [String] = []
            for (h, entry) in e where entry.connected && now - entry.lastSeen > threshold {
                e[h]?.connected = false
                out.append(h)
            }
            return out
        }
        for h in lost {
            logger.warning("agent of host \(h) silent for more than \(threshold / 1000) s: marking the host Disconnected")
            do {
                try await inventory.setHostStatus(uuid: h, status: "Disconnected", at: now)
            } catch {
                logger.error("cannot mark host \(h) Disconnected: \(error)")
            }
        }
        return lost
    }
}

/// Runs `AgentHostTracker.checkOnce` every `period` ms (real time) until shutdown.
struct AgentLivenessService: Service {
    let tracker: AgentHostTracker
    let tokens: any AgentTokenStore
    let clock: any WallClock
    let period: Int64
    let logger: Logger

    func run() async throws {
        do {
            if let hosts = try? await tokens.agentHostUuids() { tracker.watch(hosts) }
            // Real-time sleeps (cancellable at shutdown whatever the clock); `clock` dates the checks.
            try await cancelWhenGracefulShutdown {
                while true {
                    try await Task.sleep(for: .milliseconds(period))
                    await tracker.checkOnce()
                }
            }
        } catch is CancellationError {
            logger.debug("agent liveness check stopped")
        }
    }
}
