import Foundation
import Testing
@testable import StratusMetrics

@Suite struct RollupBuilderTests {
    static let hour: Int64 = 3_600_000
    /// Two hours before a day boundary, so 5 m windows (days) split and are read-modify-written.
    static let start: Int64 = 1_767_225_600_000 - 2 * hour

    /// Raw data of three series over 5 hours: a 10 s CPU grid, an irregular counter with resets,
    /// and a series with NaN and ±Inf.
    static func series() -> [UInt64: [Point]] {
        var rng = SplitMix64(seed: 77)
        var out: [UInt64: [Point]] = [:]
        let n = 5 * 360
        out[1] = zip(TimeShape.grid.times(n, &rng).map { $0 - TimeShape.grid.times(1, &rng)[0] + start + 10_000 },
                     ValueShape.cpuGauge.values(n, &rng)).map { Point(timestamp: $0, value: $1) }
        var t = start + 1
        var irregular: [Int64] = []
        while t <= start + 5 * hour { irregular.append(t); t += Int64.random(in: 1...90_000, using: &rng) }
        out[2] = zip(irregular, ValueShape.counterResets.values(irregular.count, &rng)).map { Point(timestamp: $0, value: $1) }
        out[3] = zip(irregular, ValueShape.specials.values(irregular.count, &rng)).map { Point(timestamp: $0, value: $1) }
        return out
    }

    /// Every bucket of every resolution equals the reference window aggregate over the raw points.
    static func expectAgreement(_ builder: RollupBuilder, _ data: [UInt64: [Point]], sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (id, points) in data.sorted(by: { $0.key < $1.key }) {
            for res in RollupResolution.allCases {
                let r = res.milliseconds
                let first = (points.first!.timestamp + r - 1) / r * r
                let last = (points.last!.timestamp + r - 1) / r * r
                let reference = aggregateWindows([SeriesPoints(labels: Labels([:]), points: points)], start: first, end: last, step: r, window: r)
                let expected = reference[0].windows.enumerated().compactMap { k, a in a.map { RollupBucket(end: first + Int64(k) * r, aggregate: $0) } }
                let got = try builder.buckets(seriesID: id, resolution: res, from: first - r, to: last)
                #expect(got.map(\.end) == expected.map(\.end), "series \(id) \(res)", sourceLocation: sourceLocation)
                for (g, e) in zip(got, expected) {
                    let values = points.filter { $0.timestamp > e.end - r && $0.timestamp <= e.end }.map(\.value)
                    #expect(aggregatesAgree(g.aggregate, e.aggregate, values: values), "series \(id) \(res) bucket \(e.end): \(g.aggregate) vs \(e.aggregate)",
                            sourceLocation: sourceLocation)
                }
            }
        }
    }

    @Test func rollupsAgreeWithRawIncludingAnOutOfOrderRewrite() async throws {
        try await withTSDBTempDirectory { dir in
            let db = try RocksDB(path: dir + "/db")
            defer { db.close() }
            var data = Self.series()
            for (id, points) in data { try V2Keys.writeChunks(db, id: id, points, maxSamples: 100) }
            let builder = RollupBuilder(db: db)
            #expect(try builder.rolledUpThrough(openFrom: Self.start + 10 * Self.hour) == nil)
            let queued = try V2Keys.keys(db, prefix: UInt8(ascii: "Q")).count
            var built = 0
            while true {
                let n = try builder.buildPending(limit: 4)
                #expect(n <= 4)
                if n == 0 { break }
                built += n
            }
            #expect(built == queued && queued == 3 * 5)
            #expect(try V2Keys.keys(db, prefix: UInt8(ascii: "Q")).isEmpty)
            try Self.expectAgreement(builder, data)
            #expect(try builder.rolledUpThrough(openFrom: Self.start + 5 * Self.hour) == Self.start + 4 * Self.hour)

            // An out-of-order write lands in hour 2 of series 1: the engine merges it into the
            // stored chunk(s) and re-queues the hour; the rebuild must pick it up.
            let hourEnd = Self.start + 2 * Self.hour
            let late = [Point(timestamp: hourEnd - 1, value: 99.99), Point(timestamp: hourEnd - 3_600_000 + 1, value: -5)]
            let inHour = data[1]!.filter { $0.timestamp > hourEnd - Self.hour && $0.timestamp <= hourEnd }
            let batch = RocksWriteBatch()
            for p in inHour { batch.delete(V2Keys.chunk(1, maxT: p.timestamp)) }   // drop the hour's old chunks
            try db.write(batch, sync: false)
            data[1] = ChunkCodec.merge(existing: data[1]!, incoming: late)
            try V2Keys.writeChunks(db, id: 1, data[1]!.filter { $0.timestamp > hourEnd - Self.hour && $0.timestamp <= hourEnd })
            #expect(try builder.rolledUpThrough(openFrom: Self.start + 5 * Self.hour) == hourEnd - Self.hour)
            #expect(try builder.buildPending(limit: 100) == 1)
            try Self.expectAgreement(builder, data)
            // Idempotent: building the same entry again changes nothing.
            try db.put(V2Keys.queue(hour: hourEnd, 1), [])
            #expect(try builder.buildPending(limit: 100) == 1)
            try Self.expectAgreement(builder, data)
        }
    }

    /// A pass in slices with one cursor builds every queued entry once, leaves an entry queued
    /// behind the cursor for the next pass, and agrees with the raw data like a pass without one.
    @Test func aCursorPassBuildsEachEntryOnceAndLeavesLateEntriesForTheNextPass() async throws {
        try await withTSDBTempDirectory { dir in
            let db = try RocksDB(path: dir + "/db")
            defer { db.close() }
            let data = Self.series()
            for (id, points) in data { try V2Keys.writeChunks(db, id: id, points, maxSamples: 100) }
            let builder = RollupBuilder(db: db)
            let queued = try V2Keys.keys(db, prefix: UInt8(ascii: "Q"))
            #expect(queued.count == 3 * 5)
            var cursor: [UInt8]?
            var built = 0, slices = 0
            while true {
                let n = try builder.buildPending(limit: 4, after: &cursor)
                if n == 0 { break }
                built += n
                slices += 1
                #expect(cursor == queued[built - 1], "the cursor is the last entry taken")
                if slices == 2 {
                    // Re-queued behind the cursor (an out-of-order rewrite of an hour already built).
                    try db.put(queued[0], [])
                }
                if n < 4 { break }
            }
            #expect(built == queued.count)
            #expect(try V2Keys.keys(db, prefix: UInt8(ascii: "Q")) == [queued[0]], "the late entry waits for the next pass")
            var next: [UInt8]?
            #expect(try builder.buildPending(limit: 4, after: &next) == 1)
            #expect(try V2Keys.keys(db, prefix: UInt8(ascii: "Q")).isEmpty)
            try Self.expectAgreement(builder, data)
        }
    }

    /// The engine builds rollups outside its store lock and writes them inside it: an entry whose
    /// chunk was rewritten (and queued again) between the pass reading it and writing stays queued,
    /// so the next pass replaces the rollups built from the old chunk.
    @Test func anEntryQueuedAgainWhileItsBatchIsBuiltStaysForTheNextPass() async throws {
        try await withTSDBTempDirectory { dir in
            let db = try RocksDB(path: dir + "/db")
            defer { db.close() }
            var data = Self.series()
            for (id, points) in data { try V2Keys.writeChunks(db, id: id, points, maxSamples: 100) }
            let builder = RollupBuilder(db: db)
            let hour = V2Keys.hourEnd(Self.start + 5 * Self.hour / 2)
            let requeued = V2Keys.queue(hour: hour, 1)
            var writes = 0
            var cursor: [UInt8]?
            let built = try builder.buildPending(limit: 100, after: &cursor) { write in
                writes += 1
                if writes == 1 {
                    // An out-of-order merge lands: series 1's hour is rewritten and queued again.
                    data[1] = data[1]!.map { $0.timestamp > hour - Self.hour && $0.timestamp <= hour ? Point(timestamp: $0.timestamp, value: $0.value + 1_000) : $0 }
                    try V2Keys.writeChunks(db, id: 1, data[1]!, maxSamples: 100)
                    try db.put(requeued, RollupKeys.queueStamp())
                }
                try write()
            }
            #expect(built == 3 * 5 && writes == 1)
            #expect(try V2Keys.keys(db, prefix: UInt8(ascii: "Q")) == [requeued], "only the entry queued again is left")
            #expect(try builder.buckets(seriesID: 1, resolution: .hour, from: hour - Self.hour, to: hour).first?.aggregate.max ?? 0 < 1_000,
                    "the rollups written were built from the chunk before the rewrite")
            #expect(try builder.buildPending(limit: 100) == 1)
            #expect(try V2Keys.keys(db, prefix: UInt8(ascii: "Q")).isEmpty)
            try Self.expectAgreement(builder, data)
        }
    }

    @Test func bucketsAreFilteredToTheRequestedRange() async throws {
        try await withTSDBTempDirectory { dir in
            let db = try RocksDB(path: dir + "/db")
            defer { db.close() }
            let points = (1...720).map { Point(timestamp: Self.start + Int64($0) * 10_000, value: Double($0)) }
            try V2Keys.writeChunks(db, id: 5, points)
            let builder = RollupBuilder(db: db)
            _ = try builder.buildPending(limit: 10)
            let from = Self.start + 25 * 60_000
            let to = Self.start + 95 * 60_000
            let got = try builder.buckets(seriesID: 5, resolution: .minute, from: from, to: to)
            #expect(got.map(\.end) == Array(stride(from: from + 60_000, through: to, by: 60_000)))
            #expect(try builder.buckets(seriesID: 6, resolution: .minute, from: from, to: to).isEmpty)
            #expect(try builder.buckets(seriesID: 5, resolution: .hour, from: Self.start, to: Self.start + 2 * Self.hour).map(\.aggregate.count) == [360, 360])
        }
    }

    @Test func rollupSizePerRawSample() async throws {
        try await withTSDBTempDirectory { dir in
            let db = try RocksDB(path: dir + "/db")
            defer { db.close() }
            let points = generatedPoints(seed: 5, count: 8640, values: .cpuGauge, times: .grid)
            try V2Keys.writeChunks(db, id: 1, points)
            _ = try RollupBuilder(db: db).buildPending(limit: 1000)
            var sizes: [UInt8: Int] = [:]
            try db.scan(prefix: [UInt8(ascii: "R")]) { k, v in sizes[k[1], default: 0] += v.count; return true }
            var chunkBytes = 0
            try db.scan(prefix: [UInt8(ascii: "C")]) { _, v in chunkBytes += v.count; return true }
            let perSample = { (n: Int) in String(format: "%.3f", Double(n) / Double(points.count)) }
            print("rollups per raw CPU sample (24 h, 10 s): raw chunks \(perSample(chunkBytes)), 1m \(perSample(sizes[1] ?? 0)), 5m \(perSample(sizes[2] ?? 0)), 1h \(perSample(sizes[3] ?? 0)) bytes")
            #expect(sizes.count == 3)
        }
    }
}
