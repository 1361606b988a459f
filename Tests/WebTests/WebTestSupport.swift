import Control
import Foundation
import Hummingbird
import Hummingbird
import HummingbirdTesting
import StratusMetrics
import Testing
import Web

/// A web app over a real in-memory SQLite inventory with one host and two VMs, a metric store
/// holding 10 minutes of samples for them, and a manual clock.
struct WebFixture {
    static let now: Int64 = 1_795_000_020_000  // a multiple of 60 s, so 60 s buckets hold 6 samples each
    static let password = "pw-for-tests"
    let inventory: SQLiteInventoryStore
    let store: any MetricStore
    let host: Control.Host
    let vmUuids: [String]
    let app: Application<RouterResponder<StratusRequestContext>>

    static func make(store: any MetricStore = MemoryMetricStore()) async throws -> WebFixture {
        let inventory = try SQLiteInventoryStore(path: nil)
        _ = try await inventory.createAccount(name: "admin", passwordHash: PasswordHasher.hash(password, iterations: 1_000),
                                              type: "SystemAdmin", at: 0)
        let zone = try await inventory.createZone(name: "z", description: "", at: 0)
        let cluster = try await inventory.createCluster(name: "c", zoneUuid: zone.uuid, hypervisorType: "KVM", at: 0)
        let host = try await inventory.addHost(Control.Host(name: "host-<1>", zoneUuid: zone.uuid, clusterUuid: cluster.uuid,
                                                            managementIp: "10.0.0.1", hypervisorType: "KVM",
                                                            hypervisorURI: "test:///default", cpuNum: 8, totalMemoryCapacity: 1 << 34), at: 0)
        let vms = [String(repeating: "a", count: 32), String(repeating: "b", count: 32)]
        try await inventory.syncVMs(hostUuid: host.uuid, reported: [
            ReportedVM(uuid: vms[0], name: "web-1", state: .running, cpuNum: 2, memorySize: 1 << 30),
            ReportedVM(uuid: vms[1], name: "db-1", state: .stopped, cpuNum: 4, memorySize: 1 << 31),
        ], at: 0)
        var samples: [Sample] = []
        for i in 0..<60 {
            let t = now - 600_000 + Int64(i) * 10_000
            samples.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/VM", metricName: "CPUAllUsedUtilization",
                                                             ["VMUuid": vms[0], "HostUuid": host.uuid]), timestamp: t, value: Double(i)))
            samples.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/VM", metricName: "MemoryUsedInPercent",
                                                             ["VMUuid": vms[0], "HostUuid": host.uuid]), timestamp: t, value: 40))
            samples.append(Sample(labels: ZWatchName.labels(namespace: "ZStack/Host", metricName: "CPUAllUsedUtilization",
                                                             ["HostUuid": host.uuid]), timestamp: t, value: 12.5))
        }
        try await store.write(samples)
        let deps = WebDependencies(inventory: inventory, metricStore: store, clock: ManualWallClock(start: now), collectionInterval: 10_000)
        let app = Application(router: try await StratusWeb.router(deps), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return WebFixture(inventory: inventory, store: store, host: host, vmUuids: vms, app: app)
    }
}

extension TestClientProtocol {
    /// Logs in through the ZStack API and returns the session uuid.
    func login(password: String = WebFixture.password) async throws -> String {
        try await execute(uri: "/zstack/v1/accounts/login", method: .put,
                          body: ByteBuffer(string: #"{"logInByAccount":{"accountName":"admin","password":"\#(password)"}}"#)) { r in
            #expect(r.status == .ok)
            let json = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
            return try #require((json?["inventory"] as? [String: Any])?["uuid"] as? String)
        }
    }
}

func json(_ buffer: ByteBuffer) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
}

func oauth(_ session: String) -> HTTPFields { [.authorization: "OAuth \(session)"] }

/// The `details` of a ZStack error body, or "" when there is none.
func errorDetails(_ buffer: ByteBuffer) throws -> String {
    (try json(buffer)["error"] as? [String: String])?["details"] ?? ""
}
