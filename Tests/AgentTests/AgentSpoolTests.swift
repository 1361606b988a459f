import Agent
import Foundation
import Logging
import Synchronization
import Testing

@Suite struct AgentSpoolTests {
    func payload(_ i: Int, size: Int = 100) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ i) } }

    @Test func batchesComeBackInOrderAndGoWhenRemoved() throws {
        let dir = agentTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try AgentSpool(directory: dir, maxBytes: 1 << 20)
        let seqs = try (0..<5).map { try spool.append(payload: payload($0), samples: 10 + $0) }
        #expect(seqs == seqs.sorted() && Set(seqs).count == 5)
        #expect(spool.pending.batches == 5)
        for (i, seq) in seqs.enumerated() {
            let b = try #require(try spool.oldest())
            #expect(b.sequence == seq)
            #expect(b.samples == 10 + i)
            #expect(b.payload == payload(i))
            spool.remove(b.sequence)
        }
        #expect(try spool.oldest() == nil)
        #expect(spool.pending.bytes == 0)
        #expect(spool.counters == AgentSpool.Counters())
    }

    @Test func theBoundDropsTheOldestAndCountsTheirSamples() throws {
        let dir = agentTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Each file is 28 header bytes + 100 payload bytes; room for 3.
        let spool = try AgentSpool(directory: dir, maxBytes: 3 * 128 + 10)
        var seqs: [UInt64] = []
        for i in 0..<5 { seqs.append(try spool.append(payload: payload(i), samples: 7)) }
        #expect(spool.pending.batches == 3)
        #expect(spool.pending.bytes <= spool.maxBytes)
        #expect(spool.counters.droppedBatches == 2)
        #expect(spool.counters.droppedSamples == 14)
        #expect(try spool.oldest()?.sequence == seqs[2])

        // The counts survive a restart.
        let reopened = try AgentSpool(directory: dir, maxBytes: 3 * 128 + 10)
        #expect(reopened.counters.droppedSamples == 14)
        #expect(reopened.pending.batches == 3)
    }

    @Test func batchesAndSequenceSurviveReopen() throws {
        let dir = agentTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var seqs: [UInt64] = []
        do {
            let spool = try AgentSpool(directory: dir, maxBytes: 1 << 20)
            for i in 0..<3 { seqs.append(try spool.append(payload: payload(i), samples: 1)) }
            spool.remove(seqs[0])
        }
        let spool = try AgentSpool(directory: dir, maxBytes: 1 << 20)
        #expect(spool.pending.batches == 2)
        #expect(try spool.oldest()?.payload == payload(1))
        let next = try spool.append(payload: payload(9), samples: 1)
        #expect(next > seqs[2], "a new batch must sort after the spooled ones")
    }

    @Test func aTornFileAtTheTailIsSkippedAndCounted() throws {
        let dir = agentTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var seqs: [UInt64] = []
        do {
            let spool = try AgentSpool(directory: dir, maxBytes: 1 << 20)
            for i in 0..<3 { seqs.append(try spool.append(payload: payload(i, size: 1000), samples: 5)) }
        }
        // A crash mid-write: the last file lost its end; a write that never finished left a .tmp.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".batch") }.sorted()
        #expect(files.count == 3)
        let last = dir + "/" + files[2]
        let data = try Data(contentsOf: URL(fileURLWithPath: last))
        try data.prefix(500).write(to: URL(fileURLWithPath: last))
        try Data(payload(0)).write(to: URL(fileURLWithPath: dir + "/00000000000000000099.batch.tmp"))

        let spool = try AgentSpool(directory: dir, maxBytes: 1 << 20)
        #expect(spool.counters.tornBatches == 1, "the leftover .tmp")
        var got: [UInt64] = []
        while let b = try spool.oldest() {
            got.append(b.sequence)
            spool.remove(b.sequence)
        }
        #expect(got == [seqs[0], seqs[1]])
        #expect(spool.counters.tornBatches == 2)
        #expect(!FileManager.default.fileExists(atPath: last))
    }

    @Test func aCorruptPayloadIsCaughtByItsChecksum() throws {
        let dir = agentTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try AgentSpool(directory: dir, maxBytes: 1 << 20)
        let seq = try spool.append(payload: payload(1), samples: 1)
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".batch") })
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/" + file)))
        bytes[bytes.count - 1] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + file))
        #expect(try spool.oldest() == nil)
        #expect(spool.counters.tornBatches == 1)
        _ = seq
    }
}

@Suite struct AgentPusherTests {
    func spoolWith(_ n: Int, dir: String) throws -> (AgentSpool, [UInt64]) {
        let spool = try AgentSpool(directory: dir, maxBytes: 1 << 20)
        let seqs = try (0..<n).map { try spool.append(payload: [UInt8($0)], samples: 3) }
        return (spool, seqs)
    }

    @Test func sendsInOrderAndDeletesEachAfter2xx() async throws {
        let dir = agentTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (spool, seqs) = try spoolWith(4, dir: dir)
        let transport = ScriptedTransport { _ in 200 }
        let pusher = AgentPusher(spool: spool, client: AgentClient(manager: "http://m", token: "t", transport: transport),
                                 logger: Logger(label: "test"))
        #expect(try await pusher.drain() == .empty)
        #expect(transport.batchSequences == seqs)
        #expect(spool.pending.batches == 0)
        let first = try #require(transport.sent.withLock { $0.first })
        #expect(first.headers.contains { $0.name == "Authorization" && $0.value == "Bearer t" })
        #expect(first.headers.contains { $0.name == "Content-Encoding" && $0.value == "gzip" })
    }

    @Test func anUnreachableOr5xxManagerKeepsEverythingInOrder() async throws {
        let dir = agentTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (spool, seqs) = try spoolWith(3, dir: dir)
        let calls = Mutex(0)
        // First call: connection refused; second: 503 on the second batch.
        let transport = ScriptedTransport { _ in
            let n = calls.withLock { $0 += 1; return $0 }
            switch n {
            case 1: return nil
            case 3: return 503
            default: return 200
            }
        }
        let pusher = AgentPusher(spool: spool, client: AgentClient(manager: "http://m", token: "t", transport: transport),
                                 logger: Logger(label: "test"))
        guard case .retryLater = try await pusher.drain() else { Issue.record("expected a retry"); return }
        #expect(spool.pending.batches == 3)
        guard case .retryLater = try await pusher.drain() else { Issue.record("expected a retry"); return }
        #expect(spool.pending.batches == 2)
        #expect(try await pusher.drain() == .empty)
        #expect(transport.batchSequences == [seqs[0], seqs[0], seqs[1], seqs[1], seqs[2]])
        #expect(spool.counters.rejectedBatches == 0)
    }

    @Test func a4xxDropsThatBatchAndCountsItWithoutRetrying() async throws {
        let dir = agentTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (spool, seqs) = try spoolWith(3, dir: dir)
        let bad = seqs[1]
        let transport = ScriptedTransport { r in
            r.headers.contains { $0.name == "X-Stratus-Batch" && $0.value == String(bad) } ? 400 : 200
        }
        let pusher = AgentPusher(spool: spool, client: AgentClient(manager: "http://m", token: "t", transport: transport),
                                 logger: Logger(label: "test"))
        #expect(try await pusher.drain() == .empty)
        #expect(transport.batchSequences == seqs)
        #expect(spool.counters.rejectedBatches == 1)
        #expect(spool.counters.rejectedSamples == 3)
    }
}
