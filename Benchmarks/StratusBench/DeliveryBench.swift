import Alarms
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import StratusMetrics
import Synchronization

/// `StratusBench alarm-delivery`: notifications through the durable outbox (SQLite file in a temp
/// dir, `synchronous = FULL`) → `OutboxDispatcher` → `HTTPNotificationSender` (libcurl) → a local
/// receiver. The receiver is a tiny in-process Hummingbird server: the Python receiver fsyncs one
/// JSON line per request and would measure itself, not the dispatcher.
///
/// Phase 1 (throughput): `--notifications` entries are committed as evaluation rounds of
/// `--round-size` notices fanned out to `--endpoints` HTTP endpoints (outbox commit rate), then
/// delivered from a full outbox (notifications/s). Phase 2 (latency): a producer commits rounds at
/// half the phase-1 rate while the dispatcher runs, and each notification's commit → received
/// latency is measured (p50 / p99).
struct DeliveryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "alarm-delivery",
                                                    abstract: "Notifications/s and latency through the outbox to a local HTTP receiver.")

    @Option(help: "Notifications (outbox entries) in the throughput phase.") var notifications = 20_000
    @Option(help: "HTTP endpoints the notices fan out to (each endpoint's entries go in order, endpoints in parallel).") var endpoints = 4
    @Option(help: "Notices per committed round.") var roundSize = 500
    @Option(help: "Notifications in the latency phase.") var latencyNotifications = 5_000

    /// Records when each idempotency key arrived (ms) and how many requests came.
    final class Receiver: Sendable {
        let arrivals = Mutex<(requests: Int, first: [String: Int64])>((0, [:]))
        let clock = SystemWallClock()

        func record(_ key: String) {
            let now = clock.now()
            arrivals.withLock { a in
                a.requests += 1
                if a.first[key] == nil { a.first[key] = now }
            }
        }

        var distinct: Int { arrivals.withLock { $0.first.count } }
    }

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-delivery-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var quiet = Logger(label: "bench")
        quiet.logLevel = .critical

        // The receiver.
        let receiver = Receiver()
        let router = Router()
        router.post("/hook/{n}") { request, _ -> HTTPResponse.Status in
            receiver.record(request.headers[.init("X-Idempotency-Key")!] ?? "")
            return .ok
        }
        let port = Self.freePort()
        let ready = Wakeup()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { _ in ready.poke() }, logger: quiet)
        let server = Task { try await app.run() }
        defer { server.cancel() }
        await ready.wait()

        // The store, topic and endpoints.
        let clock = SystemWallClock()
        let store = try SQLiteAlarmStore(path: dir.appendingPathComponent("alarms.sqlite").path)
        let topic = try await store.createTopic(SNSTopic(uuid: "", name: "bench"), at: clock.now())
        for i in 0..<endpoints {
            let e = try await store.createEndpoint(
                SNSEndpoint(uuid: "", name: "hook-\(i)", config: .http(HTTPEndpointConfig(url: "http://127.0.0.1:\(port)/hook/\(i)", secret: "s3cret"))),
                at: clock.now())
            try await store.subscribe(endpointUuid: e.uuid, topicUuid: topic.uuid)
        }
        let dispatcher = OutboxDispatcher(store: store, sender: EndpointSender(), clock: clock, logger: quiet)
        print("# alarm-delivery: \(notifications) notifications to \(endpoints) HTTP endpoints (HMAC-signed JSON), in-process Hummingbird receiver")
        print("")
        print("| measure | value |")
        print("|---|---|")

        // Phase 1a: commit rounds.
        let perEndpoint = max(1, notifications / endpoints)
        var seq = 0
        let commitStart = clock.now()
        var commits = 0
        while seq < perEndpoint {
            let n = min(roundSize, perEndpoint - seq)
            try await store.commit(Self.round(from: seq, count: n, topic: topic.uuid, at: clock.now()))
            seq += n
            commits += 1
        }
        let commitMs = max(1, clock.now() - commitStart)
        let entries = perEndpoint * endpoints
        print("| outbox commit: entries/s | \(Int(Double(entries) / Double(commitMs) * 1000)) (\(commits) rounds of \(roundSize) notices × \(endpoints) endpoints in \(commitMs) ms) |")

        // Phase 1b: deliver the full outbox.
        let deliverStart = clock.now()
        var passes = 0
        while true {
            let pass = try await dispatcher.deliverDue()
            passes += 1
            if pass.fetched == 0 { break }
        }
        let deliverMs = max(1, clock.now() - deliverStart)
        let counts = try await store.outboxCounts()
        let throughput = Double(entries) / Double(deliverMs) * 1000
        print("| delivered from a full outbox: notifications/s | \(Int(throughput)) (\(entries) in \(deliverMs) ms, \(passes) passes) |")
        print("| outbox after phase 1 | delivered \(counts[.delivered] ?? 0), pending \(counts[.pending] ?? 0), failed \(counts[.failed] ?? 0) |")
        print("| receiver: requests / distinct keys | \(receiver.arrivals.withLock { $0.requests }) / \(receiver.distinct) |")

        // Phase 2: paced producer, dispatcher running.
        let runner = Task { await dispatcher.run() }
        let rate = max(1, throughput / 2)
        let latencyPerEndpoint = max(1, latencyNotifications / endpoints)
        let round = max(1, min(roundSize, Int(rate / Double(endpoints) / 10)))  // ~10 rounds/s
        let producerStart = clock.now()
        var created: [String: Int64] = [:]
        var produced = 0
        let base = seq
        while produced < latencyPerEndpoint {
            let n = min(round, latencyPerEndpoint - produced)
            let at = clock.now()
            let r = Self.round(from: base + produced, count: n, topic: topic.uuid, at: at)
            try await store.commit(r)
            dispatcher.poke()
            for routed in r.notices { created[routed.notice.dedupKey] = at }
            produced += n
            // Pace: the next round when the rate says so.
            let due = producerStart + Int64(Double(produced * endpoints) / rate * 1000)
            try await clock.sleep(until: due)
        }
        let wanted = entries + latencyPerEndpoint * endpoints
        let deadline = clock.now() + 120_000
        while receiver.distinct < wanted, clock.now() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        // The last deliveries are marked in the store just after they arrive: let that finish.
        while (try await store.outboxCounts()[.pending] ?? 0) > 0, clock.now() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        runner.cancel()
        await runner.value
        let arrivals = receiver.arrivals.withLock { $0.first }
        var latencies: [Int64] = []
        for (key, at) in arrivals {
            guard let notice = key.split(separator: "@").first.map(String.init), let c = created[notice] else { continue }
            latencies.append(at - c)
        }
        latencies.sort()
        func pct(_ p: Double) -> Int64 { latencies.isEmpty ? -1 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print("| latency phase: offered rate | \(Int(rate)) notifications/s (\(latencyPerEndpoint * endpoints) notifications) |")
        print("| commit → received latency p50 / p99 / max | \(pct(0.5)) / \(pct(0.99)) / \(latencies.last ?? -1) ms (\(latencies.count) measured) |")
        let final = try await store.outboxCounts()
        print("| outbox at the end | delivered \(final[.delivered] ?? 0), pending \(final[.pending] ?? 0), failed \(final[.failed] ?? 0) |")
        print("| receiver: requests / distinct keys | \(receiver.arrivals.withLock { $0.requests }) / \(receiver.distinct) |")
        print("")
        print("Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; load at the end: \((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?")")
    }

    /// A round of `count` firing notices (alarm `bench`, instances `seq…`) routed to `topic`.
    static func round(from seq: Int, count: Int, topic: String, at: Int64) -> AlarmRoundCommit {
        let notices = (seq..<(seq + count)).map { i in
            let labels = ["VMUuid": String(format: "%032x", i)]
            return RoutedNotice(notice: .alarm(AlarmNotice(
                kind: .firing, alarmUuid: "bench-alarm", alarmName: "VM CPU high", namespace: "ZStack/VM",
                metricName: "CPUAverageUsedUtilization", threshold: 80, comparisonOperator: .greaterThanOrEqualTo, currentValue: 91.5,
                instanceKey: "VMUuid=\(labels["VMUuid"]!)", labels: labels, resourceId: labels["VMUuid"]!, previousStatus: .ok,
                currentStatus: .alarm, emergencyLevel: .important, time: at, sequence: 1)), topicUuids: [topic])
        }
        return AlarmRoundCommit(notices: notices, time: at)
    }

    /// A port nothing listens on right now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(fd, $0, len) } }
        withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
