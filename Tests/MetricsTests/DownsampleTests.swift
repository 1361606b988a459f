import Testing
@testable import StratusMetrics

@Suite struct DownsampleTests {
    /// Bucket [0, 60s): 1, 5, 3 (last by time is 3 at 50s); bucket [120s, 180s): 10; nothing in [60s, 120s).
    private let points = [
        Point(timestamp: 0, value: 1),
        Point(timestamp: 50_000, value: 3),
        Point(timestamp: 20_000, value: 5),
        Point(timestamp: 179_999, value: 10),
    ]

    @Test(arguments: [
        (RangeFunction.avg, [3.0, 10]),
        (.min, [1, 10]),
        (.max, [5, 10]),
        (.sum, [9, 10]),
        (.count, [3, 1]),
        (.last, [3, 10]),
    ])
    func functionsFoldEachAlignedBucketAndSkipEmptyOnes(function: RangeFunction, expected: [Double]) {
        let got = downsample(points, step: 60_000, function)
        #expect(got.map(\.timestamp) == [0, 120_000])
        #expect(got.map(\.value) == expected)
    }

    @Test func bucketsAlignToTheEpochNotToTheFirstPoint() {
        let got = downsample([Point(timestamp: 95_000, value: 1), Point(timestamp: 125_000, value: 2)], step: 60_000, .sum)
        #expect(got == [Point(timestamp: 60_000, value: 1), Point(timestamp: 120_000, value: 2)])
        // Before 1970 the bucket start is floored, not truncated toward zero.
        #expect(downsample([Point(timestamp: -1, value: 7)], step: 1_000, .last) == [Point(timestamp: -1_000, value: 7)])
    }

    @Test func noPointsNoBuckets() {
        #expect(downsample([], step: 10, .avg) == [])
    }
}
