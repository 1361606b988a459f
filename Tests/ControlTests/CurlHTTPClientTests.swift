import Control
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing

/// libcurl against a real HTTP receiver on 127.0.0.1 (a Hummingbird server on an ephemeral port).
@Suite struct CurlHTTPClientTests {
    /// What the receiver saw.
    final class Received: Sendable {
        let requests = Mutex<[(method: String, path: String, headers: [String: String], body: String)]>([])
    }

    /// Runs `body` with a receiver listening; returns its base URL to `body`.
    func withReceiver(_ body: @escaping @Sendable (String, Received) async throws -> Void) async throws {
        let received = Received()
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            var headers: [String: String] = [:]
            for f in request.headers { headers[f.name.canonicalName] = f.value }
            received.requests.withLock { $0.append(("POST", request.uri.path, headers, text)) }
            return Response(status: .accepted, headers: [.contentType: "application/json", .init("X-Receiver")!: "yes"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"errcode":0}"#)))
        }
        router.get("/fail") { _, _ -> Response in Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "boom"))) }
        router.get("/slow") { _, _ -> String in
            try await Task.sleep(for: .seconds(3))
            return "late"
        }
        let port = Mutex<Int?>(nil)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
                              logger: Logger(label: "receiver"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var p: Int?
            for _ in 0..<200 where p == nil {
                try await Task.sleep(for: .milliseconds(10))
                p = port.withLock { $0 }
            }
            let base = "http://127.0.0.1:\(try #require(p))"
            try await body(base, received)
            group.cancelAll()
        }
    }

    @Test func postsBodyAndHeadersAndReadsTheReply() async throws {
        try await withReceiver { base, received in
            let r = try await CurlHTTPClient().send(OutboundRequest(
                method: "POST", url: "\(base)/hook",
                headers: [("Content-Type", "application/json"), ("X-Idempotency-Key", "abc-123")],
                body: Array(#"{"ALARM_NAME":"cpu high"}"#.utf8)))
            #expect(r.status == 202)
            #expect(r.text == #"{"errcode":0}"#)
            #expect(r.header("x-receiver") == "yes")
            let got = received.requests.withLock { $0 }
            #expect(got.count == 1)
            #expect(got.first?.body == #"{"ALARM_NAME":"cpu high"}"#)
            #expect(got.first?.headers["x-idempotency-key"] == "abc-123")
            #expect(got.first?.headers["content-type"] == "application/json")
        }
    }

    @Test func anErrorStatusIsAResponseNotAThrow() async throws {
        try await withReceiver { base, _ in
            let r = try await CurlHTTPClient().send(OutboundRequest(url: "\(base)/fail"))
            #expect(r.status == 500)
            #expect(r.text == "boom")
        }
    }

    @Test func aSlowServerTimesOut() async throws {
        try await withReceiver { base, _ in
            await #expect(throws: OutboundHTTPError.timedOut(url: "\(base)/slow", afterMs: 300)) {
                try await CurlHTTPClient().send(OutboundRequest(url: "\(base)/slow", timeout: 300))
            }
        }
    }

    @Test func aClosedPortIsATransportErrorWithCurlsMessage() async throws {
        await #expect { try await CurlHTTPClient().send(OutboundRequest(url: "http://127.0.0.1:1/x")) } throws: { e in
            guard case let OutboundHTTPError.transport(_, code, message) = e else { return false }
            return code == 7 && message.lowercased().contains("connect")
        }
    }

    @Test func badRequestsAreRefusedBeforeSending() async throws {
        await #expect(throws: OutboundHTTPError.self) { try await CurlHTTPClient().send(OutboundRequest(url: "ftp://x/y")) }
        await #expect(throws: OutboundHTTPError.self) { try await CurlHTTPClient().send(OutboundRequest(method: "get me", url: "http://x/")) }
        await #expect(throws: OutboundHTTPError.self) {
            try await CurlHTTPClient().send(OutboundRequest(url: "http://127.0.0.1:1/", headers: [("X-Bad", "a\r\nInjected: 1")]))
        }
    }
}
