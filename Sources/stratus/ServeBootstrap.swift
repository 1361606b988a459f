import Control
import Foundation
import Libvirt
import Logging
import StratusMetrics

/// First-run set-up and host attachment for `stratus serve`: the admin account, a default zone and
/// cluster, demo hosts on libvirt's test driver, the machine itself, and any `--hypervisor` URIs.
struct ServeBootstrap {
    let config: ServeConfiguration
    let dataDir: URL
    let inventory: any InventoryStore
    let clock: any WallClock
    let logger: Logger

    /// A host ready to be synced and collected from.
    struct AttachedHost {
        var host: Control.Host
        var hypervisor: LibvirtHypervisor
    }

    /// The URIs to attach: the configured ones, or the demo nodes (written under `<data>/demo/`).
    static func hypervisorURIs(config: ServeConfiguration, dataDir: URL) throws -> [String] {
        if !config.hypervisors.isEmpty { return config.hypervisors }
        guard config.demo else { return [] }
        let demoDir = dataDir.appendingPathComponent("demo")
        try FileManager.default.createDirectory(at: demoDir, withIntermediateDirectories: true)
        return try (1...2).map { i in
            let name = "demo-host-\(i)"
            let path = demoDir.appendingPathComponent("\(name).xml").path
            let xml = TestDriverNode.xml(hostName: name, cpus: 16 * i, memoryMiB: 32768 * i,
                                         domains: TestDriverNode.DomainSpec.demo(hostName: name, count: 4))
            try xml.write(toFile: path, atomically: true, encoding: .utf8)
            return "test://" + path
        }
    }

    /// Connects every URI first (so a URI libvirt rejects stops start-up before anything is stored).
    static func connect(_ uris: [String]) async throws -> [LibvirtHypervisor] {
        var out: [LibvirtHypervisor] = []
        for uri in uris {
            do {
                out.append(try await LibvirtHypervisor.connect(uri: uri))
            } catch let e as ControlError {
                throw StartupError("\(e); check --hypervisor (e.g. qemu:///system or qemu+tcp://host/system) and that libvirtd runs there")
            }
        }
        return out
    }

    /// Creates what a first run needs; returns a generated admin password to print once, if any.
    func ensureAccountsAndTopology() async throws -> (password: String?, cluster: Cluster) {
        let now = clock.now()
        let password = try await AccountService(inventory: inventory).ensureAdmin(password: config.adminPassword, at: now)
        var zone = try await inventory.zones().first
        if zone == nil { zone = try await inventory.createZone(name: "Default Zone", description: "created on first start", at: now) }
        var cluster = try await inventory.clusters().first
        if cluster == nil {
            cluster = try await inventory.createCluster(name: "Default Cluster", zoneUuid: zone!.uuid, hypervisorType: "KVM", at: now)
        }
        return (password, cluster!)
    }

    /// Records each hypervisor as a host, or finds the one an earlier run recorded.
    func attach(_ hypervisors: [LibvirtHypervisor], cluster: Cluster) async throws -> [AttachedHost] {
        var out: [AttachedHost] = []
        for (i, hv) in hypervisors.enumerated() {
            let facts = try await hv.hostFacts()
            let isTest = hv.uri.hasPrefix("test:")
            let remoteHost = URL(string: hv.uri)?.host.flatMap { $0.isEmpty ? nil : $0 }
            let name = isTest ? URL(fileURLWithPath: String(hv.uri.dropFirst("test://".count))).deletingPathExtension().lastPathComponent
                : remoteHost ?? (hypervisors.count > 1 ? "\(facts.hostname)-\(i + 1)" : facts.hostname)
            let host = try await inventory.addHost(Control.Host(
                name: name, zoneUuid: cluster.zoneUuid, clusterUuid: cluster.uuid,
                managementIp: isTest ? "test-driver" : remoteHost ?? "127.0.0.1",
                hypervisorType: "KVM", hypervisorURI: hv.uri,
                cpuNum: facts.cpuNum, totalMemoryCapacity: facts.memorySize), at: clock.now())
            out.append(AttachedHost(host: host, hypervisor: hv))
        }
        return out
    }

    /// The management node itself as a host measured from /proc.
    func attachLocalHost(cluster: Cluster) async throws -> Control.Host {
        let facts = LocalHostFacts.read()
        return try await inventory.addHost(Control.Host(
            name: facts.hostname, zoneUuid: cluster.zoneUuid, clusterUuid: cluster.uuid,
            managementIp: "127.0.0.1", hypervisorType: "Local", hypervisorURI: nil,
            cpuNum: facts.cpuNum, totalMemoryCapacity: facts.memorySize), at: clock.now())
    }
}

/// The machine's own name, CPU count and memory.
enum LocalHostFacts {
    static func read() -> HostFacts {
        let name = ProcessInfo.processInfo.hostName
        return HostFacts(hostname: name.isEmpty ? "localhost" : name, cpuNum: ProcessInfo.processInfo.processorCount,
                         memorySize: Int64(ProcessInfo.processInfo.physicalMemory))
    }
}
