import Foundation
import Testing
@testable import StratusMetrics

/// Durability without a crash: close and reopen, an unclean stop (the store dropped without
/// close), a torn WAL tail, and the v1 → v2 migration. The kill -9 test is in IntegrationTests.
@Suite struct TSDBRecoveryTests {
    static let hour: Int64 = 3_600_000

    /// 30 series × `rounds` rounds at a 10 s grid (crossing hours, so some chunks are cut).
    func writeRounds(_ store: RocksMetricStore, rounds: Range<Int>) throws {
        let refs = try (0..<30).map { try store.seriesRef(for: testLabels("rec", ["s": String($0)])) }
        for r in rounds {
            var b = SampleBatch()
            for (s, ref) in refs.enumerated() { b.append(ref, Int64(r) * 10_000, Double(s * 1_000 + r) / 10) }
            #expect(try store.append(b).accepted == 30)
        }
    }

    func expectRounds(_ store: RocksMetricStore, _ rounds: Range<Int>) async throws {
        let got = try await store.select([.equal(Labels.nameKey, "test::rec")], from: 0, to: .max)
        #expect(got.count == 30)
        for series in got {
            let s = Int(series.labels["s"]!)!
            #expect(series.points == rounds.map { Point(timestamp: Int64($0) * 10_000, value: Double(s * 1_000 + $0) / 10) })
        }
    }

    @Test func reopenAfterCloseKeepsHeadsChunksAndIndex() async throws {
        try await withTSDBTempDirectory { dir in
            let first = try RocksMetricStore(path: dir, options: .keepForever)
            try writeRounds(first, rounds: 0..<500)
            first.close()
            first.close()  // idempotent
            let second = try RocksMetricStore(path: dir, options: .keepForever)
            defer { second.close() }
            try await expectRounds(second, 0..<500)
            try writeRounds(second, rounds: 500..<520)
            try await expectRounds(second, 0..<520)
            #expect(try await second.stats().seriesCount == 30)
        }
    }

    @Test func uncleanStopIsRecoveredFromTheWAL() async throws {
        try await withTSDBTempDirectory { dir in
            do {
                // Never closed: no final checkpoint; RocksDB closes when the object goes away.
                let store = try RocksMetricStore(path: dir, options: .keepForever)
                try writeRounds(store, rounds: 0..<400)
                try store.flush()
                try writeRounds(store, rounds: 400..<450)
            }
            let reopened = try RocksMetricStore(path: dir, options: .keepForever)
            try await expectRounds(reopened, 0..<450)
            // Replay is idempotent: a second unclean stop and reopen gives the same answer.
            try writeRounds(reopened, rounds: 450..<460)
            reopened.close()
            let again = try RocksMetricStore(path: dir, options: .keepForever)
            defer { again.close() }
            try await expectRounds(again, 0..<460)
        }
    }

    @Test func preparedBatchesAreLoggedAndReplayedAndARefusedSampleIsNot() async throws {
        try await withTSDBTempDirectory { dir in
            do {
                let store = try RocksMetricStore(path: dir, options: .keepForever)
                let refs = try (0..<30).map { try store.seriesRef(for: testLabels("rec", ["s": String($0)])) }
                // Series-major, as an import hands them over: each series' 100 rounds together.
                for part in 0..<2 {
                    var b = SampleBatch()
                    for (s, ref) in refs.enumerated() {
                        for r in (part * 100)..<(part * 100 + 100) { b.append(ref, Int64(r) * 10_000, Double(s * 1_000 + r) / 10) }
                    }
                    b.prepareLog()
                    #expect(try store.append(b).accepted == 30 * 100)
                }
                // A prepared batch with one sample past the out-of-order window: the store logs the
                // accepted samples itself, so the refused one must not come back on replay.
                var b = SampleBatch()
                b.append(refs[0], 200 * 10_000, Double(200) / 10)
                b.append(refs[1], -5 * Self.hour, 1)
                for s in 1..<30 { b.append(refs[s], 200 * 10_000, Double(s * 1_000 + 200) / 10) }
                b.prepareLog()
                let report = try store.append(b)
                #expect(report.accepted == 30 && report.rejected.map(\.reason) == [.tooOld])
                // Dropped without close: only the WAL has these samples.
            }
            let reopened = try RocksMetricStore(path: dir, options: .keepForever)
            defer { reopened.close() }
            try await expectRounds(reopened, 0..<201)
        }
    }

    @Test func tornWALTailIsCutAndTheRestReplayed() async throws {
        try await withTSDBTempDirectory { dir in
            do {
                let store = try RocksMetricStore(path: dir, options: .keepForever)
                try writeRounds(store, rounds: 0..<10)
            }
            let segments = WriteAheadLog.segments(in: dir + "/wal")
            let last = WriteAheadLog.segmentPath(dir + "/wal", segments.last!)
            let intact = try FileManager.default.attributesOfItem(atPath: last)[.size] as! Int
            // A record header promising more bytes than follow: a write cut short by the crash.
            let handle = try #require(FileHandle(forWritingAtPath: last))
            handle.seekToEndOfFile()
            handle.write(Data([200, 0, 0, 0, 1, 2, 3, 4, 2, 9, 9]))
            handle.closeFile()
            let store = try RocksMetricStore(path: dir, options: .keepForever)
            defer { store.close() }
            try await expectRounds(store, 0..<10)
            #expect(intact > 0)
            try writeRounds(store, rounds: 10..<12)
            try await expectRounds(store, 0..<12)
        }
    }

    @Test func v1StoreIsMigrated() async throws {
        try await withTSDBTempDirectory { dir in
            let path = dir + "/metrics"
            // A v1 store: RocksDB directly at `path`, one D key per sample.
            let v1 = try RocksDB(path: path)
            let a = testLabels("old", ["h": "a"]), b = testLabels("old", ["h": "b"])
            try v1.put(MetricKey.format, [1])
            for (id, labels) in [(UInt64(1), a), (2, b)] {
                try v1.put(MetricKey.labels(id), LabelsCodec.encode(labels))
                try v1.put([MetricKey.seriesPrefix] + LabelsCodec.encode(labels), BigEndian.bytes(id))
                for t in stride(from: Int64(1_000), through: 2 * Self.hour, by: 60_000) {
                    try v1.put(MetricKey.sample(id, t), MetricKey.encodeValue(Double(t) / 1_000 + Double(id)))
                }
            }
            try v1.put(MetricKey.nextSeriesID, BigEndian.bytes(3))
            v1.close()

            let store = try RocksMetricStore(path: path, options: .keepForever)
            #expect(!FileManager.default.fileExists(atPath: path + ".v1"))
            #expect(FileManager.default.fileExists(atPath: path + "/db/CURRENT"))
            let expected = [a, b].enumerated().map { i, l in
                SeriesPoints(labels: l, points: stride(from: Int64(1_000), through: 2 * Self.hour, by: 60_000).map {
                    Point(timestamp: $0, value: Double($0) / 1_000 + Double(i + 1))
                })
            }
            #expect(try await store.select([], from: 0, to: .max) == expected)
            store.close()
            let reopened = try RocksMetricStore(path: path, options: .keepForever)
            defer { reopened.close() }
            #expect(try await reopened.select([], from: 0, to: .max) == expected)
        }
    }
}
