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
                let store = try RocksMetricStore(path: dir + "/db")
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
