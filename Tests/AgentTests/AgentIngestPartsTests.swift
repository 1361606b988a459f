import Control
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import StratusMetrics
import Testing
import Web

@Suite struct AgentIngestPartsTests {
    @Test func theSeriesCacheKeepsEveryEntryAcrossGrowthAndStartsOverAtItsLimit() {
        var cache = SeriesKeyCache(initialCapacity: 16, limit: 5000)
        func key(_ i: Int) -> SeriesKeyCache.Key {
            Array("ZStack:VM::CPUUsedUtilization{VMUuid=\"\(i)\",HostUuid=\"h\"}".utf8).withUnsafeBufferPointer { SeriesKeyCache.key($0) }
        }
        for i in 0..<4000 { cache.insert(key(i), SeriesRef(id: UInt64(i + 1)), owner: UInt32(i % 3)) }
        #expect(cache.count == 4000)
        for i in 0..<4000 {
            let hit = cache.lookup(key(i))
            #expect(hit?.ref.id == UInt64(i + 1) && hit?.owner == UInt32(i % 3))
        }
        #expect(cache.lookup(key(4001)) == nil)
        for i in 4000..<5001 { cache.insert(key(i), SeriesRef(id: UInt64(i + 1))) }
        #expect(cache.count == 1, "past the limit it starts over")
        #expect(cache.lookup(key(5000))?.ref.id == 5001)
    }

    @Test func lagQuantilesFollowTheRecordedLagsAndAgeOutOfTheWindow() {
        var lag = IngestLagStats(window: 60_000, slotCount: 6)
        for _ in 0..<98 { lag.record(100, at: 1_000) }
        lag.record(4_000, at: 1_000)
        lag.record(9_000, at: 1_000)
        let s = lag.summary(at: 2_000)
        #expect(s.count == 100)
        #expect(s.p50 >= 100 && s.p50 < 120, "p50 \(s.p50)")
        #expect(s.p99 >= 4_000 && s.p99 < 4_800, "p99 \(s.p99)")
        #expect(s.max == 9_000)
        #expect(lag.summary(at: 200_000).count == 0, "old slots leave the window")
    }

    @Test func aLagJustUnderTheFiveSecondTargetReadsUnderIt() {
        // Between 4 and 8 s the buckets are 512 ms wide: 4.5 s reads 4,607 ms, 5.05 s reads 5,119 ms.
        // (One far larger lag each, so the p99 is its bucket's bound and not capped by the max.)
        var under = IngestLagStats(window: 60_000, slotCount: 6)
        for _ in 0..<99 { under.record(4_500, at: 1_000) }
        under.record(9_000, at: 1_000)
        #expect(under.summary(at: 2_000).p99 == 4_607)
        var over = IngestLagStats(window: 60_000, slotCount: 6)
        for _ in 0..<99 { over.record(5_050, at: 1_000) }
        over.record(9_000, at: 1_000)
        #expect(over.summary(at: 2_000).p99 == 5_119)
        // Every bucket's bound is at most 12.5 % above any lag it holds, and buckets are ordered.
        for ms: Int64 in [1, 2, 3, 7, 8, 9, 100, 1_000, 4_096, 4_607, 4_608, 65_000, 1_000_000] {
            let b = IngestLagStats.bucket(ms)
            let upper = IngestLagStats.upperBound(b)
            #expect(upper >= ms && Double(upper) <= Double(ms) * 1.125 + 1, "\(ms) ms → bucket \(b) up to \(upper)")
            #expect(b == 0 || IngestLagStats.upperBound(b - 1) < ms, "\(ms) ms belongs to an earlier bucket")
        }
    }

    @Test func aSilentAgentHostIsMarkedDisconnectedAndComesBackOnItsNextCall() async throws {
        let dir = agentTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inventory = try SQLiteInventoryStore(path: dir + "/inventory.sqlite")
        let store = try RocksMetricStore(path: dir + "/metrics")
        defer { store.close() }
        _ = try await inventory.createAccount(name: "admin", passwordHash: PasswordHasher.hash(AgentFixture.password, iterations: 1_000),
                                              type: "SystemAdmin", at: 0)
        let zone = try await inventory.createZone(name: "z", description: "", at: 0)
        _ = try await inventory.createCluster(name: "c", zoneUuid: zone.uuid, hypervisorType: "KVM", at: 0)
        let clock = ManualWallClock(start: 1_800_000_000_000)
        let app = try await StratusWeb.application(
            WebDependencies(inventory: inventory, metricStore: store, clock: clock, collectionInterval: 1_000),
            host: "127.0.0.1", port: 0, logger: Logger(label: "test"))
        try await app.test(.live) { c in
            let s = try await c.session()
            let (host, token) = try await c.register("kvm-quiet", session: s)
            try await c.execute(uri: AgentProtocol.helloPath, method: .get, headers: bearer(token)) { r in #expect(r.status == .ok) }
            // 3 minutes (> 3 intervals) of silence; the check runs every second.
            clock.advance(to: clock.now() + 3 * 60_000 + 1_000)
            var status = ""
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                status = try await inventory.host(uuid: host).status
                if status == "Disconnected" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(status == "Disconnected")
            try await c.execute(uri: AgentProtocol.helloPath, method: .get, headers: bearer(token)) { r in #expect(r.status == .ok) }
            #expect(try await inventory.host(uuid: host).status == "Connected")
        }
    }
}
