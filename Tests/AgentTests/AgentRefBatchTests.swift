@testable import Agent
import Control
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import StratusMetrics
import Synchronization
import Testing
import Web

/// The compact batch (`AgentRefBatchEncoder`): its bytes, the manager's refs and their checks over
/// HTTP on a real RocksDB store, and the agent's pusher learning and forgetting refs.
@Suite struct AgentRefBatchTests {
    static func text(_ host: String, _ metric: String, cpu: String? = nil) -> [UInt8] {
        var labels = ["HostUuid": host]
        if let cpu { labels["CPUNum"] = cpu }
        return AgentBatchEncoder.seriesText(ZWatchName.labels(namespace: "ZStack/Host", metricName: metric, labels))
    }

    @Test func entriesRoundTripWithRefsTextsAnyTimestampsAndExactValueBits() throws {
        var e = AgentRefBatchEncoder()
        let series = Self.text("h", "CPUUsedUtilization", cpu: "0")
        let values: [Double] = [12.5, -0.0, .nan, .infinity, 1e-300, 3]
        let times: [Int64] = [1_800_000_000_000, 1_800_000_010_000, 1_799_999_990_000, 0, -5, 1_800_000_000_000]
        for k in values.indices {
            if k % 2 == 0 { e.append(seriesText: series, value: values[k], timestamp: times[k]) } else { e.append(ref: UInt64(1 << (7 * k)), value: values[k], timestamp: times[k]) }
        }
        #expect(e.count == 6 && e.textCount == 3)
        let d = try e.bytes.withUnsafeBufferPointer { try AgentRefBatch.decode($0) }
        #expect(d.timestamps == times)
        #expect(d.values.map(\.bitPattern) == values.map(\.bitPattern))
        #expect(d.refs == [0, 1 << 7, 0, 1 << 21, 0, 1 << 35])
        #expect(d.textEntries == [0, 2, 4])
        for r in d.textRanges { #expect(Array(e.bytes[r]) == series) }
        // 1 ref byte + 1-6 timestamp bytes + 8 value bytes: far below the ~60-byte text line.
        var small = AgentRefBatchEncoder()
        for k in 0..<100 { small.append(ref: UInt64(k + 1), value: Double(k), timestamp: 1_800_000_000_000) }
        #expect(small.bytes.count < 4 + 6 + 100 * 10)
    }

    @Test func aMalformedBodyIsRefusedNamingTheEntryAndTheFormat() {
        var e = AgentRefBatchEncoder()
        e.append(ref: 3, value: 1, timestamp: 10)
        e.append(seriesText: Self.text("h", "MemoryUsedBytes"), value: 2, timestamp: 10)
        let good = e.bytes
        let cases: [([UInt8], String)] = [
            (Array("text{a=\"b\"} 1 2\n".utf8), "starts with 'STB1'"),
            (Array(good.dropLast(3)), "entry 2"),                    // value cut short
            (Array(good.prefix(4 + 1 + 1 + 8 + 1 + 1)) + [0x7F], "series text length past the end"),
        ]
        for (body, words) in cases {
            do {
                _ = try body.withUnsafeBufferPointer { try AgentRefBatch.decode($0) }
                Issue.record("\(words): decoded")
            } catch {
                #expect("\(error)".contains(words), "\(error)")
            }
        }
    }

    /// Over HTTP: texts first (refs answered), then refs; a ref the manager never gave this host is
    /// 409 with nothing stored; after a manager restart (a new router on the same store) refs are
    /// 409 until the agent sends texts again, which answer the same refs.
    @Test func theManagerAnswersRefsAcceptsThemFromTheirHostOnlyAndForgetsThemOnRestart() async throws {
        let f = try await AgentFixture.make()
        defer { f.close() }
        let end = SystemWallClock().now() / 1000 * 1000
        let compact: HTTPFields = [.contentType: AgentProtocol.refBatchContentType]
        @Sendable func headers(_ token: String) -> HTTPFields { var h = bearer(token); h.append(contentsOf: compact); return h }
        @Sendable func points(_ host: String) async throws -> Int {
            try await f.store.select([.equal("HostUuid", host)], from: 0, to: .max).map(\.points.count).reduce(0, +)
        }
        let (hostA, tokenA, firstRefs) = try await f.app.test(.router) { c in
            let s = try await c.session()
            let (hostA, tokenA) = try await c.register("kvm-ref-a", session: s)
            let (hostB, tokenB) = try await c.register("kvm-ref-b", session: s)
            let texts = [Self.text(hostA, "MemoryUsedBytes"), Self.text(hostA, "CPUUsedUtilization", cpu: "0")]
            var first = AgentRefBatchEncoder()
            for (k, t) in texts.enumerated() { first.append(seriesText: t, value: Double(k + 1), timestamp: end - 10_000) }
            let firstRefs = try await c.execute(uri: AgentProtocol.metricsPath, method: .post, headers: headers(tokenA),
                                                body: ByteBuffer(bytes: first.bytes)) { r in
                #expect(r.status == .ok)
                let reply = try JSONDecoder().decode(AgentPushReply.self, from: Data(buffer: r.body))
                #expect(reply.accepted == 2 && reply.rejected == 0)
                return reply.refs ?? []
            }
            #expect(firstRefs.count == 2 && !firstRefs.contains(0) && Set(firstRefs).count == 2)
            var next = AgentRefBatchEncoder()
            for (k, ref) in firstRefs.enumerated() { next.append(ref: ref, value: Double(k + 10), timestamp: end) }
            try await c.execute(uri: AgentProtocol.metricsPath, method: .post, headers: headers(tokenA), body: ByteBuffer(bytes: next.bytes)) { r in
                #expect(r.status == .ok)
                let reply = try JSONDecoder().decode(AgentPushReply.self, from: Data(buffer: r.body))
                #expect(reply.accepted == 2 && reply.refs == nil)
            }
            #expect(try await points(hostA) == 4)

            // A ref never answered, and A's refs pushed by B: 409, nothing of either batch stored.
            var unknown = AgentRefBatchEncoder()
            unknown.append(ref: firstRefs[0], value: 5, timestamp: end + 10_000)
            unknown.append(ref: 987_654, value: 5, timestamp: end + 10_000)
            var stolen = AgentRefBatchEncoder()
            stolen.append(seriesText: Self.text(hostB, "MemoryUsedBytes"), value: 1, timestamp: end)
            stolen.append(ref: firstRefs[1], value: 99, timestamp: end + 10_000)
            for (token, body, ref) in [(tokenA, unknown, UInt64(987_654)), (tokenB, stolen, firstRefs[1])] {
                try await c.execute(uri: AgentProtocol.metricsPath, method: .post, headers: headers(token), body: ByteBuffer(bytes: body.bytes)) { r in
                    #expect(r.status == .conflict)
                    #expect((try? agentJSON(r.body)["error"] as? [String: String])?["code"] == AgentProtocol.unknownRefCode)
                    #expect(details(r.body).contains("series ref \(ref)") && details(r.body).contains("resend"))
                }
            }
            #expect(try await points(hostA) == 4)
            #expect(try await points(hostB) == 0)

            // A truncated body: 400 naming the format.
            try await c.execute(uri: AgentProtocol.metricsPath, method: .post, headers: headers(tokenA),
                                body: ByteBuffer(bytes: Array(next.bytes.dropLast(2)))) { r in
                #expect(r.status == .badRequest)
                #expect(details(r.body).contains("STB1"))
            }
            return (hostA, tokenA, firstRefs)
        }

        // A restarted manager (a new router over the same store) knows no refs until texts come again.
        let deps = WebDependencies(inventory: f.inventory, metricStore: f.store, clock: SystemWallClock(), collectionInterval: 10_000)
        let restarted = Application(router: try await StratusWeb.router(deps), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await restarted.test(.router) { c in
            var refsOnly = AgentRefBatchEncoder()
            refsOnly.append(ref: firstRefs[0], value: 7, timestamp: end + 20_000)
            try await c.execute(uri: AgentProtocol.metricsPath, method: .post, headers: headers(tokenA), body: ByteBuffer(bytes: refsOnly.bytes)) { r in
                #expect(r.status == .conflict)
            }
            var texts = AgentRefBatchEncoder()
            texts.append(seriesText: Self.text(hostA, "MemoryUsedBytes"), value: 7, timestamp: end + 20_000)
            try await c.execute(uri: AgentProtocol.metricsPath, method: .post, headers: headers(tokenA), body: ByteBuffer(bytes: texts.bytes)) { r in
                #expect(r.status == .ok)
                let reply = try JSONDecoder().decode(AgentPushReply.self, from: Data(buffer: r.body))
                #expect(reply.refs == [firstRefs[0]])
            }
            try await c.execute(uri: AgentProtocol.metricsPath, method: .post, headers: headers(tokenA), body: ByteBuffer(bytes: refsOnly.bytes)) { r in
                #expect(r.status == .ok, "the ref is known again; replaying the same sample is harmless")
            }
        }
        #expect(try await points(hostA) == 5)
    }

    /// The agent's pusher: the first batch names its series by text, the next by the refs answered;
    /// a 409 makes it forget them and resend that batch with texts; nothing is dropped.
    @Test func thePusherLearnsRefsAndResendsWithTextsAfterA409() async throws {
        let dir = agentTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try AgentSpool(directory: dir, maxBytes: 1 << 20)
        var seqs: [UInt64] = []
        for round in 0..<3 {
            var e = AgentBatchEncoder()
            e.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/Host", metricName: "MemoryUsedBytes", ["HostUuid": "h"]),
                            timestamp: 1_800_000_000_000 + Int64(round) * 10_000, value: Double(round)))
            e.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/Host", metricName: "CPUUsedUtilization", ["HostUuid": "h", "CPUNum": "0"]),
                            timestamp: 1_800_000_000_000 + Int64(round) * 10_000, value: 12.5))
            seqs.append(try spool.append(payload: try e.gzipped(), samples: e.count))
        }
        let transport = RefAnsweringTransport(conflictOnRequest: 3)
        let pusher = AgentPusher(spool: spool, client: AgentClient(manager: "http://m", token: "t", transport: transport),
                                 logger: Logger(label: "test"))
        #expect(try await pusher.drain() == .empty)
        #expect(spool.pending.batches == 0 && spool.counters.rejectedBatches == 0)
        let seen = transport.seen.withLock { $0 }
        #expect(seen.map(\.sequence) == [seqs[0], seqs[1], seqs[2], seqs[2]])
        #expect(seen.map(\.texts) == [2, 0, 0, 2], "texts, refs, refs (409), texts again")
        #expect(seen.allSatisfy { $0.contentType == AgentProtocol.refBatchContentType && $0.samples == 2 })
        #expect(pusher.refs.count == 2)
    }
}

/// A manager stand-in that reads compact batches, answers refs 101, 102, … for texts, and 409s the
/// request numbered `conflictOnRequest` (as a restarted manager would).
final class RefAnsweringTransport: AgentTransport {
    struct Seen: Equatable {
        var sequence: UInt64
        var contentType: String
        var samples: Int
        var texts: Int
    }
    let conflictOnRequest: Int
    let seen = Mutex<[Seen]>([])
    private let next = Mutex<UInt64>(101)

    init(conflictOnRequest: Int) { self.conflictOnRequest = conflictOnRequest }

    func send(_ request: OutboundRequest) async throws -> AgentHTTPResponse {
        let header = { (name: String) in request.headers.first { $0.name == name }?.value ?? "" }
        let batch = try request.body.withUnsafeBufferPointer { try AgentRefBatch.decode($0) }
        let n = seen.withLock { s in
            s.append(Seen(sequence: UInt64(header(AgentProtocol.batchHeader)) ?? 0, contentType: header("Content-Type"),
                          samples: batch.refs.count, texts: batch.textEntries.count))
            return s.count
        }
        if n == conflictOnRequest { return AgentHTTPResponse(status: 409, body: Array(#"{"error":{"code":"AGENT.1001"}}"#.utf8)) }
        let refs = next.withLock { v in (0..<batch.textEntries.count).map { _ in defer { v += 1 }; return v } }
        let reply = AgentPushReply(accepted: batch.refs.count, rejected: 0, rejections: [], refs: refs.isEmpty ? nil : refs)
        return AgentHTTPResponse(status: 200, body: Array(try JSONEncoder().encode(reply)))
    }
}
