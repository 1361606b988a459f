import Foundation
import Testing
@testable import StratusMetrics

@Suite struct RetentionTests {
    static let hour: Int64 = 3_600_000
    static let start: Int64 = 1_767_225_600_000

    @Test func removesExactlyWhatIsPastTheCutoff() async throws {
        try await withTSDBTempDirectory { dir in
            let db = try RocksDB(path: dir + "/db")
            defer { db.close() }
            // Series 1: 4 hours of 10 s CPU; series 2: only the first hour; series 3: no chunk or
            // rollup (in a store its head is in memory, and `RocksMetricStore.dropSeries` keeps it).
            var rng = SplitMix64(seed: 11)
            let s1 = zip((1...1440).map { Self.start + Int64($0) * 10_000 }, ValueShape.cpuGauge.values(1440, &rng)).map { Point(timestamp: $0, value: $1) }
            let s2 = Array(s1.prefix(300))
            try V2Keys.writeChunks(db, id: 1, s1)
            try V2Keys.writeChunks(db, id: 2, s2)
            try db.put(V2Keys.labels(3), Array("series-3".utf8))
            let builder = RollupBuilder(db: db)
            _ = try builder.buildPending(limit: 100)
            // A stale queue entry from before the cutoff, and one after it.
            try db.put(V2Keys.queue(hour: Self.start + Self.hour, 1), [])
            try db.put(V2Keys.queue(hour: Self.start + 4 * Self.hour, 1), [])

            let chunksBefore = try V2Keys.allChunks(db)
            var bucketsBefore: [RollupResolution: [UInt64: [RollupBucket]]] = [:]
            for res in RollupResolution.allCases {
                for id: UInt64 in [1, 2] { bucketsBefore[res, default: [:]][id] = try builder.buckets(seriesID: id, resolution: res, from: 0, to: Self.start + 10 * Self.hour) }
            }

            // Cutoff in the middle of hour 2 (not on a chunk or bucket boundary).
            let cutoff = Self.start + Self.hour + 1_234_567
            let report = try Retention.run(db: db, cutoff: cutoff)

            let expectedDeleted = chunksBefore.filter { $0.chunk.header.maxT < cutoff }.count
            let expectedRewritten = chunksBefore.filter { $0.chunk.header.minT < cutoff && $0.chunk.header.maxT >= cutoff }.count
            #expect(report.chunksDeleted == expectedDeleted && expectedDeleted == 2)
            #expect(report.chunksRewritten == expectedRewritten && expectedRewritten == 1)
            #expect(report.emptiedSeries == [2, 3])

            // Raw: every sample >= cutoff is still there, nothing older.
            var remaining: [UInt64: [Point]] = [:]
            for (id, _, chunk) in try V2Keys.allChunks(db) { remaining[id, default: []] += try chunk.points() }
            #expect(pointBits(remaining[1] ?? []) == pointBits(s1.filter { $0.timestamp >= cutoff }))
            #expect(remaining[2] == nil)

            // Rollups: buckets ending before the cutoff are gone, the rest unchanged.
            var expectedBucketsDeleted = 0
            for res in RollupResolution.allCases {
                for id: UInt64 in [1, 2] {
                    let before = bucketsBefore[res]![id]!
                    let after = try builder.buckets(seriesID: id, resolution: res, from: Int64.min, to: Self.start + 10 * Self.hour)
                    #expect(after == before.filter { $0.end >= cutoff }, "\(res) series \(id)")
                    expectedBucketsDeleted += before.count - after.count
                }
            }
            #expect(report.bucketsDeleted == expectedBucketsDeleted && expectedBucketsDeleted > 0)

            // Queue: hours ending before the cutoff dropped; the straddled hour queued for a rebuild.
            let queue = try V2Keys.keys(db, prefix: UInt8(ascii: "Q"))
            #expect(Set(queue) == [V2Keys.queue(hour: Self.start + 2 * Self.hour, 1), V2Keys.queue(hour: Self.start + 4 * Self.hour, 1)])

            // A second run removes nothing.
            let second = try Retention.run(db: db, cutoff: cutoff)
            #expect(second.chunksDeleted == 0 && second.chunksRewritten == 0 && second.bucketsDeleted == 0)
            #expect(second.emptiedSeries == [2, 3])
            var again: [UInt64: [Point]] = [:]
            for (id, _, chunk) in try V2Keys.allChunks(db) { again[id, default: []] += try chunk.points() }
            #expect(pointBits(again[1] ?? []) == pointBits(remaining[1] ?? []))

            // The rebuilt straddled hour still agrees with the remaining raw data.
            _ = try builder.buildPending(limit: 100)
            let hourBucket = try builder.buckets(seriesID: 1, resolution: .hour, from: Self.start + Self.hour, to: Self.start + 2 * Self.hour)
            let rawHour = s1.filter { $0.timestamp >= cutoff && $0.timestamp <= Self.start + 2 * Self.hour }
            #expect(hourBucket.count == 1 && hourBucket.first?.aggregate.count == rawHour.count)
        }
    }
}
