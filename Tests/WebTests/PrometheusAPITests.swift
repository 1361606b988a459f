import Foundation
import Hummingbird
import HummingbirdTesting
import StratusMetrics
import Synchronization
import Testing
@testable import Web

/// The Prometheus API over the fixture (VM a's CPU is 0…59 at 10 s steps ending 10 s before
/// `now`, its memory 40, the host's CPU 12.5), behind the app's auth.
@Suite struct PrometheusAPITests {
    private let now = WebFixture.now / 1000

    private func basic(_ name: String = "admin", _ password: String = WebFixture.password) -> HTTPFields {
        [.authorization: "Basic " + Data("\(name):\(password)".utf8).base64EncodedString()]
    }

    private func get(_ c: some TestClientProtocol, _ path: String) async throws -> (HTTPResponse.Status, String) {
        try await c.execute(uri: path, method: .get, headers: basic()) { r in (r.status, String(buffer: r.body)) }
    }

    private func enc(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }

    @Test func instantQueryReplyIsPrometheusJSONByteForByte() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let (status, body) = try await get(c, "/api/v1/query?query=\(enc("ZStack:Host::CPUAllUsedUtilization"))&time=\(now)")
            #expect(status == .ok)
            #expect(body == #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"HostUuid":"\#(f.host.uuid)","__name__":"ZStack:Host::CPUAllUsedUtilization"},"value":[\#(now),"12.5"]}]}}"#)
            // Fractional seconds and RFC3339 times.
            let (_, frac) = try await get(c, "/api/v1/query?query=\(enc("ZStack:Host::CPUAllUsedUtilization"))&time=\(now).25")
            #expect(frac.contains(#""value":[\#(now).250,"12.5"]"#))
            let rfc = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(now)))
            let (_, r) = try await get(c, "/api/v1/query?query=\(enc("ZStack:Host::CPUAllUsedUtilization"))&time=\(enc(rfc))")
            #expect(r.contains(#""value":[\#(now),"12.5"]"#))
        }
    }

    @Test func scalarAndOverTimeQueries() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let (_, scalar) = try await get(c, "/api/v1/query?query=\(enc("1+1"))&time=\(now)")
            #expect(scalar == #"{"status":"success","data":{"resultType":"scalar","result":[\#(now),"2"]}}"#)
            // (now-60, now] holds samples 55…59.
            let q = enc("avg_over_time(ZStack:VM::CPUAllUsedUtilization[1m])")
            let (_, avg) = try await get(c, "/api/v1/query?query=\(q)&time=\(now)")
            #expect(avg.contains(#""value":[\#(now),"57"]"#))
        }
    }

    @Test func rangeQueryGetAndFormPostAgree() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let params = "query=\(enc("ZStack:Host::CPUAllUsedUtilization"))&start=\(now - 60)&end=\(now)&step=30s"
            let (status, body) = try await get(c, "/api/v1/query_range?" + params)
            #expect(status == .ok)
            #expect(body == #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"HostUuid":"\#(f.host.uuid)","__name__":"ZStack:Host::CPUAllUsedUtilization"},"values":[[\#(now - 60),"12.5"],[\#(now - 30),"12.5"],[\#(now),"12.5"]]}]}}"#)
            var headers = basic()
            headers[.contentType] = "application/x-www-form-urlencoded"
            try await c.execute(uri: "/api/v1/query_range", method: .post, headers: headers, body: ByteBuffer(string: params)) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == body)
            }
        }
    }

    @Test func badParametersAre400BadData() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let q = enc("ZStack:Host::CPUAllUsedUtilization")
            for (path, words) in [
                ("/api/v1/query", "query"),
                ("/api/v1/query?query=\(enc("sum("))", "parse error"),
                ("/api/v1/query?query=\(q)&time=yesterday", "time"),
                ("/api/v1/query_range?query=\(q)&start=10&end=5&step=1", "end"),
                ("/api/v1/query_range?query=\(q)&start=0&end=5&step=0", "step"),
                ("/api/v1/query_range?query=\(q)&start=0&end=5&step=5parsecs", "step"),
                ("/api/v1/query_range?query=\(q)&start=0&end=100000&step=1", "11,000"),
                ("/api/v1/series", "match[]"),
                ("/api/v1/series?\(enc("match[]"))=\(enc("{"))", "match[]"),
                ("/api/v1/label/1bad/values", "label name"),
            ] {
                let (status, body) = try await get(c, path)
                #expect(status == .badRequest, "\(path)")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: String])
                #expect(json["status"] == "error")
                #expect(json["errorType"] == "bad_data")
                #expect(json["error"]?.contains(words) == true, "\(path): \(body)")
            }
        }
    }

    @Test func seriesLabelsAndLabelValues() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let vmSeries = enc("match[]") + "=" + enc(#"{__name__=~"ZStack:VM::.*"}"#)
            let (_, series) = try await get(c, "/api/v1/series?\(vmSeries)&start=\(now - 3600)&end=\(now)")
            let vm = f.vmUuids[0], host = f.host.uuid
            #expect(series == #"{"status":"success","data":[{"HostUuid":"\#(host)","VMUuid":"\#(vm)","__name__":"ZStack:VM::CPUAllUsedUtilization"},{"HostUuid":"\#(host)","VMUuid":"\#(vm)","__name__":"ZStack:VM::MemoryUsedInPercent"}]}"#)
            // Outside the time range: none.
            let (_, none) = try await get(c, "/api/v1/series?\(vmSeries)&start=\(now + 10)&end=\(now + 20)")
            #expect(none == #"{"status":"success","data":[]}"#)
            let (_, labels) = try await get(c, "/api/v1/labels")
            #expect(labels == #"{"status":"success","data":["HostUuid","VMUuid","__name__"]}"#)
            let hostOnly = enc("match[]") + "=" + enc("ZStack:Host::CPUAllUsedUtilization")
            let (_, hostLabels) = try await get(c, "/api/v1/labels?\(hostOnly)")
            #expect(hostLabels == #"{"status":"success","data":["HostUuid","__name__"]}"#)
            let (_, names) = try await get(c, "/api/v1/label/__name__/values")
            #expect(names == #"{"status":"success","data":["ZStack:Host::CPUAllUsedUtilization","ZStack:VM::CPUAllUsedUtilization","ZStack:VM::MemoryUsedInPercent"]}"#)
            let (_, vms) = try await get(c, "/api/v1/label/VMUuid/values")
            #expect(vms == #"{"status":"success","data":["\#(vm)"]}"#)
            let (_, noVMs) = try await get(c, "/api/v1/label/VMUuid/values?\(hostOnly)")
            #expect(noVMs == #"{"status":"success","data":[]}"#)
        }
    }

    @Test func buildInfoAndTSDBStatus() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let (_, build) = try await get(c, "/api/v1/status/buildinfo")
            let b = try #require(try JSONSerialization.jsonObject(with: Data(build.utf8)) as? [String: Any])
            #expect((b["data"] as? [String: Any])?["version"] as? String == PrometheusAPI.compatibleVersion)
            let (_, tsdb) = try await get(c, "/api/v1/status/tsdb")
            let t = try #require(try JSONSerialization.jsonObject(with: Data(tsdb.utf8)) as? [String: Any])
            let data = try #require(t["data"] as? [String: Any])
            #expect((data["headStats"] as? [String: Any])?["numSeries"] as? Int == 3)
            let byName = try #require(data["seriesCountByMetricName"] as? [[String: Any]])
            #expect(byName.count == 3)
            #expect(byName.allSatisfy { $0["value"] as? Int == 1 })
            let byLabel = try #require(data["labelValueCountByLabelName"] as? [[String: Any]])
            // __name__ has 3 values: first.
            #expect(byLabel.first?["name"] as? String == "__name__")
            #expect(byLabel.first?["value"] as? Int == 3)
        }
    }

    @Test func authIsSessionOrBasicElse401WithChallenge() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let path = "/api/v1/query?query=1&time=\(now)"
            for headers: HTTPFields in [[:], basic("admin", "wrong"), basic("nobody", "x"), [.authorization: "Basic !!"], oauth("no-such-session")] {
                try await c.execute(uri: path, method: .get, headers: headers) { r in
                    #expect(r.status == .unauthorized)
                    #expect(r.headers[.wwwAuthenticate] == #"Basic realm="stratus""#)
                    #expect(String(buffer: r.body).contains(#""status":"error""#))
                }
            }
            try await c.execute(uri: path, method: .get, headers: basic()) { r in #expect(r.status == .ok) }
            let s = try await c.login()
            try await c.execute(uri: path, method: .get, headers: oauth(s)) { r in #expect(r.status == .ok) }
            // Basic is for the Prometheus API only; ZStack paths still want a session.
            try await c.execute(uri: "/zstack/v1/hosts", method: .get, headers: basic()) { r in #expect(r.status == .unauthorized) }
        }
    }

    @Test func basicVerificationsAreCachedOnlyWhenTheySucceed() async throws {
        let calls = Mutex(0)
        let clock = ManualWallClock(start: 0)
        let auth = BasicAuthenticator(clock: clock, ttl: 1_000) { name, password in
            calls.withLock { $0 += 1 }
            return name == "u" && password == "p" ? "uuid-1" : nil
        }
        #expect(try await auth.authenticate(name: "u", password: "p") == "uuid-1")
        #expect(try await auth.authenticate(name: "u", password: "p") == "uuid-1")
        #expect(calls.withLock { $0 } == 1)
        #expect(try await auth.authenticate(name: "u", password: "bad") == nil)
        #expect(try await auth.authenticate(name: "u", password: "bad") == nil)
        #expect(calls.withLock { $0 } == 3)
        await clock.advance(to: 1_000)
        #expect(try await auth.authenticate(name: "u", password: "p") == "uuid-1")
        #expect(calls.withLock { $0 } == 4)
        #expect(BasicAuthenticator.credentials("Basic " + Data("a:b:c".utf8).base64EncodedString())! == ("a", "b:c"))
    }

    /// Mounted bare (as the benchmark does), with a sample limit so a query fails in execution.
    @Test func mountsWithoutAuthAndExecutionErrorsAre422() async throws {
        let store = MemoryMetricStore()
        let labels = Labels(["__name__": "m", "i": "1"])
        try await store.write((0..<100).map { Sample(labels: labels, timestamp: Int64($0) * 1000, value: Double($0)) })
        let router = Router()
        PrometheusAPI(store: store, engine: PromQLEngine(store: store, lookbackDelta: 5_000, maxSamples: 10)).addRoutes(to: router)
        try await Application(router: router).test(.router) { c in
            try await c.execute(uri: "/api/v1/query?query=m&time=99", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains(#""value":[99,"99"]"#))
            }
            try await c.execute(uri: "/api/v1/query?query=\(enc("sum_over_time(m[100s])"))&time=99", method: .get) { r in
                #expect(r.status == .unprocessableContent)
                #expect(String(buffer: r.body).contains(#""errorType":"execution""#))
            }
        }
    }
}
