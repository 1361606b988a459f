import Control
import Foundation
import Hummingbird
import HummingbirdTesting
import StratusMetrics
import Testing
import Web

@Suite struct APITests {
    @Test func healthzNeedsNoLogin() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            try await c.execute(uri: "/healthz", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == "ok\n")
            }
        }
    }

    @Test func apiWithoutSessionIs401WithZStackErrorBody() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            try await c.execute(uri: "/zstack/v1/hosts", method: .get) { r in
                #expect(r.status == .unauthorized)
                let error = try #require(try json(r.body)["error"] as? [String: String])
                #expect(error["code"] == "ID.1001")
                #expect(error["details"]?.contains("accounts/login") == true)
            }
            try await c.execute(uri: "/zstack/v1/hosts", method: .get, headers: oauth("not-a-session")) { r in
                #expect(r.status == .unauthorized)
            }
        }
    }

    @Test func wrongPasswordIs401AndMalformedBodyIs400() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            try await c.execute(uri: "/zstack/v1/accounts/login", method: .put,
                                body: ByteBuffer(string: #"{"logInByAccount":{"accountName":"admin","password":"nope"}}"#)) { r in
                #expect(r.status == .unauthorized)
                let details = try errorDetails(r.body)
                #expect(details == "wrong account name or password")
            }
            try await c.execute(uri: "/zstack/v1/accounts/login", method: .put, body: ByteBuffer(string: #"{"logInByAccount":{}}"#)) { r in
                #expect(r.status == .badRequest)
                let details = try errorDetails(r.body)
                #expect(details.contains("accountName"))
            }
        }
    }

    @Test func hostsAndVMsAreQueryable() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let s = try await c.login()
            try await c.execute(uri: "/zstack/v1/hosts", method: .get, headers: oauth(s)) { r in
                #expect(r.status == .ok)
                let inv = try #require(try json(r.body)["inventories"] as? [[String: Any]])
                #expect(inv.count == 1)
                #expect(inv[0]["uuid"] as? String == f.host.uuid)
                #expect(inv[0]["hypervisorURI"] as? String == "test:///default")
            }
            try await c.execute(uri: "/zstack/v1/vm-instances?q=state=Running", method: .get, headers: oauth(s)) { r in
                let body = try json(r.body)
                let inv = try #require(body["inventories"] as? [[String: Any]])
                #expect(inv.map { $0["name"] as? String } == ["web-1"])
                #expect(inv[0]["state"] as? String == "Running")
                #expect(inv[0]["memorySize"] as? Int == 1 << 30)
                #expect(body["total"] as? Int == 1)
            }
            try await c.execute(uri: "/zstack/v1/vm-instances?count=true", method: .get, headers: oauth(s)) { r in
                let body = try json(r.body)
                #expect(body["total"] as? Int == 2)
            }
            try await c.execute(uri: "/zstack/v1/vm-instances/\(f.vmUuids[1])", method: .get, headers: oauth(s)) { r in
                let body = try json(r.body)
                #expect((body["inventory"] as? [String: Any])?["name"] as? String == "db-1")
            }
            try await c.execute(uri: "/zstack/v1/vm-instances/ffff", method: .get, headers: oauth(s)) { r in
                #expect(r.status == .notFound)
            }
            try await c.execute(uri: "/zstack/v1/vm-instances?q=colour=red", method: .get, headers: oauth(s)) { r in
                #expect(r.status == .badRequest)
                let details = try errorDetails(r.body)
                #expect(details.contains("colour"))
            }
        }
    }

    @Test func zwatchReturnsPeriodAveragesInSeconds() async throws {
        let f = try await WebFixture.make()
        let end = WebFixture.now / 1000, start = end - 600
        try await f.app.test(.router) { c in
            let s = try await c.login()
            let uri = "/zstack/v1/zwatch/metrics?namespace=ZStack/VM&metricName=CPUAllUsedUtilization&labels=VMUuid=\(f.vmUuids[0])&startTime=\(start)&endTime=\(end)&period=60"
            try await c.execute(uri: uri, method: .get, headers: oauth(s)) { r in
                #expect(r.status == .ok)
                let data = try #require(try json(r.body)["data"] as? [[String: Any]])
                // 60 samples valued 0…59 at 10 s spacing from `start`; ZWatch (like PromQL's
                // avg_over_time) averages (t - 60 s, t] at t = start, start + 60, … end: the first
                // window holds only sample 0, window k holds samples 6k-5…6k, the last 55…59.
                #expect(data.count == 11)
                let values = data.compactMap { $0["value"] as? Double }
                let middle: [Double] = (1...9).map { (k: Int) -> Double in Double(6 * k) - 2.5 }
                let expected: [Double] = [0] + middle + [57]
                #expect(values == expected)
                let times = data.compactMap { $0["time"] as? Int64 }
                let expectedTimes: [Int64] = (0...10).map { (k: Int) -> Int64 in start + 60 * Int64(k) }
                #expect(times == expectedTimes)
                #expect((data[0]["labels"] as? [String: String])?["VMUuid"] == f.vmUuids[0])
                #expect((data[0]["labels"] as? [String: String])?["__name__"] == nil)
            }
        }
    }

    @Test func zwatchBadInputNamesTheField() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let s = try await c.login()
            for (query, field) in [("metricName=X", "namespace"), ("namespace=ZStack/VM", "metricName"),
                                   ("namespace=ZStack/VM&metricName=X&period=0", "period"),
                                   ("namespace=ZStack/VM&metricName=X&startTime=abc", "startTime"),
                                   ("namespace=ZStack/VM&metricName=X&startTime=200&endTime=100", "endTime"),
                                   ("namespace=ZStack/VM&metricName=X&labels=VMUuid=~(", "VMUuid")] {
                try await c.execute(uri: "/zstack/v1/zwatch/metrics?\(query)", method: .get, headers: oauth(s)) { r in
                    #expect(r.status == .badRequest, "\(query)")
                    let details = try errorDetails(r.body)
                    #expect(details.contains(field), "\(query): \(details)")
                }
            }
        }
    }

    @Test func logoutEndsTheSession() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let s = try await c.login()
            try await c.execute(uri: "/zstack/v1/accounts/sessions/\(s)", method: .delete, headers: oauth(s)) { r in
                #expect(r.status == .ok)
            }
            try await c.execute(uri: "/zstack/v1/hosts", method: .get, headers: oauth(s)) { r in
                #expect(r.status == .unauthorized)
            }
        }
    }

    /// The same API over a real TCP socket, with the embedded RocksDB store.
    @Test func overARealSocketWithRocksDB() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("web-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try RocksMetricStore(path: dir.path)
        defer { store.close() }
        let f = try await WebFixture.make(store: store)
        try await f.app.test(.live) { c in
            let s = try await c.login()
            try await c.execute(uri: "/zstack/v1/hosts", method: .get, headers: oauth(s)) { r in
                #expect(r.status == .ok)
                let body = try json(r.body)
                #expect((body["inventories"] as? [[String: Any]])?.count == 1)
            }
            let uri = "/zstack/v1/zwatch/metrics?namespace=ZStack/Host&metricName=CPUAllUsedUtilization&startTime=\(WebFixture.now / 1000 - 600)&endTime=\(WebFixture.now / 1000)&period=600"
            try await c.execute(uri: uri, method: .get, headers: oauth(s)) { r in
                let data = try #require(try json(r.body)["data"] as? [[String: Any]])
                #expect(!data.isEmpty)
                #expect(data.allSatisfy { $0["value"] as? Double == 12.5 })
            }
        }
    }
}
