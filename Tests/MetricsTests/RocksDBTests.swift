import Foundation
import Testing
@testable import StratusMetrics

/// The RocksDB wrapper against a real database in a temp dir.
@Suite struct RocksDBTests {
    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func putGetDeleteRoundTrip() async throws {
        try await withTSDBTempDirectory { dir in
            let db = try RocksDB(path: dir + "/db")
            defer { db.close() }
            #expect(try db.get(bytes("k")) == nil)
            try db.put(bytes("k"), bytes("v1"))
            try db.put(bytes("k"), bytes("v2"), sync: true)
            try db.put(bytes("empty"), [])
            #expect(try db.get(bytes("k")) == bytes("v2"))
            #expect(try db.get(bytes("empty")) == [])
            try db.delete(bytes("k"))
            #expect(try db.get(bytes("k")) == nil)
            // Keys and values are bytes, zeros included.
            try db.put([0, 0xFF, 0], [0, 1, 0])
            #expect(try db.get([0, 0xFF, 0]) == [0, 1, 0])
        }
    }

    /// `seek(forwardTo:maxSteps:)` lands where `seek` does for non-decreasing targets: present and
    /// absent keys, the current key, targets a few keys ahead (stepped) and far ahead (sought), and
    /// past the upper bound.
    @Test func seekingForwardLandsWhereASeekDoes() async throws {
        try await withTSDBTempDirectory { dir in
            let db = try RocksDB(path: dir + "/db")
            defer { db.close() }
            let batch = RocksWriteBatch()
            for k in stride(from: 0, to: 400, by: 2) { batch.put([0x43] + BigEndian.bytes(UInt64(k)), [UInt8(k % 251)]) }
            try db.write(batch, sync: false)
            let stepping = try db.makeIterator(lower: [0x43], upper: [0x44])
            let seeking = try db.makeIterator(lower: [0x43], upper: [0x44])
            var targets: [UInt64] = [0, 0, 1, 2, 3, 9, 10, 10, 40, 41, 43, 130, 131, 300, 398, 399, 500]
            var rng = SplitMix64(seed: 7)
            var t: UInt64 = 0
            for _ in 0..<200 { t += UInt64(rng.int(6)); targets.append(t) }
            targets.sort()
            for target in targets {
                let key = [0x43] + BigEndian.bytes(target)
                stepping.seek(forwardTo: key, maxSteps: 4)
                seeking.seek(key)
                #expect(stepping.isValid == seeking.isValid, "target \(target)")
                if seeking.isValid {
                    #expect(stepping.key == seeking.key, "target \(target)")
                    #expect(stepping.currentKeyCompared(to: key) >= 0 && stepping.currentKeyCompared(to: stepping.key) == 0)
                }
            }
            try stepping.checkStatus()
        }
    }

    @Test func batchAppliesPutsAndDeletesTogetherAndSurvivesReopen() async throws {
        try await withTSDBTempDirectory { dir in
            let path = dir + "/db"
            let db = try RocksDB(path: path)
            try db.put(bytes("gone"), bytes("x"))
            let batch = RocksWriteBatch()
            batch.put(bytes("a"), bytes("1"))
            batch.put(bytes("b"), bytes("2"))
            batch.put(bytes("a"), bytes("3"))
            batch.delete(bytes("gone"))
            #expect(batch.count == 4)
            try db.write(batch, sync: true)
            try db.flush()
            db.close()

            let reopened = try RocksDB(path: path, createIfMissing: false)
            defer { reopened.close() }
            #expect(try reopened.get(bytes("a")) == bytes("3"))
            #expect(try reopened.get(bytes("b")) == bytes("2"))
            #expect(try reopened.get(bytes("gone")) == nil)
        }
    }

    @Test func iteratorStaysWithinBoundsInKeyOrder() async throws {
        try await withTSDBTempDirectory { dir in
            let db = try RocksDB(path: dir + "/db")
            defer { db.close() }
            for k in ["a1", "b1", "b3", "b2", "c1"] { try db.put(bytes(k), bytes(k.uppercased())) }

            let it = try db.makeIterator(lower: bytes("b"), upper: bytes("c"))
            it.seekToFirst()
            var seen: [String] = []
            while it.isValid {
                seen.append(String(decoding: it.key, as: UTF8.self) + "=" + String(decoding: it.value, as: UTF8.self))
                it.next()
            }
            try it.checkStatus()
            #expect(seen == ["b1=B1", "b2=B2", "b3=B3"])

            it.seek(bytes("b2"))
            #expect(it.isValid && it.key == bytes("b2"))

            var prefixed: [String] = []
            try db.scan(prefix: bytes("b")) { key, _ in
                prefixed.append(String(decoding: key, as: UTF8.self))
                return prefixed.count < 2
            }
            #expect(prefixed == ["b1", "b2"])
        }
    }

    @Test func successorOfPrefix() {
        #expect(RocksDB.successor(ofPrefix: [0x01, 0x02]) == [0x01, 0x03])
        #expect(RocksDB.successor(ofPrefix: [0x01, 0xFF]) == [0x02])
        #expect(RocksDB.successor(ofPrefix: [0xFF, 0xFF]) == nil)
    }

    @Test func openingAMissingDatabaseWithoutCreateNamesThePath() async throws {
        try await withTSDBTempDirectory { dir in
            #expect {
                _ = try RocksDB(path: dir + "/nothing", createIfMissing: false)
            } throws: { error in
                guard case let MetricsError.storage(operation, message) = error else { return false }
                return operation.contains(dir + "/nothing") && !message.isEmpty
            }
        }
    }

    @Test func closeWaitsForLiveIteratorThenRefusesCalls() async throws {
        try await withTSDBTempDirectory { dir in
            let path = dir + "/db"
            let db = try RocksDB(path: path)
            try db.put(bytes("k"), bytes("v"))
            var it: RocksIterator? = try db.makeIterator()
            db.close()
            #expect(db.isClosed)
            // The iterator still reads: the database closes when it is dropped.
            it!.seekToFirst()
            #expect(it!.key == bytes("k"))
            #expect(throws: MetricsError.self) { try db.get(bytes("k")) }
            // While the iterator lives the directory is still locked.
            #expect(throws: MetricsError.self) { _ = try RocksDB(path: path) }
            it = nil
            let again = try RocksDB(path: path)
            defer { again.close() }
            #expect(try again.get(bytes("k")) == bytes("v"))
        }
    }
}
