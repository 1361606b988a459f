import Foundation
import Testing
@testable import StratusMetrics

/// The `MetricStore` contract, checked the same way against every implementation.
@Suite struct MetricStoreConformanceTests {
    // MARK: Round trip

    @Test(arguments: MetricStoreKind.allCases)
    func writeThenSelectReturnsSeriesSortedWithPointsInTimeOrder(kind: MetricStoreKind) async throws {
        try await kind.withStore { store in
            let a = testLabels("cpu", ["host": "a"])
            let b = testLabels("cpu", ["host": "b"])
            // Written out of time order and interleaved; values include extremes that must keep their bits.
            try await store.write([
                Sample(labels: b, timestamp: 2_000, value: -0.0),
                Sample(labels: a, timestamp: 3_000, value: 1e300),
                Sample(labels: a, timestamp: 1_000, value: -1.5),
                Sample(labels: b, timestamp: 1_000, value: 42),
            ])
            let got = try await store.select([.equal(Labels.nameKey, "test::cpu")], from: 0, to: 10_000)
            #expect(got == [
                SeriesPoints(labels: a, points: [Point(timestamp: 1_000, value: -1.5), Point(timestamp: 3_000, value: 1e300)]),
                SeriesPoints(labels: b, points: [Point(timestamp: 1_000, value: 42), Point(timestamp: 2_000, value: -0.0)]),
            ])
            #expect(got[1].points[1].value.sign == .minus)
        }
    }

    @Test(arguments: MetricStoreKind.allCases)
    func selectWithoutEqualMatcherScansAllSeries(kind: MetricStoreKind) async throws {
        try await kind.withStore { store in
            try await store.write([
                Sample(labels: testLabels("x"), timestamp: 1, value: 1),
                Sample(labels: testLabels("y"), timestamp: 1, value: 2),
            ])
            let got = try await store.select([try LabelMatcher(Labels.nameKey, .regex, "test::.*")], from: 0, to: 1)
            #expect(got.map(\.labels) == [testLabels("x"), testLabels("y")])
            #expect(try await store.select([], from: 0, to: 1).count == 2)
        }
    }

    // MARK: Matchers

    /// h1 has a disk label, h2 has none, h3 another disk.
    private func writeHosts(_ store: any MetricStore) async throws {
        try await store.write([
            Sample(labels: testLabels("m", ["host": "h1", "disk": "sda"]), timestamp: 10, value: 1),
            Sample(labels: testLabels("m", ["host": "h2"]), timestamp: 10, value: 2),
            Sample(labels: testLabels("m", ["host": "h3", "disk": "sdb"]), timestamp: 10, value: 3),
        ])
    }

    private func hosts(_ store: any MetricStore, _ matchers: [LabelMatcher]) async throws -> [String] {
        // Sorted by host for readability; the store sorts by whole label sets (tested above).
        try await store.select(matchers + [.equal(Labels.nameKey, "test::m")], from: 0, to: 100).compactMap { $0.labels["host"] }.sorted()
    }

    @Test(arguments: MetricStoreKind.allCases)
    func matcherOperators(kind: MetricStoreKind) async throws {
        try await kind.withStore { store in
            try await writeHosts(store)
            #expect(try await hosts(store, [.equal("host", "h1")]) == ["h1"])
            #expect(try await hosts(store, [LabelMatcher("host", .notEqual, "h1")]) == ["h2", "h3"])
            #expect(try await hosts(store, [LabelMatcher("host", .regex, "h[12]")]) == ["h1", "h2"])
            #expect(try await hosts(store, [LabelMatcher("host", .notRegex, "h[12]")]) == ["h3"])
            // Regexes are anchored: "h" alone matches no whole value.
            #expect(try await hosts(store, [LabelMatcher("host", .regex, "h")]) == [])
            // Several matchers all apply.
            #expect(try await hosts(store, [LabelMatcher("host", .regex, "h.*"), LabelMatcher("disk", .notEqual, "sda")]) == ["h2", "h3"])
            #expect(try await hosts(store, [.equal("host", "h1"), .equal("disk", "sdb")]) == [])
        }
    }

    @Test(arguments: MetricStoreKind.allCases)
    func missingLabelMatchesEmptyString(kind: MetricStoreKind) async throws {
        try await kind.withStore { store in
            try await writeHosts(store)
            #expect(try await hosts(store, [.equal("disk", "")]) == ["h2"])
            #expect(try await hosts(store, [LabelMatcher("disk", .notEqual, "")]) == ["h1", "h3"])
            #expect(try await hosts(store, [LabelMatcher("disk", .regex, "sda|")]) == ["h1", "h2"])
            #expect(try await hosts(store, [.equal("nosuchlabel", "")]) == ["h1", "h2", "h3"])
        }
    }

    @Test(arguments: MetricStoreKind.allCases)
    func equalMatcherIsExactEvenWhenAValueExtendsAnother(kind: MetricStoreKind) async throws {
        try await kind.withStore { store in
            // In the RocksDB postings "a" + 0x00 is a prefix of the longer value's key.
            let long = "a\u{0}bcdefghijk"
            try await store.write([
                Sample(labels: testLabels("n", ["v": "a"]), timestamp: 1, value: 1),
                Sample(labels: testLabels("n", ["v": long]), timestamp: 1, value: 2),
            ])
            let got = try await store.select([.equal("v", "a")], from: 0, to: 1)
            #expect(got.map(\.labels) == [testLabels("n", ["v": "a"])])
            #expect(try await store.select([.equal("v", long)], from: 0, to: 1).map { $0.points[0].value } == [2])
            #expect(try await store.labelValues("v", matchers: []) == ["a", long])
        }
    }

    // MARK: Validation

    @Test(arguments: MetricStoreKind.allCases)
    func invalidSampleThrowsAndStoresNothingOfTheBatch(kind: MetricStoreKind) async throws {
        let invalid: [(String, Labels)] = [
            ("no __name__", Labels(["host": "h"])),
            ("bad label name", testLabels("m", ["1host": "h"])),
            ("dash in label name", testLabels("m", ["host-name": "h"])),
            ("empty value", testLabels("m", ["host": ""])),
        ]
        try await kind.withStore { store in
            for (what, labels) in invalid {
                let batch = [
                    Sample(labels: testLabels("m", ["host": "ok"]), timestamp: 1, value: 1),
                    Sample(labels: labels, timestamp: 2, value: 2),
                ]
                await #expect("\(what)") {
                    try await store.write(batch)
                } throws: { error in
                    guard case MetricsError.invalidSample = error else { return false }
                    return true
                }
            }
            #expect(try await store.select([], from: 0, to: 100) == [])
            #expect(try await store.labelValues("host", matchers: []) == [])
            // The store still works after refusing batches.
            try await store.write([Sample(labels: testLabels("m", ["host": "ok"]), timestamp: 1, value: 1)])
            #expect(try await store.select([], from: 0, to: 100).count == 1)
        }
    }

    // MARK: Overwrite and ranges

    @Test(arguments: MetricStoreKind.allCases)
    func sameSeriesAndTimestampReplaces(kind: MetricStoreKind) async throws {
        try await kind.withStore { store in
            let l = testLabels("m")
            try await store.write([Sample(labels: l, timestamp: 5, value: 1)])
            try await store.write([Sample(labels: l, timestamp: 5, value: 2)])
            // Within one batch the later sample wins.
            try await store.write([Sample(labels: l, timestamp: 6, value: 3), Sample(labels: l, timestamp: 6, value: 4)])
            let got = try await store.select([.equal(Labels.nameKey, "test::m")], from: 0, to: 10)
            #expect(got == [SeriesPoints(labels: l, points: [Point(timestamp: 5, value: 2), Point(timestamp: 6, value: 4)])])
        }
    }

    @Test(arguments: MetricStoreKind.allCases)
    func rangeBoundsAreInclusive(kind: MetricStoreKind) async throws {
        try await kind.withStore { store in
            let l = testLabels("m")
            try await store.write([100, 200, 300].map { Sample(labels: l, timestamp: $0, value: Double($0)) })
            func times(_ from: Int64, _ to: Int64) async throws -> [Int64] {
                try await store.select([.equal(Labels.nameKey, "test::m")], from: from, to: to).flatMap { $0.points.map(\.timestamp) }
            }
            #expect(try await times(200, 300) == [200, 300])
            #expect(try await times(100, 100) == [100])
            #expect(try await times(0, .max) == [100, 200, 300])
            // A series with no point in range is left out entirely.
            #expect(try await store.select([], from: 201, to: 299) == [])
            #expect(try await store.select([], from: 300, to: 100) == [])
        }
    }

    // MARK: Label values

    @Test(arguments: MetricStoreKind.allCases)
    func labelValuesAreDistinctSortedAndFiltered(kind: MetricStoreKind) async throws {
        try await kind.withStore { store in
            try await writeHosts(store)
            try await store.write([Sample(labels: testLabels("other", ["host": "h0"]), timestamp: 1, value: 1)])
            #expect(try await store.labelValues("host", matchers: []) == ["h0", "h1", "h2", "h3"])
            #expect(try await store.labelValues("host", matchers: [.equal(Labels.nameKey, "test::m")]) == ["h1", "h2", "h3"])
            #expect(try await store.labelValues("host", matchers: [LabelMatcher("disk", .regex, "sd.")]) == ["h1", "h3"])
            #expect(try await store.labelValues(Labels.nameKey, matchers: []) == ["test::m", "test::other"])
            #expect(try await store.labelValues("nosuchlabel", matchers: []) == [])
        }
    }

    // MARK: Concurrency

    @Test(arguments: MetricStoreKind.allCases)
    func concurrentWritersOfNewSeriesKeepEverySeriesApart(kind: MetricStoreKind) async throws {
        try await kind.withStore { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<16 {
                    group.addTask {
                        // Every task also writes one shared series, created by whichever commits first.
                        try await store.write([
                            Sample(labels: testLabels("c", ["i": String(i)]), timestamp: 1, value: Double(i)),
                            Sample(labels: testLabels("c", ["i": "shared"]), timestamp: Int64(i + 10), value: Double(i)),
                        ])
                    }
                }
                try await group.waitForAll()
            }
            let got = try await store.select([.equal(Labels.nameKey, "test::c")], from: 0, to: 100)
            #expect(got.count == 17)
            for s in got where s.labels["i"] != "shared" {
                #expect(s.points == [Point(timestamp: 1, value: Double(s.labels["i"]!)!)])
            }
            #expect(got.first { $0.labels["i"] == "shared" }?.points.map(\.timestamp) == Array(10..<26))
        }
    }
}

/// Behaviour only the RocksDB store has: durability across close and reopen.
@Suite struct RocksMetricStoreTests {
    @Test func reopenAfterCloseKeepsEverythingAndAllocatesFreshIDs() async throws {
        try await withTSDBTempDirectory { dir in
            let path = dir + "/db"
            let a = testLabels("m", ["host": "a"])
            let b = testLabels("m", ["host": "b"])
            let first = try RocksMetricStore(path: path, options: .keepForever)
            try await first.write([Sample(labels: a, timestamp: 1, value: 1), Sample(labels: b, timestamp: 1, value: 2)])
            first.close()

            let second = try RocksMetricStore(path: path, options: .keepForever)
            defer { second.close() }
            #expect(try await second.select([], from: 0, to: 10) == [
                SeriesPoints(labels: a, points: [Point(timestamp: 1, value: 1)]),
                SeriesPoints(labels: b, points: [Point(timestamp: 1, value: 2)]),
            ])
            #expect(try await second.labelValues("host", matchers: []) == ["a", "b"])
            // An old series gets more points; a new one must not reuse a or b's id.
            let c = testLabels("m", ["host": "c"])
            try await second.write([Sample(labels: a, timestamp: 2, value: 3), Sample(labels: c, timestamp: 2, value: 4)])
            #expect(try await second.select([], from: 0, to: 10) == [
                SeriesPoints(labels: a, points: [Point(timestamp: 1, value: 1), Point(timestamp: 2, value: 3)]),
                SeriesPoints(labels: b, points: [Point(timestamp: 1, value: 2)]),
                SeriesPoints(labels: c, points: [Point(timestamp: 2, value: 4)]),
            ])
        }
    }

    @Test func callsAfterCloseThrowStorageError() async throws {
        try await withTSDBTempDirectory { dir in
            // Parent directories are created.
            let store = try RocksMetricStore(path: dir + "/data/metrics/db", options: .keepForever)
            store.close()
            await #expect {
                try await store.write([Sample(labels: testLabels("m"), timestamp: 1, value: 1)])
            } throws: { error in
                guard case let MetricsError.storage(_, message) = error else { return false }
                return message.contains("closed")
            }
            await #expect(throws: MetricsError.self) { try await store.select([], from: 0, to: 1) }
        }
    }

    @Test func secondOpenOfTheSameDirectoryIsRefused() async throws {
        try await withTSDBTempDirectory { dir in
            let store = try RocksMetricStore(path: dir + "/db", options: .keepForever)
            defer { store.close() }
            #expect {
                _ = try RocksMetricStore(path: dir + "/db", options: .keepForever)
            } throws: { error in
                guard case let MetricsError.storage(operation, message) = error else { return false }
                return operation.contains(dir) && message.contains("lock")
            }
        }
    }
}
