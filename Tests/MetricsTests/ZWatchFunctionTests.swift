import Testing
@testable import StratusMetrics

@Suite struct ZWatchFunctionTests {
    private func p(_ vm: String, _ host: String, _ time: Int64, _ value: Double) -> ZWatchDataPoint {
        ZWatchDataPoint(value: value, time: time, labels: ["VMUuid": vm, "HostUuid": host])
    }

    /// a and b on h1, c on h2; a has a second point later.
    private var points: [ZWatchDataPoint] {
        [p("a", "h1", 60, 10), p("b", "h1", 60, 30), p("c", "h2", 60, 20), p("a", "h1", 120, 40)]
    }

    private func run(_ text: String) throws -> [ZWatchDataPoint] {
        try ZWatchFunction.parse(text).apply(points)
    }

    @Test func topLowSortAndLimitReorderAndCutPoints() throws {
        #expect(try run("top(num=2)") == [p("a", "h1", 120, 40), p("b", "h1", 60, 30)])
        #expect(try run("low(num=2)") == [p("a", "h1", 60, 10), p("c", "h2", 60, 20)])
        #expect(try run(#"sort(by="value",direction="desc")"#).map(\.value) == [40, 30, 20, 10])
        #expect(try run("sort()").map(\.value) == [10, 20, 30, 40])
        // Stable: the three points at 60 keep their order.
        #expect(try run(#"sort(by='time', direction='desc')"#) == [p("a", "h1", 120, 40), p("a", "h1", 60, 10), p("b", "h1", 60, 30), p("c", "h2", 60, 20)])
        #expect(try run("limit(limit=1)") == [p("a", "h1", 60, 10)])
        #expect(try run("top(num=10)").count == 4)
    }

    @Test func averageAndSumGroupPerTimeKeepingOnlyGroupLabels() throws {
        #expect(try run(#"sum(groupBy="HostUuid")"#) == [
            ZWatchDataPoint(value: 40, time: 60, labels: ["HostUuid": "h1"]),
            ZWatchDataPoint(value: 40, time: 120, labels: ["HostUuid": "h1"]),
            ZWatchDataPoint(value: 20, time: 60, labels: ["HostUuid": "h2"]),
        ])
        #expect(try run(#"average(groupBy="HostUuid")"#) == [
            ZWatchDataPoint(value: 20, time: 60, labels: ["HostUuid": "h1"]),
            ZWatchDataPoint(value: 40, time: 120, labels: ["HostUuid": "h1"]),
            ZWatchDataPoint(value: 20, time: 60, labels: ["HostUuid": "h2"]),
        ])
        #expect(try run("average()") == [ZWatchDataPoint(value: 20, time: 60, labels: [:]), ZWatchDataPoint(value: 40, time: 120, labels: [:])])
        #expect(try run(#"sum(groupBy="HostUuid,VMUuid")"#).count == 4)
    }

    @Test func nanSortsLastBothWays() {
        let pts = [ZWatchDataPoint(value: .nan, time: 0, labels: [:]), ZWatchDataPoint(value: 1, time: 0, labels: [:]),
                   ZWatchDataPoint(value: 2, time: 0, labels: [:])]
        #expect(ZWatchFunction.top(2).apply(pts).map(\.value) == [2, 1])
        #expect(ZWatchFunction.low(2).apply(pts).map(\.value) == [1, 2])
    }

    @Test(arguments: ["top(num=0)", "top(n=5)", "top", "median(num=1)", #"sort(by="colour")"#, "sort(direction=up)", "limit(limit=x)"])
    func badFunctionsNameTheField(text: String) {
        #expect {
            _ = try ZWatchFunction.parse(text)
        } throws: { error in
            guard case let MetricsError.invalidQuery(field, reason) = error else { return false }
            return field == "functions" && reason.contains(text)
        }
    }

    @Test func valueConditionsParseEveryOperator() throws {
        let cases: [(String, ZWatchValueCondition)] = [
            ("value>80", .init(.greater, 80)), ("value >= 5", .init(.greaterOrEqual, 5)), ("value<1.5", .init(.less, 1.5)),
            ("value<=-2", .init(.lessOrEqual, -2)), ("value==0", .init(.equal, 0)), ("value=3", .init(.equal, 3)),
            ("value!=4", .init(.notEqual, 4)),
        ]
        for (text, expected) in cases { #expect(try ZWatchValueCondition.parse(text) == expected, "\(text)") }
        #expect(ZWatchValueCondition(.greaterOrEqual, 5).matches(5))
        #expect(!ZWatchValueCondition(.greater, 5).matches(5))
        #expect(!ZWatchValueCondition(.greater, 5).matches(.nan))
        for bad in ["val>1", "value~1", "value>abc", "value>", "value>nan"] {
            #expect(throws: MetricsError.self, "\(bad)") { try ZWatchValueCondition.parse(bad) }
        }
    }
}
