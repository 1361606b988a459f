import Foundation
import PropertyBased
import Testing
@testable import StratusMetrics

@Suite struct ChunkCodecTests {
    static let counts = Gen.int(in: 1...400)

    @Test func builderRoundTripsEveryBitPattern() async throws {
        await propertyCheck(count: 300, input: Gen.uint64(), Gen<ValueShape>.case, Gen<TimeShape>.case, Self.counts) { seed, vs, ts, n in
            let points = generatedPoints(seed: seed, count: n, values: vs, times: ts)
            var builder = ChunkBuilder()
            for p in points { builder.append(p.timestamp, p.value) }
            let chunk = try Chunk(builder.bytes())
            #expect(pointBits(try chunk.points()) == pointBits(points), "\(vs) \(ts) n=\(n)")
            #expect(builder.count == n && builder.minT == points[0].timestamp && builder.maxT == points[n - 1].timestamp)
            #expect(chunk.header.count == n && chunk.header.minT == points[0].timestamp && chunk.header.maxT == points[n - 1].timestamp)
            let expected = try #require(WindowAggregate.of(points))
            #expect(aggregatesAgree(chunk.header.aggregate, expected, values: points.map(\.value)), "\(vs) \(ts) n=\(n)")
            let live = try #require(builder.aggregate)
            #expect(pointBits([Point(timestamp: 0, value: live.sum), Point(timestamp: 0, value: live.min), Point(timestamp: 0, value: live.max),
                          Point(timestamp: 0, value: live.last)])
                == pointBits([Point(timestamp: 0, value: chunk.header.aggregate.sum), Point(timestamp: 0, value: chunk.header.aggregate.min),
                         Point(timestamp: 0, value: chunk.header.aggregate.max), Point(timestamp: 0, value: chunk.header.aggregate.last)]))
        }
    }

    @Test func encodeMatchesBuilderAndDecodeIntoArrays() async throws {
        await propertyCheck(count: 100, input: Gen.uint64(), Gen<ValueShape>.case, Gen<TimeShape>.case, Self.counts) { seed, vs, ts, n in
            let points = generatedPoints(seed: seed, count: n, values: vs, times: ts)
            let bytes = ChunkCodec.encode(points)
            var times: [Int64] = [7]
            var values: [Double] = [7]
            try Chunk(bytes).decode(timestamps: &times, values: &values)
            #expect(times == [7] + points.map(\.timestamp))
            #expect(values.map(\.bitPattern) == [Double(7).bitPattern] + points.map(\.value.bitPattern))
        }
    }

    @Test func reopeningThenAppendingGivesTheSameChunk() async throws {
        await propertyCheck(count: 200, input: Gen.uint64(), Gen<ValueShape>.case, Gen<TimeShape>.case, Self.counts) { seed, vs, ts, n in
            let points = generatedPoints(seed: seed, count: n, values: vs, times: ts)
            var rng = SplitMix64(seed: seed ^ 0xABCD)
            let split = Int.random(in: 0...n, using: &rng)
            var builder = try ChunkBuilder(reopening: ChunkCodec.encode(points[..<split]))
            #expect(builder.count == split)
            for p in points[split...] { builder.append(p.timestamp, p.value) }
            #expect(builder.bytes() == ChunkCodec.encode(points), "\(vs) \(ts) n=\(n) split=\(split)")
            #expect(pointBits(try Chunk(builder.bytes()).points()) == pointBits(points))
        }
    }

    @Test func maxSamplesAndSumOverflow() throws {
        // 2,000 mantissas near 2^53 overflow an Int64 sum: the chunk must fall back to float mode.
        for shape in ValueShape.allCases {
            let points = generatedPoints(seed: 42, count: 2000, values: shape, times: .grid)
            let chunk = try Chunk(ChunkCodec.encode(points))
            #expect(pointBits(try chunk.points()) == pointBits(points), "\(shape)")
            #expect(aggregatesAgree(chunk.header.aggregate, WindowAggregate.of(points)!, values: points.map(\.value)), "\(shape)")
        }
    }

    @Test func emptyBuilder() throws {
        let builder = ChunkBuilder()
        #expect(builder.count == 0 && builder.aggregate == nil)
        let chunk = try Chunk(builder.bytes())
        #expect(chunk.header.count == 0)
        #expect(try chunk.points().isEmpty)
        var reopened = try ChunkBuilder(reopening: builder.bytes())
        reopened.append(5, 1.5)
        #expect(try Chunk(reopened.bytes()).points() == [Point(timestamp: 5, value: 1.5)])
    }

    @Test func truncatedOrBadBytesThrowCorrupt() throws {
        for shape in [ValueShape.cpuGauge, .specials, .constant] {
            let bytes = ChunkCodec.encode(generatedPoints(seed: 7, count: 50, values: shape, times: .jitter))
            for cut in 0..<bytes.count {
                let prefix = Array(bytes[..<cut])
                #expect(throws: MetricsError.self, "\(shape) cut at \(cut)") { try Chunk(prefix).forEach { _, _ in } }
                #expect(throws: MetricsError.self) { try ChunkBuilder(reopening: prefix) }
            }
            var bad = bytes
            bad[0] = 0x13
            #expect(throws: MetricsError.self) { try Chunk(bad) }
            #expect(throws: MetricsError.self) { try Chunk(bytes + [0]).forEach { _, _ in } }
        }
    }

    @Test func mergeReplacesDuplicatesWithIncoming() async throws {
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            func randomPoints() -> [Point] {
                (0..<Int.random(in: 0...40, using: &rng)).map { _ in
                    Point(timestamp: Int64.random(in: 0...30, using: &rng), value: Double(Int.random(in: 0...1000, using: &rng)))
                }
            }
            let existing = randomPoints()
            let incoming = randomPoints()
            let merged = ChunkCodec.merge(existing: existing, incoming: incoming)
            // Reference: a dictionary where incoming (in order) overwrites existing (in order).
            var expected: [Int64: Double] = [:]
            for p in existing + incoming { expected[p.timestamp] = p.value }
            #expect(merged.map(\.timestamp) == expected.keys.sorted())
            #expect(merged.allSatisfy { expected[$0.timestamp] == $0.value })
            let decoded = try Chunk(ChunkCodec.encode(merged)).points()
            #expect(pointBits(decoded) == pointBits(merged))
        }
    }

    @Test func memoryFootprintOfAFullHeadStaysSmall() {
        var builder = ChunkBuilder()
        for p in generatedPoints(seed: 3, count: 360, values: .cpuGauge, times: .grid) { builder.append(p.timestamp, p.value) }
        print("ChunkBuilder: 360 CPU samples hold \(builder.memoryFootprint) bytes (\(MemoryLayout<ChunkBuilder>.size) inline)")
        #expect(builder.memoryFootprint <= 1024)
        #expect(builder.memoryFootprint >= builder.bytes().count / 2)
    }

    @Test func bytesPerSampleOfRealisticSeries() throws {
        // 24 h at 10 s: CPU % with 2 decimals (diurnal + noise), and an integer byte rate.
        var rng = SplitMix64(seed: 2026)
        let start: Int64 = 1_767_225_600_000
        let n = 8640
        let cpu = (0..<n).map { i -> Point in
            let day = sin(Double(i) / Double(n) * 2 * .pi)
            let v = max(0, min(100, 35 + 20 * day + Double.random(in: -4...4, using: &rng)))
            return Point(timestamp: start + Int64(i) * 10_000, value: (v * 100).rounded() / 100)
        }
        let rate = (0..<n).map { i -> Point in
            let day = sin(Double(i) / Double(n) * 2 * .pi)
            let v = max(0, 2_000_000 + 1_500_000 * day + Double.random(in: -200_000...200_000, using: &rng))
            return Point(timestamp: start + Int64(i) * 10_000, value: v.rounded())
        }
        for (name, series) in [("cpu 2-decimal gauge", cpu), ("integer byte rate", rate)] {
            var total = 0
            for hour in stride(from: 0, to: n, by: 360) {
                let bytes = ChunkCodec.encode(series[hour..<min(n, hour + 360)])
                total += bytes.count
                #expect(pointBits(try Chunk(bytes).points()) == pointBits(Array(series[hour..<min(n, hour + 360)])))
            }
            let perSample = Double(total) / Double(n)
            print("chunk-v2 \(name): \(total) bytes for \(n) samples = \(String(format: "%.3f", perSample)) bytes/sample (raw, before RocksDB compression)")
            #expect(perSample < 4)
        }
    }
}
