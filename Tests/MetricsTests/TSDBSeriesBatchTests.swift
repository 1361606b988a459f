import Foundation
import Testing
@testable import StratusMetrics

/// `RocksMetricStore.seriesRefs(for:)`: many series created in one lock, one WAL write and one
/// RocksDB batch, with the same answers as one `seriesRef(for:)` per label set.
@Suite struct TSDBSeriesBatchTests {
    @Test func batchResolvesNewKnownDuplicateAndRefusedLabels() async throws {
        try await withTSDBTempDirectory { dir in
            var options = TSDBOptions.keepForever
            options.maxLabelsPerSeries = 4
            let store = try RocksMetricStore(path: dir, options: options)
            let known = try store.seriesRef(for: testLabels("batch", ["s": "known"]))
            let tooMany = testLabels("batch", ["a": "1", "b": "2", "c": "3", "d": "4"])
            let input = [
                testLabels("batch", ["s": "0"]), testLabels("batch", ["s": "known"]),
                testLabels("batch", ["s": "1"]), testLabels("batch", ["s": "0"]), tooMany, testLabels("batch", ["s": "2"]),
            ]
            let results = try store.seriesRefs(for: input)
            #expect(results.count == 6)
            let ids = results.map { try? $0.get().id }
            #expect(ids[1] == known.id)
            #expect(ids[0] != nil && ids[0] == ids[3])
            #expect(ids[4] == nil)
            if case let .failure(e) = results[4] { #expect(e.description.contains("maxLabelsPerSeries")) }
            let fresh = [ids[0], ids[2], ids[5]].compactMap { $0 }
            #expect(Set(fresh).count == 3 && !fresh.contains(known.id))
            // The one-at-a-time path agrees, and a later single series gets a new id.
            for (k, labels) in input.enumerated() where ids[k] != nil {
                #expect(try store.seriesRef(for: labels).id == ids[k])
            }
            let later = try store.seriesRef(for: testLabels("batch", ["s": "3"]))
            #expect(!fresh.contains(later.id) && later.id != known.id)
            // Samples of the new series append and read back, also after a reopen.
            var batch = SampleBatch()
            for (k, id) in [ids[0]!, ids[2]!, ids[5]!].enumerated() { batch.append(SeriesRef(id: id), 10_000, Double(k)) }
            #expect(try store.append(batch).accepted == 3)
            store.close()
            let again = try RocksMetricStore(path: dir, options: options)
            defer { again.close() }
            let got = try await again.select([.equal(Labels.nameKey, "test::batch")], from: 0, to: .max)
            // `select` lists series with points: the three new ones that got a sample.
            #expect(got.map { $0.labels["s"]! }.sorted() == ["0", "1", "2"])
            #expect(got.allSatisfy { $0.points.count == 1 })
            #expect(try again.seriesRef(for: testLabels("batch", ["s": "2"])).id == ids[5])
        }
    }

    @Test func everyNewSeriesHasAWALRecordBeforeTheCallReturns() async throws {
        try await withTSDBTempDirectory { dir in
            let store = try RocksMetricStore(path: dir, options: .keepForever)
            defer { store.close() }
            let labels = (0..<500).map { testLabels("walbatch", ["s": String($0), "host": "h\($0 % 7)"]) }
            let ids = try store.seriesRefs(for: labels).map { try $0.get().id }
            var logged: [UInt64: [UInt8]] = [:]
            for segment in WriteAheadLog.segments(in: dir + "/wal") {
                try WALReader.read(WriteAheadLog.segmentPath(dir + "/wal", segment), truncate: false) { payload in
                    if case let .series(id, canonical) = try WALRecord.decode(payload, location: "test", sample: { _, _, _ in }) {
                        logged[id] = canonical
                    }
                }
            }
            #expect(logged.count == 500)
            for (k, id) in ids.enumerated() { #expect(logged[id] == LabelsCodec.encode(labels[k])) }
        }
    }

    @Test func defaultImplementationMatchesOneCallPerLabelSet() throws {
        let store = MemoryMetricStore()
        let results = try store.seriesRefs(for: [testLabels("m", ["s": "0"]), testLabels("m", ["s": "0"]), Labels([:])])
        #expect(try results[0].get() == results[1].get())
        if case .success = results[2] { Issue.record("labels without a name must be refused") }
    }
}
