import Foundation
import Testing
@testable import StratusMetrics

/// The engine's own rules: out-of-order window, retention, limits, chunk cuts.
@Suite struct TSDBEngineTests {
    static let hour: Int64 = 3_600_000

    func withStore<T>(_ options: TSDBOptions = .keepForever, _ body: (RocksMetricStore, String) async throws -> T) async throws -> T {
        try await withTSDBTempDirectory { dir in
            let store = try RocksMetricStore(path: dir + "/m", options: options)
            defer { store.close() }
            return try await body(store, dir + "/m")
        }
    }

    func points(_ store: RocksMetricStore, _ l: Labels) async throws -> [Point] {
        try await store.select([.equal(Labels.nameKey, l.name)], from: 0, to: .max).first { $0.labels == l }?.points ?? []
    }

    /// `C` keys of series `id`: (maxT, sample count).
    func chunks(_ store: RocksMetricStore, _ id: UInt64) throws -> [(maxT: Int64, count: Int)] {
        var out: [(Int64, Int)] = []
        try store.db.scan(prefix: MetricKey.chunksPrefix(id)) { key, value in
            out.append((MetricKey.maxTOfChunkKey(key), try Chunk(value).header.count))
            return true
        }
        return out
    }

    @Test func outOfOrderInsideTheWindowIsAcceptedAndReplaces() async throws {
        var o = TSDBOptions.keepForever
        o.outOfOrderWindow = 2 * Self.hour
        try await withStore(o) { store, _ in
            let l = testLabels("ooo")
            let base = 10 * Self.hour
            // In the head: 30 s and 10 s after base, then 20 s (inserted) and 30 s again (replaces).
            try await store.write([Sample(labels: l, timestamp: base + 10_000, value: 1), Sample(labels: l, timestamp: base + 30_000, value: 3)])
            var r = try await store.write([Sample(labels: l, timestamp: base + 20_000, value: 2), Sample(labels: l, timestamp: base + 30_000, value: 33)])
            #expect(r.accepted == 2 && r.rejected.isEmpty)
            // The next hour cuts the head; then a sample older than the head goes into the stored chunk.
            try await store.write([Sample(labels: l, timestamp: base + Self.hour + 5_000, value: 4)])
            r = try await store.write([Sample(labels: l, timestamp: base + 15_000, value: 1.5), Sample(labels: l, timestamp: base + 10_000, value: 11)])
            #expect(r.accepted == 2)
            #expect(try await points(store, l) == [
                Point(timestamp: base + 10_000, value: 11), Point(timestamp: base + 15_000, value: 1.5),
                Point(timestamp: base + 20_000, value: 2), Point(timestamp: base + 30_000, value: 33),
                Point(timestamp: base + Self.hour + 5_000, value: 4),
            ])
            // Still one chunk for the first hour, rewritten, with its rollups queued.
            #expect(try chunks(store, 1).map(\.count) == [4])
            var queued = 0
            try store.db.scan(prefix: [MetricKey.queuePrefix]) { _, _ in queued += 1; return true }
            #expect(queued == 1)
        }
    }

    @Test func tooOldAndPastRetentionAreRejectedWithReasonAndCounted() async throws {
        var o = TSDBOptions()
        o.outOfOrderWindow = 60_000
        try await withStore(o) { store, _ in
            let now = RocksMetricStore.wallClock()
            let l = testLabels("rej", ["h": "a"])
            try await store.write([Sample(labels: l, timestamp: now, value: 1)])
            let r = try await store.write([
                Sample(labels: l, timestamp: now - 60_000, value: 2),        // exactly newest - window: too old
                Sample(labels: l, timestamp: now - 59_999, value: 3),        // inside the window
                Sample(labels: l, timestamp: now - 200 * 86_400_000, value: 4),  // past the 180 d retention
            ])
            #expect(r.accepted == 1)
            #expect(r.rejected.map(\.reason) == [.tooOld, .pastRetention])
            #expect(r.rejected[0].message.contains("out-of-order window"))
            #expect(r.rejected[0].sample == Sample(labels: l, timestamp: now - 60_000, value: 2))
            #expect(r.rejected[1].message.contains("retention"))
            let stats = try await store.stats()
            #expect(stats.rejectedSamples == [.tooOld: 1, .pastRetention: 1])
            #expect(try await points(store, l).map(\.value) == [3, 1])
        }
    }

    @Test func aBatchOfSamplesOlderThanARoundMarksTheStoreBehindItsAgents() async throws {
        try await withStore { store, _ in
            let onTime = try store.seriesRef(for: testLabels("late", ["h": "a"]))
            let late = try store.seriesRef(for: testLabels("late", ["h": "b"]))
            var batch = SampleBatch()
            batch.append(onTime, RocksMetricStore.wallClock() - 1_000, 1)
            _ = try store.append(batch)
            #expect(!store.ingestIsBehind, "a sample 1 s old is on time")
            batch = SampleBatch()
            batch.append(late, RocksMetricStore.wallClock() - 60_000, 1)
            // "Behind" lasts a second from the late batch; a busy test machine may take longer than
            // that to get to the checks, so they give the time (`IngestQuiet.isBehind(at:)`).
            let before = IngestQuiet.now()
            _ = try store.append(batch)
            let after = IngestQuiet.now()
            #expect(store.quiet.isBehind(at: before), "a batch whose newest sample is a minute old arrived late: a backlog")
            #expect(!store.quiet.isBehind(at: after + 1_000_000_000), "a second without a late batch ends it")
        }
    }

    @Test func limitsThrowNamingTheLabelAndTheLimit() async throws {
        var o = TSDBOptions.keepForever
        o.maxLabelsPerSeries = 3
        o.maxLabelNameLength = 8
        o.maxLabelValueLength = 10
        o.maxSeries = 2
        try await withStore(o) { store, _ in
            func reason(_ labels: Labels) -> String? {
                do { _ = try store.seriesRef(for: labels); return nil } catch let MetricsError.invalidSample(_, reason) { return reason } catch { return "\(error)" }
            }
            #expect(reason(testLabels("m", ["a": "1", "b": "2", "c": "3"]))?.contains("maxLabelsPerSeries = 3") == true)
            #expect(reason(testLabels("m", ["longlabelname": "1"]))?.contains("maxLabelNameLength = 8") == true)
            let value = reason(testLabels("m", ["a": "12345678901"]))
            #expect(value?.contains("maxLabelValueLength = 10") == true && value?.contains("'a'") == true)
            // Two series fit; the third is refused: thrown by seriesRef, reported by write.
            _ = try store.seriesRef(for: testLabels("m", ["a": "1"]))
            _ = try store.seriesRef(for: testLabels("m", ["a": "2"]))
            #expect(reason(testLabels("m", ["a": "3"]))?.contains("maxSeries = 2") == true)
            let r = try await store.write([Sample(labels: testLabels("m", ["a": "3"]), timestamp: 1, value: 1),
                                           Sample(labels: testLabels("m", ["a": "1"]), timestamp: 1, value: 1)])
            #expect(r.accepted == 1 && r.rejected.map(\.reason) == [.seriesLimit])
            #expect(try await store.stats().rejectedSamples[.seriesLimit] == 1)
            // A write with one over-long value stores nothing of its batch.
            await #expect(throws: MetricsError.self) {
                try await store.write([Sample(labels: testLabels("m", ["a": "1"]), timestamp: 2, value: 1),
                                       Sample(labels: testLabels("m", ["a": "12345678901"]), timestamp: 2, value: 1)])
            }
            #expect(try await store.select([], from: 2, to: 2) == [])
        }
    }

    @Test func headsAreCutAtTheHourAndAtMaxChunkSamples() async throws {
        var o = TSDBOptions.keepForever
        o.maxChunkSamples = 50
        try await withStore(o) { store, _ in
            let ref = try store.seriesRef(for: testLabels("cut"))
            var batch = SampleBatch()
            // 10 s grid over 2 h: 360 samples per hour; hour ends exactly at t = k·1h (belongs to the earlier hour).
            for t in stride(from: Int64(10_000), through: 2 * Self.hour, by: 10_000) { batch.append(ref, t, Double(t / 10_000)) }
            #expect(try store.append(batch).accepted == 720)
            let cs = try chunks(store, ref.id)
            // Hour 1: 360 samples = 7 chunks of 50 + 10; hour 2: 7 full chunks, the rest is the head.
            #expect(cs.map(\.count) == [50, 50, 50, 50, 50, 50, 50, 10, 50, 50, 50, 50, 50, 50, 50])
            #expect(cs[7].maxT == Self.hour)
            for c in cs { #expect(c.count <= 50) }
            #expect(try await store.select([], from: 0, to: .max).first?.points.count == 720)
            #expect(try await store.stats().headSeries == 1)
        }
    }

    @Test func memoryFootprintGrowsWithSeriesAndStaysWithinBudget() async throws {
        try await withStore { store, _ in
            let empty = store.memoryFootprint
            var batch = SampleBatch()
            for i in 0..<2_000 {
                let ref = try store.seriesRef(for: testLabels("mem", ["vm": "vm-\(i)-0123456789abcdef", "host": "h\(i % 50)"]))
                for k in 0..<10 { batch.append(ref, Int64(k) * 10_000 + 10_000, Double(i) + Double(k) / 100) }
            }
            _ = try store.append(batch)
            let used = store.memoryFootprint - empty
            #expect(used > 2_000 * 50)
            #expect(used < 2_000 * 1_024)
        }
    }

    @Test func queriesRunWhileIngestRuns() async throws {
        try await withStore { store, _ in
            let refs = try (0..<20).map { try store.seriesRef(for: testLabels("conc", ["i": String($0)])) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for round in 0..<200 {
                        var b = SampleBatch()
                        for r in refs { b.append(r, Int64(round) * 60_000 + 1, Double(round)) }
                        _ = try store.append(b)
                    }
                }
                group.addTask {
                    for _ in 0..<50 {
                        for s in try await store.select([], from: 0, to: .max) {
                            // Every series' points are strictly increasing and round-valued, never duplicated.
                            #expect(zip(s.points, s.points.dropFirst()).allSatisfy { $0.timestamp < $1.timestamp })
                            #expect(s.points.allSatisfy { $0.value == Double(($0.timestamp - 1) / 60_000) })
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.select([], from: 0, to: .max).map(\.points.count) == Array(repeating: 200, count: 20))
        }
    }
}
