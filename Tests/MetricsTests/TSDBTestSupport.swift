import Foundation
@testable import StratusMetrics

/// A fresh directory under the system temp dir, removed when `body` returns or throws.
@discardableResult
func withTSDBTempDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-tsdb-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url.path)
}

/// The two `MetricStore` implementations the conformance suite runs against.
enum MetricStoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case memory, rocks
    var description: String { rawValue }

    /// Runs `body` with a new, empty store of this kind (Rocks: in a temp dir, closed afterwards).
    func withStore<T>(_ body: (any MetricStore) async throws -> T) async throws -> T {
        switch self {
        case .memory:
            return try await body(MemoryMetricStore())
        case .rocks:
            return try await withTSDBTempDirectory { dir in
                // Test timestamps start at 1970: keep everything.
                let store = try RocksMetricStore(path: dir + "/db", options: .keepForever)
                defer { store.close() }
                return try await body(store)
            }
        }
    }
}

/// Labels of a ZWatch-style test series `test::<metric>` with `extra` labels.
func testLabels(_ metric: String, _ extra: [String: String] = [:]) -> Labels {
    var d = extra
    d[Labels.nameKey] = "test::" + metric
    return Labels(d)
}

/// A recorded host-proc fixture file's text.
func hostProcFixture(_ name: String) throws -> String {
    let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/host-proc/\(name)")
    return try String(contentsOf: url, encoding: .utf8)
}

extension TSDBOptions {
    /// Defaults with an unlimited retention, for tests whose timestamps start at 1970.
    static var keepForever: TSDBOptions {
        var o = TSDBOptions()
        o.retention = .max
        return o
    }
}

/// Points of every series matching `matchers` in `[from, to]` as one flat list of (labels, t, v).
func allPoints(_ store: any MetricStore, _ matchers: [LabelMatcher] = [], from: Int64 = 0, to: Int64 = .max) async throws -> [SeriesPoints] {
    try await store.select(matchers, from: from, to: to)
}

/// The bit patterns of points, for exact comparisons (NaN, -0.0).
func bits(_ points: [Point]) -> [(Int64, UInt64)] { points.map { ($0.timestamp, $0.value.bitPattern) } }
