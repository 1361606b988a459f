import Alarms
import Control
import Foundation
import Hummingbird
import HummingbirdTesting
import StratusMetrics
import Testing
import Web

/// The web app over a real SQLite inventory (one host, two VMs), a metric store with 10 minutes
/// of CPU samples, a real `SQLiteAlarmStore` in a temp dir and a manual clock.
struct AlarmWebFixture {
    static let now: Int64 = 1_795_000_020_000
    static let password = "pw-for-alarm-tests"
    let inventory: SQLiteInventoryStore
    let alarms: SQLiteAlarmStore
    let hostUuid: String
    let vmUuids: [String]
    let dir: URL
    let app: Application<RouterResponder<StratusRequestContext>>

    static func make(testNotification: TestNotificationHook? = nil) async throws -> AlarmWebFixture {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-alarm-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let alarms = try SQLiteAlarmStore(path: dir.appendingPathComponent("alarms.sqlite").path)
        let inventory = try SQLiteInventoryStore(path: nil)
        _ = try await inventory.createAccount(name: "admin", passwordHash: PasswordHasher.hash(password, iterations: 1_000),
                                              type: "SystemAdmin", at: 0)
        let zone = try await inventory.createZone(name: "z", description: "", at: 0)
        let cluster = try await inventory.createCluster(name: "c", zoneUuid: zone.uuid, hypervisorType: "KVM", at: 0)
        let host = try await inventory.addHost(Control.Host(name: "host-1", zoneUuid: zone.uuid, clusterUuid: cluster.uuid,
                                                            managementIp: "10.0.0.1", hypervisorType: "KVM",
                                                            hypervisorURI: "test:///default", cpuNum: 8, totalMemoryCapacity: 1 << 34), at: 0)
        let vms = [String(repeating: "a", count: 32), String(repeating: "b", count: 32)]
        try await inventory.syncVMs(hostUuid: host.uuid, reported: [
            ReportedVM(uuid: vms[0], name: "web-1", state: .running, cpuNum: 2, memorySize: 1 << 30),
            ReportedVM(uuid: vms[1], name: "db-1", state: .running, cpuNum: 4, memorySize: 1 << 31),
        ], at: 0)
        let store = MemoryMetricStore()
        var samples: [Sample] = []
        for i in 0..<60 {
            let t = now - 600_000 + Int64(i) * 10_000
            for (j, vm) in vms.enumerated() {
                samples.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization",
                                                                 ["VMUuid": vm, "HostUuid": host.uuid]),
                                      timestamp: t, value: Double(10 + 30 * j)))
            }
        }
        try await store.write(samples)
        let deps = WebDependencies(inventory: inventory, metricStore: store, clock: ManualWallClock(start: now), collectionInterval: 10_000,
                                   alarms: alarms, testNotification: testNotification)
        let app = Application(router: try await StratusWeb.router(deps), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return AlarmWebFixture(inventory: inventory, alarms: alarms, hostUuid: host.uuid, vmUuids: vms, dir: dir, app: app)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: dir) }
}

/// A JSON reply: status and decoded object (empty when the body is not an object).
struct JSONReply {
    var status: HTTPResponse.Status
    var json: [String: Any]

    var inventory: [String: Any] { json["inventory"] as? [String: Any] ?? [:] }
    var inventories: [[String: Any]] { json["inventories"] as? [[String: Any]] ?? [] }
    var total: Int? { json["total"] as? Int }
    /// The ZStack error body's `details`.
    var details: String { (json["error"] as? [String: Any])?["details"] as? String ?? "" }
}

/// A logged-in API client.
struct AlarmAPIClient {
    let client: any TestClientProtocol
    let session: String

    static func login(_ c: any TestClientProtocol) async throws -> AlarmAPIClient {
        let session = try await c.execute(uri: "/zstack/v1/accounts/login", method: .put,
                                          body: ByteBuffer(string: #"{"logInByAccount":{"accountName":"admin","password":"\#(AlarmWebFixture.password)"}}"#)) { r in
            let json = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
            return try #require((json?["inventory"] as? [String: Any])?["uuid"] as? String)
        }
        return AlarmAPIClient(client: c, session: session)
    }

    func call(_ method: HTTPRequest.Method, _ uri: String, _ body: Any? = nil) async throws -> JSONReply {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        return try await client.execute(uri: uri, method: method, headers: [.authorization: "OAuth \(session)", .contentType: "application/json"],
                                        body: ByteBuffer(bytes: data)) { r in
            JSONReply(status: r.status, json: (try? JSONSerialization.jsonObject(with: Data(buffer: r.body))) as? [String: Any] ?? [:])
        }
    }

    /// POST `{"params": params}`.
    func create(_ uri: String, _ params: [String: Any]) async throws -> JSONReply {
        try await call(.post, uri, ["params": params])
    }
}

/// Logs in through the form; the session cookie header value.
func alarmFormLogin(_ c: some TestClientProtocol) async throws -> String {
    try await c.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                        body: ByteBuffer(string: "accountName=admin&password=\(AlarmWebFixture.password)")) { r in
        let cookie = try #require(r.headers[.setCookie])
        return String(cookie.split(separator: ";")[0])
    }
}

/// `a=b&c=d` with percent-encoding.
func formBody(_ pairs: [(String, String)]) -> ByteBuffer {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return ByteBuffer(string: pairs.map {
        "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed)!)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)"
    }.joined(separator: "&"))
}
