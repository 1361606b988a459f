import Alarms
import Control
import Foundation
import Logging
import StratusMetrics

/// The alarms part of `stratus serve`: the store, the built-in alarms and the `AlarmService`.
enum ServeAlarms {
    /// Opens `<dataDir>/alarms.sqlite`, creates the built-in alarms on a brand-new store and builds
    /// the service (evaluation, event notifications, delivery through email / DingTalk / HTTP).
    static func start(dataDir: URL, metricStore: any MetricStore, inventory: any InventoryStore, clock: any WallClock,
                      settings: AlarmServiceSettings, logger: Logger) async throws -> AlarmService {
        let path = dataDir.appendingPathComponent("alarms.sqlite").path
        let store: SQLiteAlarmStore
        do { store = try SQLiteAlarmStore(path: path) } catch let e as AlarmKeyError { throw StartupError(e.description) }
        let created = try await BuiltInAlarms.ensure(in: store, at: clock.now())
        if !created.isEmpty { logger.info("created \(created.count) built-in alarms") }
        return AlarmService(store: store, metrics: metricStore, inventory: inventory, sender: EndpointSender(), clock: clock,
                            settings: settings, logger: logger)
    }

    /// Settings from the resolved configuration (`ServeConfiguration` has already folded flags,
    /// environment and file); nil takes the defaults (10 s, 24 h, 30 d). Each round runs half an
    /// interval after its grid slot, once the slot's samples have arrived.
    static func settings(interval: Int?, maxAge maxAgeText: String?, historyRetention retentionText: String?) throws -> AlarmServiceSettings {
        var s = AlarmServiceSettings()
        let seconds = interval ?? 10
        guard (1...3600).contains(seconds) else {
            throw StartupError("alarm evaluation interval \(seconds) s is out of range; use 1-3600 seconds (--alarm-interval)")
        }
        s.evaluationInterval = Int64(seconds) * 1000
        // Mid-slot: samples are stamped at the slot's start and agents push them within its first
        // ~3 s, so at half the interval the slot is complete and the round stays out of the push burst.
        s.evaluationOffset = s.evaluationInterval / 2
        // At 10,000 hosts the burst lasts ~4-6 s, past mid-slot: the round then waits for it to
        // end, until 90 % of the interval at the latest (before the next slot's burst).
        s.ingestLullLimit = s.evaluationInterval * 2 / 5
        // In an ingest backlog at most two rounds in three are skipped: an alarm then fires at
        // most two intervals later, and the backlog gets the CPU of the rounds (seconds each at
        // 10,000 hosts once they run inside the pushes).
        s.maxRoundsSkippedInBacklog = 2
        if let text = maxAgeText {
            guard let ms = parseDuration(text), ms >= 60_000, ms <= 30 * 86_400_000 else {
                throw StartupError("delivery max age '\(text)' is not a duration from 1m to 30d; write e.g. 3600, 90m, 24h or 7d (--delivery-max-age)")
            }
            s.delivery.maxAge = ms
        }
        if let text = retentionText {
            guard let ms = parseDuration(text), ms >= 3_600_000, ms <= 3650 * 86_400_000 else {
                throw StartupError("alarm history retention '\(text)' is not a duration from 1h to 3650d; write e.g. 30d, 72h or 365d (--alarm-history-retention)")
            }
            s.historyRetention = ms
        }
        return s
    }

    /// `90` (seconds), `90s`, `15m`, `24h`, `7d` → ms.
    static func parseDuration(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
        if let last = t.last, let unit = units[last] {
            return Int64(t.dropLast()).map { $0 * unit }
        }
        return Int64(t).map { $0 * 1000 }
    }
}
