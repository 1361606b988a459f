import Foundation
import Testing
@testable import StratusMetrics

/// Checkpoints save heads to a snapshot file (`HeadSnapshot`) instead of `H` keys, on a real
/// RocksDB store: a background checkpoint keeps sealed heads in memory (their hold) yet lets their
/// WAL segments go, and an unclean stop afterwards loses no sample; a store with `H` keys from
/// before snapshots opens with its heads and loses the keys; a damaged snapshot is refused by name.
@Suite struct TSDBHeadSnapshotTests {
    typealias Sealed = TSDBSealedHeadTests

    /// Keys with `prefix` in the store's RocksDB.
    static func keys(_ store: RocksMetricStore, _ prefix: UInt8) throws -> Int {
        var n = 0
        try store.db.scan(prefix: [prefix]) { _, _ in
            n += 1
            return true
        }
        return n
    }

    @Test func aBackgroundCheckpointSavesSealedHeadsWithoutWritingThemAndAnUncleanStopLosesNone() async throws {
        try await withTSDBTempDirectory { dir in
            let n = 200
            var (batch, want) = Sealed.hourOfSamples(n)
            do {
                // Never closed: no final checkpoint, like a kill -9 after the background one.
                let store = try RocksMetricStore(path: dir, options: .keepForever)
                try Sealed.append(store, batch)
                try Sealed.append(store, Sealed.round(n, at: Sealed.boundary + 60_000, value: 3, into: &want))
                #expect(try Sealed.census(store, n).pending == n, "every series sealed at the boundary")
                let segment = store.wal.currentSegment
                try store.checkpoint(paced: true, writeSealed: false)
                let after = try Sealed.census(store, n)
                #expect(after.pending == n && after.chunks == 0, "still in their hold, not written: \(after)")
                #expect(WriteAheadLog.segments(in: dir + "/wal").allSatisfy { $0 > segment }, "the segments with their samples are gone")
                #expect(FileManager.default.fileExists(atPath: HeadSnapshot.path(dir, segment: segment + 1)))
                #expect(try Self.keys(store, MetricKey.headPrefix) == 0)
                // The sealing thread writes a few after the checkpoint: recovery must not write them twice.
                try store.maintenanceLock.withLock { _ in _ = try store.writeSealedSlice(limit: 50) }
                try Sealed.append(store, Sealed.round(n, at: Sealed.boundary + 120_000, value: 4, into: &want))
            }
            let reopened = try RocksMetricStore(path: dir, options: .keepForever)
            defer { reopened.close() }
            try Sealed.expectReads(reopened, want, from: 0, to: .max, "reopened")
            try Sealed.expectReads(reopened, want, from: Sealed.boundary - 300_000, to: Sealed.boundary + 120_000, "reopened, alarm window")
            #expect(try Sealed.census(reopened, n).chunks == n, "each sealed head is one chunk of its hour")
            // Each sealed head's hour is queued for its rollups, as the sealing thread would have.
            var queued = 0
            try reopened.db.scan(prefix: MetricKey.queue(hour: Sealed.boundary, id: 0).prefix(9).map { $0 }) { _, _ in
                queued += 1
                return true
            }
            #expect(queued == n)
        }
    }

    @Test func aStoreWithHeadKeysFromBeforeSnapshotsOpensWithItsHeadsAndDropsTheKeys() async throws {
        try await withTSDBTempDirectory { dir in
            let n = 50
            var want: [String: [Point]] = [:]
            var heads: [(UInt64, [UInt8])] = []
            do {
                let store = try RocksMetricStore(path: dir, options: .keepForever)
                for minute in 1...20 {
                    try Sealed.append(store, Sealed.round(n, at: Sealed.boundary - Sealed.hour + Int64(minute) * 60_000, value: Double(minute), into: &want))
                }
                heads = store.state.withLock { s in
                    s.heads.enumerated().compactMap { i, h in h.builder.map { (UInt64(i + 1), $0.bytes()) } }
                }
                store.close()
            }
            #expect(heads.count == n)
            // What an older build left: `H` keys, no snapshot.
            try FileManager.default.removeItem(atPath: HeadSnapshot.directory(dir))
            do {
                let db = try RocksDB(path: dir + "/db", configuration: .default)
                let batch = RocksWriteBatch()
                for (id, bytes) in heads { batch.put(MetricKey.head(id), bytes) }
                try db.write(batch, sync: true)
                db.close()
            }
            let reopened = try RocksMetricStore(path: dir, options: .keepForever)
            defer { reopened.close() }
            try Sealed.expectReads(reopened, want, from: 0, to: .max, "reopened from H keys")
            #expect(try Self.keys(reopened, MetricKey.headPrefix) == 0, "the H keys are gone once a snapshot holds the heads")
            #expect(reopened.state.withLock { s in s.heads.filter { $0.builder != nil }.count } == n, "the heads are in memory, not cut")
            try Sealed.append(reopened, Sealed.round(n, at: Sealed.boundary - 60_000, value: 99, into: &want))
            try Sealed.expectReads(reopened, want, from: 0, to: .max, "appended after")
        }
    }

    @Test func aDamagedSnapshotIsRefusedByName() async throws {
        try await withTSDBTempDirectory { dir in
            do {
                let store = try RocksMetricStore(path: dir, options: .keepForever)
                var want: [String: [Point]] = [:]
                try Sealed.append(store, Sealed.round(20, at: Sealed.boundary - 60_000, value: 1, into: &want))
                store.close()
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: HeadSnapshot.directory(dir))
            #expect(names.count == 1 && names[0].hasSuffix(".heads"), "one snapshot, no leftover: \(names)")
            let file = HeadSnapshot.directory(dir) + "/" + names[0]
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            bytes[bytes.count / 2] ^= 0x5A
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            #expect {
                _ = try RocksMetricStore(path: dir, options: .keepForever)
            } throws: { error in
                guard case MetricsError.corrupt(let key, let reason) = error else { return false }
                return key == file && reason.contains("checksum")
            }
        }
    }

    @Test func snapshotRecordsRoundTripAndACutFileIsCorrupt() async throws {
        try await withTSDBTempDirectory { dir in
            let writer = try HeadSnapshotWriter(storePath: dir, segment: 7)
            let records: [(HeadSnapshot.Kind, UInt64, [UInt8])] = [
                (.sealedQueued, 3, [1, 2, 3]), (.head, 3, []), (.sealed, 1 << 40, Array(repeating: 9, count: 3 << 20)),
            ]
            for (kind, id, bytes) in records { try writer.append(kind, id: id, bytes) }
            try writer.finish()
            var got: [(HeadSnapshot.Kind, UInt64, [UInt8])] = []
            #expect(try HeadSnapshot.read(dir, segment: 7) { got.append(($0, $1, $2)) })
            #expect(got.count == records.count)
            for (g, r) in zip(got, records) { #expect(g.0 == r.0 && g.1 == r.1 && g.2 == r.2) }
            #expect(try !HeadSnapshot.read(dir, segment: 8) { _, _, _ in }, "no file for another segment")
            // Cut at a record boundary (the end record gone): still found out.
            let file = HeadSnapshot.path(dir, segment: 7)
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            try Data(bytes.dropLast(17)).write(to: URL(fileURLWithPath: file))
            #expect(throws: MetricsError.self) { try HeadSnapshot.read(dir, segment: 7) { _, _, _ in } }
        }
    }
}
