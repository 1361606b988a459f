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
