import Foundation
import Synchronization
import Testing
@testable import StratusMetrics

@Suite struct WALTests {
    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func samplesRecordRoundTripsInOrderWithExactBits() throws {
        let ids: [UInt64] = [5, 3, 3, 900_000, 1, 2]
        let ts: [Int64] = [10_000, 10_000, 10_000, 0, 20_000, 5]
        let vs: [Double] = [1.5, -0.0, .nan, .infinity, Double(bitPattern: 0x7FF8_0000_0000_1234), -1e-300]
        var buf: [UInt8] = []
        WALRecord.samples(ids: ids, timestamps: ts, values: vs, into: &buf)
        var got: [(UInt64, Int64, UInt64)] = []
        _ = try WALRecord.decode(buf[...], location: "test") { got.append(($0, $1, $2.bitPattern)) }
        #expect(got.map(\.0) == ids && got.map(\.1) == ts && got.map(\.2) == vs.map(\.bitPattern))
        let series = WALRecord.series(id: 77, labels: [1, 2, 3])
        guard case let .series(id, labels) = try WALRecord.decode(series[...], location: "test", sample: { _, _, _ in }) else {
            Issue.record("not a series record"); return
        }
        #expect(id == 77 && labels == [1, 2, 3])
    }

    /// Decodes a samples record into (id, t, value bits).
    func decodeSamples(_ record: [UInt8]) throws -> [(UInt64, Int64, UInt64)] {
        var got: [(UInt64, Int64, UInt64)] = []
        _ = try WALRecord.decode(record[...], location: "test") { got.append(($0, $1, $2.bitPattern)) }
        return got
    }

    @Test func seriesRunsKeepDecimalScalesFloatFallbacksAndAnyTimeOrder() throws {
        // Runs: a scale that grows mid-run (0 → 1 → 3), integers near 2^53, negatives, a value
        // that is not decimal mid-run (whole run as doubles), -0.0, times irregular, equal,
        // decreasing and far apart, and ids going down.
        let runs: [(UInt64, [Int64], [Double])] = [
            (7, [0, 10_000, 20_000, 30_000, 40_000], [1, 2.5, -3.125, 0.001, 100]),
            (7_000_000_000, [5, 5, 4, 1_000_000_000_000, -7], [9_007_199_254_740_992, -9_007_199_254_740_991, 0, 42, 1e15]),
            (2, [100, 200, 350, 400], [12.34, 0.1 + 0.2, 5, 6]),
            (3, [1], [-0.0]),
            (1, [1_767_225_600_000, 1_767_225_610_000, 1_767_225_620_001], [99.99, 0.01, 45.5]),
            (1, [9], [.nan]),
        ]
        var ids: [UInt64] = [], ts: [Int64] = [], vs: [Double] = []
        for (id, times, values) in runs {
            ids += Array(repeating: id, count: times.count); ts += times; vs += values
        }
        var buf: [UInt8] = []
        WALRecord.samples(ids: ids, timestamps: ts, values: vs, into: &buf)
        #expect(buf.first == WALRecord.seriesRunsType)
        let got = try decodeSamples(buf)
        #expect(got.map(\.0) == ids && got.map(\.1) == ts && got.map(\.2) == vs.map(\.bitPattern))
    }

    @Test func seriesMajorGaugesOnAGridCostAFewBytesPerSample() throws {
        // 100 series × 360 points at 10 s with two-decimal values: what an import batch holds.
        var ids: [UInt64] = [], ts: [Int64] = [], vs: [Double] = []
        var x: UInt64 = 12_345
        for s in 1...100 {
            for k in 0..<360 {
                x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                ids.append(UInt64(s)); ts.append(1_767_225_600_000 + Int64(k) * 10_000)
                vs.append(Double(2_000 + Int(x >> 52) % 800) / 100)
            }
        }
        var buf: [UInt8] = []
        WALRecord.samples(ids: ids, timestamps: ts, values: vs, into: &buf)
        #expect(Double(buf.count) / Double(ids.count) < 3)
        let got = try decodeSamples(buf)
        #expect(got.map(\.2) == vs.map(\.bitPattern) && got.map(\.1) == ts)
    }

    @Test func timeGroupsRecordsOfOlderVersionsStillDecode() throws {
        let ids: [UInt64] = [5, 3, 3, 900_000, 1]
        let ts: [Int64] = [10_000, 10_000, 10_000, 0, 20_000]
        let vs: [Double] = [1.5, -0.0, .nan, .infinity, 0.1 + 0.2]
        var buf: [UInt8] = []
        let used = ids.withUnsafeBufferPointer { i in
            ts.withUnsafeBufferPointer { t in vs.withUnsafeBufferPointer { v in WALRecord.encodeTimeGroups(ids: i, timestamps: t, values: v, into: &buf) } }
        }
        let record = Array(buf[..<used])
        #expect(record.first == WALRecord.timeGroupsType)
        let got = try decodeSamples(record)
        #expect(got.map(\.0) == ids && got.map(\.1) == ts && got.map(\.2) == vs.map(\.bitPattern))
    }

    @Test func truncatedSeriesRunsRecordIsCorruptOrAWholeRunPrefix() throws {
        var buf: [UInt8] = []
        WALRecord.samples(ids: [1, 1, 1, 2], timestamps: [0, 10, 30, 5], values: [1.25, 2, 3, .pi], into: &buf)
        let full = try decodeSamples(buf).map { "\($0)" }
        var corrupt = 0
        for cut in 1..<buf.count {
            do {
                // A cut between runs is a shorter valid record: its samples are whole runs of the full one.
                let got = try decodeSamples(Array(buf[..<cut])).map { "\($0)" }
                #expect(got == Array(full.prefix(got.count)) && [0, 3].contains(got.count))
            } catch is MetricsError {
                corrupt += 1
            }
        }
        #expect(corrupt >= buf.count - 3)
    }

    @Test func concurrentAppendersShareSyncsAndEveryRecordIsReadBack() async throws {
        try await withTSDBTempDirectory { dir in
            let wal = try WriteAheadLog(directory: dir, segment: 1)
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<8 {
                    group.addTask {
                        for i in 0..<50 {
                            let payload = [UInt8(w), UInt8(i)] + [UInt8](repeating: UInt8(i), count: i)
                            let offset = try! wal.append(payload)
                            try! wal.sync(through: offset)
                        }
                    }
                }
            }
            _ = try wal.roll()
            try wal.append([9, 9])  // in segment 2
            wal.close()
            var seen = Set<[UInt8]>()
            for s in WriteAheadLog.segments(in: dir) {
                #expect(try WALReader.read(WriteAheadLog.segmentPath(dir, s), truncate: false) { seen.insert(Array($0.prefix(2))) })
            }
            #expect(seen.count == 8 * 50 + 1)
        }
    }

    @Test func whenDurableAnswersEveryWaiterOnceAfterItsOffsetIsSynced() async throws {
        try await withTSDBTempDirectory { dir in
            let wal = try WriteAheadLog(directory: dir, segment: 1)
            // offset → (times answered, the synced offset seen when answered)
            let answers = DurableAnswers()
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<8 {
                    group.addTask {
                        for i in 0..<50 {
                            let offset = try! wal.append([UInt8(w), UInt8(i)] + [UInt8](repeating: 7, count: i))
                            let result: Result<Void, any Error> = await withCheckedContinuation { c in
                                wal.whenDurable(through: offset) { r in
                                    answers.all.withLock { a in
                                        let prev = a[offset]?.count ?? 0
                                        a[offset] = (prev + 1, wal.durableOffset)
                                    }
                                    c.resume(returning: r)
                                }
                            }
                            #expect((try? result.get()) != nil)
                        }
                    }
                }
            }
            let all = answers.all.withLock { $0 }
            #expect(all.count == 8 * 50)
            for (offset, a) in all {
                #expect(a.count == 1, "offset \(offset) answered \(a.count) times")
                #expect(a.synced >= offset, "offset \(offset) answered when only \(a.synced) was synced")
            }
            wal.close()
            // After close a waiter for bytes never written is answered at once, with the error.
            let late: Result<Void, any Error> = await withCheckedContinuation { c in
                wal.whenDurable(through: wal.bytesWritten + 1) { c.resume(returning: $0) }
            }
            #expect((try? late.get()) == nil)
        }
    }

    @Test func corruptRecordEndsTheSegmentAndIsTruncated() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wal = try WriteAheadLog(directory: dir, segment: 1)
        let end1 = try wal.append([1, 1, 1])
        try wal.append([2, 2, 2])
        try wal.append([3, 3, 3])
        wal.close()
        let path = WriteAheadLog.segmentPath(dir, 1)
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[end1 + 8] ^= 0xFF  // first payload byte of record 2
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        var read: [[UInt8]] = []
        #expect(try WALReader.read(path, truncate: true) { read.append(Array($0)) } == false)
        #expect(read == [[1, 1, 1]])
        #expect(FileManager.default.contents(atPath: path)!.count == end1)
    }
}

/// What `whenDurable` answered, per offset: how often, and the synced offset at that moment.
private final class DurableAnswers: Sendable {
    let all = Mutex<[Int: (count: Int, synced: Int)]>([:])
}
