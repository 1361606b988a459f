import Control
import Foundation
import Hummingbird
import HummingbirdTesting
import StratusMetrics
import Testing
import Web

/// The manager's agent endpoints over a real SQLite inventory and RocksDB metric store in a temp dir.
struct AgentFixture {
    static let password = "agent-test-pw"
    let dir: String
    let inventory: SQLiteInventoryStore
    let store: RocksMetricStore
    let app: Application<RouterResponder<StratusRequestContext>>

    static func make() async throws -> AgentFixture {
        let dir = agentTempDir()
        let inventory = try SQLiteInventoryStore(path: dir + "/inventory.sqlite")
        let store = try RocksMetricStore(path: dir + "/metrics")
        _ = try await inventory.createAccount(name: "admin", passwordHash: PasswordHasher.hash(password, iterations: 1_000),
                                              type: "SystemAdmin", at: 0)
        let zone = try await inventory.createZone(name: "z", description: "", at: 0)
        _ = try await inventory.createCluster(name: "c", zoneUuid: zone.uuid, hypervisorType: "KVM", at: 0)
        let deps = WebDependencies(inventory: inventory, metricStore: store, clock: SystemWallClock(), collectionInterval: 10_000)
        let app = Application(router: try await StratusWeb.router(deps), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return AgentFixture(dir: dir, inventory: inventory, store: store, app: app)
    }

    func close() {
        store.close()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

extension TestClientProtocol {
    func session() async throws -> String {
        try await execute(uri: "/zstack/v1/accounts/login", method: .put,
                          body: ByteBuffer(string: #"{"logInByAccount":{"accountName":"admin","password":"\#(AgentFixture.password)"}}"#)) { r in
            let json = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
            return try #require((json?["inventory"] as? [String: Any])?["uuid"] as? String)
        }
    }

    /// Registers `name`; returns (host uuid, token).
    func register(_ name: String, session: String) async throws -> (String, String) {
        let body = #"{"params":{"name":"\#(name)","managementIp":"10.0.0.7","cpuNum":8,"memorySize":34359738368}}"#
        return try await execute(uri: AgentProtocol.registerPath, method: .post, headers: [.authorization: "OAuth \(session)"],
                                 body: ByteBuffer(string: body)) { r in
            #expect(r.status == .ok)
            let inv = try #require(try agentJSON(r.body)["inventory"] as? [String: Any])
            return (try #require(inv["uuid"] as? String), try #require(inv["agentToken"] as? String))
        }
    }
}

func agentJSON(_ b: ByteBuffer) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer: b)) as? [String: Any])
}

func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

func details(_ b: ByteBuffer) -> String {
    ((try? agentJSON(b))?["error"] as? [String: String])?["details"] ?? ""
}

/// `n` grid-aligned samples of the host's memory gauge ending near now, gzip-encoded.
func memoryBatch(host: String, rounds: Int, end: Int64) throws -> (body: [UInt8], text: [UInt8], count: Int) {
    var e = AgentBatchEncoder()
    for i in 0..<rounds {
        let t = end - Int64(rounds - 1 - i) * 1000
        e.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/Host", metricName: "MemoryUsedBytes", ["HostUuid": host]),
                        timestamp: t, value: Double(1_000_000 + i)))
        e.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/Host", metricName: "CPUUsedUtilization",
                                                  ["HostUuid": host, "CPUNum": "0"]), timestamp: t, value: 12.5))
    }
    return (try e.gzipped(), e.text, e.count)
}

@Suite struct AgentRoutesTests {
    @Test func registrationNeedsAnAdminAndValidParams() async throws {
        let f = try await AgentFixture.make()
        defer { f.close() }
        try await f.app.test(.router) { c in
            try await c.execute(uri: AgentProtocol.registerPath, method: .post,
                                body: ByteBuffer(string: #"{"params":{"name":"h","managementIp":"1.2.3.4","cpuNum":1,"memorySize":1}}"#)) { r in
                #expect(r.status == .unauthorized)
            }
            let s = try await c.session()
            let cases: [(String, String)] = [
                (#"{"params":{"managementIp":"1.2.3.4","cpuNum":1,"memorySize":1}}"#, "name"),
                (#"{"params":{"name":"bad name","managementIp":"1.2.3.4","cpuNum":1,"memorySize":1}}"#, "params.name"),
                (#"{"params":{"name":"h","managementIp":" ","cpuNum":1,"memorySize":1}}"#, "params.managementIp"),
                (#"{"params":{"name":"h","managementIp":"1.2.3.4","cpuNum":0,"memorySize":1}}"#, "params.cpuNum"),
                (#"{"params":{"name":"h","managementIp":"1.2.3.4","cpuNum":2,"memorySize":-5}}"#, "params.memorySize"),
                (#"{"params":{"name":"h","managementIp":"1.2.3.4","cpuNum":2,"memorySize":5,"clusterUuid":"nope"}}"#, "params.clusterUuid"),
            ]
            for (body, field) in cases {
                try await c.execute(uri: AgentProtocol.registerPath, method: .post, headers: oauthHeader(s), body: ByteBuffer(string: body)) { r in
                    #expect(r.status == .badRequest, "\(body)")
                    #expect(details(r.body).contains(field), "\(body): \(details(r.body))")
                }
            }
        }
        #expect(try await f.inventory.hosts(InventoryQuery()).total == 0, "nothing is half-written")
    }

    @Test func theTokenNamesTheHostAndReRegisteringRotatesIt() async throws {
        let f = try await AgentFixture.make()
        defer { f.close() }
        try await f.app.test(.router) { c in
            let s = try await c.session()
            let (uuid, token) = try await c.register("kvm-1", session: s)
            #expect(token.count == 64 && token.allSatisfy(\.isHexDigit))
            try await c.execute(uri: AgentProtocol.helloPath, method: .get, headers: bearer(token)) { r in
                #expect(r.status == .ok)
                let hello = try JSONDecoder().decode(AgentHello.self, from: Data(buffer: r.body))
                #expect(hello.hostUuid == uuid)
                #expect(hello.hostName == "kvm-1")
                #expect(hello.interval == 10_000)
            }
            // A wrong token differs in its first digit (a fixed "0" matched one token in 16).
            let wrong = (token.first == "0" ? "1" : "0") + token.dropFirst()
            for headers: HTTPFields in [[:], bearer(wrong), [.authorization: "OAuth \(s)"]] {
                try await c.execute(uri: AgentProtocol.helloPath, method: .get, headers: headers) { r in
                    #expect(r.status == .unauthorized)
                    #expect(details(r.body).contains("Bearer") || details(r.body).contains("token"))
                }
            }
            let (again, newToken) = try await c.register("kvm-1", session: s)
            #expect(again == uuid, "the same name is the same host")
            #expect(newToken != token)
            try await c.execute(uri: AgentProtocol.helloPath, method: .get, headers: bearer(token)) { r in
                #expect(r.status == .unauthorized, "the old token stops working")
            }
            try await c.execute(uri: AgentProtocol.helloPath, method: .get, headers: bearer(newToken)) { r in
                #expect(r.status == .ok)
            }
        }
        let host = try await f.inventory.hosts(InventoryQuery()).inventories
        #expect(host.count == 1)
        #expect(host.first?.hypervisorURI == "agent://kvm-1")
        #expect(host.first?.status == "Connected")
    }

    @Test func aPushIsStoredAndAReplayAddsNoDuplicates() async throws {
        let f = try await AgentFixture.make()
        defer { f.close() }
        let end = SystemWallClock().now() / 1000 * 1000
        try await f.app.test(.router) { c in
            let s = try await c.session()
            let (uuid, token) = try await c.register("kvm-2", session: s)
            let batch = try memoryBatch(host: uuid, rounds: 30, end: end)
            var headers = bearer(token)
            headers[.contentEncoding] = "gzip"
            for _ in 0..<2 {
                try await c.execute(uri: AgentProtocol.metricsPath, method: .post, headers: headers, body: ByteBuffer(bytes: batch.body)) { r in
                    #expect(r.status == .ok)
                    let reply = try JSONDecoder().decode(AgentPushReply.self, from: Data(buffer: r.body))
                    #expect(reply.accepted == batch.count)
                    #expect(reply.rejected == 0)
                }
            }
            // Plain text is accepted too; a bad line is counted, not fatal.
            let plain = batch.text + Array("garbage line\n".utf8)
            try await c.execute(uri: AgentProtocol.metricsPath, method: .post, headers: bearer(token), body: ByteBuffer(bytes: plain)) { r in
                #expect(r.status == .ok)
                let reply = try JSONDecoder().decode(AgentPushReply.self, from: Data(buffer: r.body))
                #expect(reply.accepted == batch.count)
                #expect(reply.rejected == 1)
                #expect(reply.rejections.count == 1)
            }
            try await c.execute(uri: "/zstack/v1/agent/ingest-stats", method: .get, headers: oauthHeader(s)) { r in
                #expect(r.status == .ok)
                let stats = try JSONDecoder().decode(AgentIngestStats.self, from: Data(buffer: r.body))
                #expect(stats.batches == 3)
                #expect(stats.samples == 3 * batch.count)
                #expect(stats.rejected == 1)
                #expect(stats.bytes == 2 * batch.body.count + plain.count)
                #expect(stats.agentsConnected == 1)
                #expect(stats.lagMaxMs >= stats.lagP99Ms && stats.lagP99Ms >= stats.lagP50Ms)
                // The oldest sample is ~29 s old on arrival; arriving comes before being durable.
                #expect(stats.arrivalLagMaxMs >= 29_000)
                #expect(stats.arrivalLagMaxMs <= stats.lagMaxMs && stats.arrivalLagP99Ms <= stats.lagP99Ms)
                #expect(stats.arrivalLagP99Ms >= stats.arrivalLagP50Ms && stats.arrivalLagP50Ms > 0)
            }
            try await c.execute(uri: "/zstack/v1/agent/ingest-stats", method: .get, headers: bearer(token)) { r in
                #expect(r.status == .unauthorized, "an agent token is no admin session")
            }
            let series = try await f.store.select([.equal("__name__", "ZStack:Host::MemoryUsedBytes"), .equal("HostUuid", uuid)],
                                                  from: 0, to: .max)
            #expect(series.count == 1)
            #expect(series.first?.points.count == 30)
            #expect(series.first?.points.map(\.timestamp) == (0..<30).map { end - Int64(29 - $0) * 1000 })
        }
    }

    @Test func anotherHostsSeriesIsForbiddenAndNothingIsStored() async throws {
        let f = try await AgentFixture.make()
        defer { f.close() }
        let end = SystemWallClock().now() / 1000 * 1000
        try await f.app.test(.router) { c in
            let s = try await c.session()
            let (a, tokenA) = try await c.register("kvm-a", session: s)
            let (b, tokenB) = try await c.register("kvm-b", session: s)
            // B pushes its own series first, so the series text is cached as B's.
            let own = try memoryBatch(host: b, rounds: 2, end: end)
            try await c.execute(uri: AgentProtocol.metricsPath, method: .post, headers: bearer(tokenB), body: ByteBuffer(bytes: own.text)) { r in
                #expect(r.status == .ok)
            }
            // A pushes its own samples plus B's (cached) series, then a new series of B: both refused whole.
            for foreign in [own.text, try memoryBatch(host: b, rounds: 3, end: end + 60_000).text.suffix(200)] {
                let mixed = try memoryBatch(host: a, rounds: 2, end: end).text + Array(foreign)
                try await c.execute(uri: AgentProtocol.metricsPath, method: .post, headers: bearer(tokenA), body: ByteBuffer(bytes: mixed)) { r in
                    #expect(r.status == .forbidden)
                    #expect(details(r.body).contains(a))
                }
            }
            let aSeries = try await f.store.select([.equal("HostUuid", a)], from: 0, to: .max)
            #expect(aSeries.isEmpty, "nothing of a refused batch is stored")
            let bPoints = try await f.store.select([.equal("HostUuid", b)], from: 0, to: .max).map(\.points.count).reduce(0, +)
            #expect(bPoints == own.count)
        }
    }

    @Test func aVMReportUpdatesTheInventoryAndWritesEvents() async throws {
        let f = try await AgentFixture.make()
        defer { f.close() }
        try await f.app.test(.router) { c in
            let s = try await c.session()
            let (host, token) = try await c.register("kvm-3", session: s)
            let vm1 = String(repeating: "1", count: 32), vm2 = String(repeating: "2", count: 32)
            func report(_ states: [String], at time: Int64) throws -> ByteBuffer {
                let r = AgentVMReport(time: time, vms: [
                    AgentVM(uuid: vm1, name: "web", state: states[0], cpuNum: 2, memorySize: 1 << 30),
                    AgentVM(uuid: vm2, name: "db", state: states[1], cpuNum: 4, memorySize: 1 << 31),
                ])
                return ByteBuffer(bytes: try JSONEncoder().encode(r))
            }
            try await c.execute(uri: AgentProtocol.vmsPath, method: .put, headers: bearer(token), body: try report(["Running", "Stopped"], at: 1_700_000_000_000)) { r in
                #expect(r.status == .noContent)
            }
            try await c.execute(uri: AgentProtocol.vmsPath, method: .put, headers: bearer(token), body: try report(["Paused", "Stopped"], at: 1_700_000_010_000)) { r in
                #expect(r.status == .noContent)
            }
            let bad = #"{"time":1,"vms":[{"uuid":"NOT-HEX","name":"x","state":"Running","cpuNum":1,"memorySize":1}]}"#
            try await c.execute(uri: AgentProtocol.vmsPath, method: .put, headers: bearer(token), body: ByteBuffer(string: bad)) { r in
                #expect(r.status == .badRequest)
                #expect(details(r.body).contains("vms[0].uuid"))
            }
            let vms = try await f.inventory.vms(InventoryQuery()).inventories
            #expect(Set(vms.map(\.uuid)) == [vm1, vm2])
            #expect(vms.allSatisfy { $0.hostUuid == host })
            #expect(vms.first { $0.uuid == vm1 }?.state == .paused)
            let events = try await f.inventory.events(after: 0, limit: 1000).filter { $0.resourceType == "VmInstance" }
            #expect(events.filter { $0.eventType == "Created" }.count == 2)
            let changed = events.filter { $0.eventType == ResourceEvent.EventType.vmStateChanged }
            #expect(changed.count == 1)
            #expect(changed.first?.resourceUuid == vm1)
            #expect(changed.first?.oldValue == "Running" && changed.first?.newValue == "Paused")
        }
    }
}

func oauthHeader(_ session: String) -> HTTPFields { [.authorization: "OAuth \(session)"] }
