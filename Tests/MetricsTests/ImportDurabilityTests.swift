import Foundation
import Synchronization
import Testing
@testable import StratusMetrics

/// `PipelinedImporter` overlaps each batch's fsync with applying the next: it never has more than
/// `unsyncedBatches` appends waiting for durability, returns only after every one is durable, and
/// throws when a sync fails. The store is a real RocksDB store whose durability answers the test
/// delays (or fails) on purpose.
@Suite struct ImportDurabilityTests {
    /// A real store whose `whenDurable` answers after `delay` on another queue, or fails `failing`.
    final class DelayedSyncStore: BulkAppendingStore, Sendable {
        let inner: RocksMetricStore
        let delay: Double
        let failing: Int?
        struct Counts { var appends = 0, answered = 0, maxPending = 0 }
        let counts = Mutex(Counts())

        init(inner: RocksMetricStore, delay: Double, failing: Int? = nil) {
            self.inner = inner
            self.delay = delay
            self.failing = failing
        }

        func write(_ samples: [Sample]) async throws -> WriteReport { try await inner.write(samples) }
        func select(_ m: [LabelMatcher], from: Int64, to: Int64) async throws -> [SeriesPoints] { try await inner.select(m, from: from, to: to) }
        func labelValues(_ name: String, matchers: [LabelMatcher]) async throws -> [String] { try await inner.labelValues(name, matchers: matchers) }
        func stats() async throws -> TSDBStats { try await inner.stats() }
        func seriesRef(for labels: Labels) throws -> SeriesRef { try inner.seriesRef(for: labels) }
        func append(_ batch: SampleBatch) throws -> WriteReport { try inner.append(batch) }

        func appendDeferringSync(_ batch: SampleBatch) throws -> (WriteReport, DurabilityTicket) {
            let result = try inner.appendDeferringSync(batch)
            counts.withLock { c in
                c.appends += 1
                c.maxPending = max(c.maxPending, c.appends - c.answered)
            }
            return result
        }

        func whenDurable(_ ticket: DurabilityTicket, _ done: @escaping @Sendable (Result<Void, any Error>) -> Void) {
            let number = counts.withLock { $0.appends }
            inner.whenDurable(ticket) { result in
                DispatchQueue.global().asyncAfter(deadline: .now() + self.delay) {
                    self.counts.withLock { $0.answered += 1 }
                    if number == self.failing {
                        done(.failure(MetricsError.storage(operation: "sync WAL", message: "injected failure")))
                    } else {
                        done(result)
                    }
                }
            }
        }
    }

    func vmJSONFile(series: Int, points: Int) throws -> (Int32, URL) {
        let base = (Int64(Date().timeIntervalSince1970) - 3_600) * 1_000
        var text = ""
        for s in 0..<series {
            let times = (0..<points).map { String(base + Int64($0) * 10_000) }.joined(separator: ",")
            let values = (0..<points).map { String(Double(s) + Double($0) / 100) }.joined(separator: ",")
            text += #"{"metric":{"__name__":"cpu","vm":"vm\#(s)"},"values":[\#(values)],"timestamps":[\#(times)]}"# + "\n"
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("idur-\(UUID().uuidString)")
        try Data(text.utf8).write(to: url)
        let fd = open(url.path, O_RDONLY)
        try #require(fd >= 0)
        return (fd, url)
    }

    @Test func returnsOnlyAfterEveryBatchIsDurableAndBoundsThePending() async throws {
        try await withTSDBTempDirectory { dir in
            let inner = try RocksMetricStore(path: dir + "/m")
            defer { inner.close() }
            let store = DelayedSyncStore(inner: inner, delay: 0.02)
            let (fd, url) = try vmJSONFile(series: 40, points: 30)
            defer { close(fd); try? FileManager.default.removeItem(at: url) }
            let summary = try PipelinedImporter(store: store, batchSize: 50, queueDepth: 2, unsyncedBatches: 3)
                .run([ImportInput(fd: fd, format: .vmJSON)])
            #expect(summary.accepted == 40 * 30)
            let counts = store.counts.withLock { $0 }
            #expect(counts.appends >= 20)
            #expect(counts.answered == counts.appends, "run returned before every batch was durable")
            #expect(counts.maxPending <= 3)
            #expect(counts.maxPending >= 2, "the appender never went on while a batch was syncing")
            let series = try await inner.select([.equal("__name__", "cpu")], from: 0, to: .max)
            #expect(series.reduce(0) { $0 + $1.points.count } == 40 * 30)
        }
    }

    @Test func aFailedSyncIsThrown() async throws {
        try await withTSDBTempDirectory { dir in
            let inner = try RocksMetricStore(path: dir + "/m")
            defer { inner.close() }
            let store = DelayedSyncStore(inner: inner, delay: 0.001, failing: 2)
            let (fd, url) = try vmJSONFile(series: 20, points: 30)
            defer { close(fd); try? FileManager.default.removeItem(at: url) }
            #expect(throws: MetricsError.self) {
                try PipelinedImporter(store: store, batchSize: 50, unsyncedBatches: 2).run([ImportInput(fd: fd, format: .vmJSON)])
            }
        }
    }
}
