import Foundation
import PropertyBased
import Testing
@testable import StratusMetrics

@Suite struct RollupCodecTests {
    @Test func roundTripsEveryBitPattern() async throws {
        await propertyCheck(count: 300, input: Gen.uint64(), Gen<ValueShape>.case, Gen.int(in: 0...300)) { seed, shape, n in
            var rng = SplitMix64(seed: seed)
            let res = RollupResolution.allCases.randomElement(using: &rng)!
            var end = Int64.random(in: -10...1_000_000, using: &rng) * res.milliseconds
            let columns = (0..<4).map { _ in shape.values(n, &rng) }
            let buckets = (0..<n).map { i -> RollupBucket in
                end += res.milliseconds * (Int.random(in: 0..<10, using: &rng) == 0 ? Int64.random(in: 2...100, using: &rng) : 1)
                let count = Bool.random(using: &rng) ? 6 : Int.random(in: 1...1_000_000, using: &rng)
                return RollupBucket(end: end, aggregate: WindowAggregate(count: count, sum: columns[0][i], min: columns[1][i],
                                                                         max: columns[2][i], last: columns[3][i]))
            }
            let decoded = try RollupCodec.decode(RollupCodec.encode(buckets))
            #expect(Self.bits(decoded) == Self.bits(buckets), "\(shape) n=\(n)")
        }
    }

    @Test func truncatedBytesThrowCorrupt() throws {
        var rng = SplitMix64(seed: 9)
        let values = ValueShape.cpuGauge.values(40, &rng)
        let buckets = values.enumerated().map { i, v in
            RollupBucket(end: Int64(i + 1) * 60_000, aggregate: WindowAggregate(count: 6, sum: v * 6, min: v - 1, max: v + 1, last: v))
        }
        let bytes = RollupCodec.encode(buckets)
        for cut in 0..<bytes.count {
            #expect(throws: MetricsError.self, "cut at \(cut)") { try RollupCodec.decode(Array(bytes[..<cut])) }
        }
        #expect(throws: MetricsError.self) { try RollupCodec.decode(bytes + [1]) }
        #expect(try RollupCodec.decode(RollupCodec.encode([])).isEmpty)
    }

    /// A steady series (a VM's vCPU count, a disk's capacity) rolls up into a value far smaller
    /// than its bucket count: a day of 5 m buckets or 30 days of 1 h buckets, all alike.
    @Test(arguments: [RollupResolution.fiveMinutes, .hour])
    func steadySeriesWithMoreBucketsThanBytes(_ res: RollupResolution) throws {
        let n = Int(res.windowMilliseconds / res.milliseconds)
        let buckets = (1...n).map { i in
            RollupBucket(end: 1_767_225_600_000 + Int64(i) * res.milliseconds,
                         aggregate: WindowAggregate(count: Int(res.milliseconds / 10_000), sum: 4 * Double(res.milliseconds / 10_000), min: 4, max: 4, last: 4))
        }
        let bytes = RollupCodec.encode(buckets)
        #expect(bytes.count < n, "the case needs fewer bytes than buckets: \(bytes.count) bytes for \(n)")
        #expect(Self.bits(try RollupCodec.decode(bytes)) == Self.bits(buckets))
    }

    @Test func resolutions() {
        #expect(RollupResolution.allCases.map(\.milliseconds) == [60_000, 300_000, 3_600_000])
        #expect(RollupResolution.allCases.map(\.rawValue) == [1, 2, 3])
    }

    static func bits(_ buckets: [RollupBucket]) -> [[UInt64]] {
        buckets.map { b in
            [UInt64(bitPattern: b.end), UInt64(b.aggregate.count), b.aggregate.sum.bitPattern, b.aggregate.min.bitPattern,
             b.aggregate.max.bitPattern, b.aggregate.last.bitPattern]
        }
    }
}
