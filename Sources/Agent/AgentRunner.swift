import Control
import Foundation
import Libvirt
import Logging
import NIOPosix
import ServiceLifecycle
import StratusMetrics

/// Settings of `stratus agent`.
public struct AgentConfiguration: Sendable {
    /// The manager's base URL, e.g. `http://10.0.0.1:8080`.
    public var manager: String
    /// The host's agent token (from `POST /zstack/v1/hosts/agents`).
    public var token: String
    /// The local libvirt URI whose VMs are measured.
    public var libvirtURI: String = "qemu:///system"
    /// Collection interval in ms; nil: the one the manager's hello asks for.
    public var interval: Int64?
    public var spoolDirectory: String = "agent-spool"
    public var spoolMaxBytes: Int64 = AgentDefaults.spoolMaxBytes
    public var procRoot: String = "/proc"
    public var sysRoot: String = "/sys"
    /// How often the VM list is sent even when it did not change.
    public var vmReportPeriod: Int64 = 5 * 60_000

    public init(manager: String, token: String) {
        self.manager = manager
        self.token = token
    }
}

/// `stratus agent` as a service: learns its host from the manager (hello, retried until it
/// answers; remembered in the spool folder so a restart while the manager is down still
/// collects), then three loops until shutdown: collect host + VM metrics on the grid into the
/// disk spool; push the spool in order (after a random jitter, with backoff while the manager
/// is unreachable); send the VM list when it changes and every `vmReportPeriod`.
public final class AgentRunner: Service {
    private let config: AgentConfiguration
    private let logger: Logger
    private let client: AgentClient
    private let clock: any WallClock

    public init(config: AgentConfiguration, logger: Logger, transport: any AgentTransport = CurlAgentTransport(),
                clock: any WallClock = SystemWallClock()) {
        self.config = config
        self.logger = logger
        self.client = AgentClient(manager: config.manager, token: config.token, transport: transport)
        self.clock = clock
    }

    /// What the agent remembers of the manager's hello (`identity.json` in the spool folder).
    struct Identity: Codable, Equatable {
        var manager: String
        var tokenHash: String
        var hostUuid: String
        var hostName: String
        var interval: Int64
    }

    public func run() async throws {
        let spool = try AgentSpool(directory: config.spoolDirectory, maxBytes: config.spoolMaxBytes)
        let hypervisor = try await LibvirtHypervisor.connect(uri: config.libvirtURI)
        do {
            try await cancelWhenGracefulShutdown {
                let identity = try await self.identity(spool: spool)
                let interval = self.config.interval ?? identity.interval
                self.logger.info("agent for host \(identity.hostName) (\(identity.hostUuid)) collecting every \(interval) ms from \(self.config.libvirtURI), pushing to \(self.config.manager)")
                let collectors: [any Collector] = [
                    HostProcCollector(hostUuid: identity.hostUuid, procRoot: self.config.procRoot, sysRoot: self.config.sysRoot),
                    LibvirtVMCollector(connection: hypervisor.connection, hostUuid: identity.hostUuid),
                ]
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.collectLoop(collectors, spool: spool, interval: interval) }
                    group.addTask { try await self.pushLoop(spool: spool, interval: interval) }
                    group.addTask { try await self.vmLoop(hypervisor, interval: interval) }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            logger.info("agent stopped; \(spool.pending.batches) batch(es) stay spooled for the next start")
        }
    }

    // MARK: Identity

    private func identity(spool: AgentSpool) async throws -> Identity {
        let path = config.spoolDirectory + "/identity.json"
        let tokenHash = AgentToken.hash(config.token)
        if let data = FileManager.default.contents(atPath: path),
           let cached = try? JSONDecoder().decode(Identity.self, from: data),
           cached.manager == client.manager, cached.tokenHash == tokenHash {
            // Collect at once; confirm with the manager in the background.
            Task { [logger, client] in
                if let hello = try? await client.hello(), hello.hostUuid != cached.hostUuid {
                    logger.error("the manager now says this token is host \(hello.hostUuid), not \(cached.hostUuid); restart the agent to use it")
                }
            }
            return cached
        }
        var backoff: Int64 = 1000
        var attempts = 0
        while true {
            do {
                let hello = try await client.hello()
                let skew = hello.serverTime - clock.now()
                if abs(skew) > 2000 {
                    logger.warning("this host's clock is \(skew) ms off the manager's; samples are stamped with this host's clock (run NTP)")
                }
                let identity = Identity(manager: client.manager, tokenHash: tokenHash, hostUuid: hello.hostUuid,
                                        hostName: hello.hostName, interval: hello.interval)
                try? JSONEncoder().encode(identity).write(to: URL(fileURLWithPath: path), options: .atomic)
                return identity
            } catch let e as AgentError {
                attempts += 1
                if attempts == 1 || attempts % 10 == 0 { logger.error("hello failed (attempt \(attempts)): \(e)") }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                attempts += 1
                if attempts == 1 || attempts % 10 == 0 { logger.warning("manager \(client.manager) unreachable (attempt \(attempts)): \(error); retrying") }
            }
            try await Task.sleep(for: .milliseconds(backoff))
            backoff = min(backoff * 2, 30_000)
        }
    }

    // MARK: Loops

    private func collectLoop(_ collectors: [any Collector], spool: AgentSpool, interval: Int64) async throws {
        var failures: [String: Int] = [:]
        try await runOnGrid(clock: clock, interval: interval, startNow: true,
                            onSkip: { self.logger.warning("collection round overran; skipping \($0) grid slot(s)") }) { stamp in
            let now = clock.now()
            var samples: [Sample] = []
            for c in collectors {
                do {
                    samples += try await c.collect(stamp: stamp, now: now)
                    failures[c.name] = nil
                } catch {
                    failures[c.name, default: 0] += 1
                    let n = failures[c.name]!
                    if n == 1 || n % 30 == 0 { logger.error("collector \(c.name) failed (\(n) round(s) in a row): \(error)") }
                }
            }
            guard !samples.isEmpty else { return }
            let dropped = spool.counters.droppedSamples
            let round = samples
            try await NIOThreadPool.singleton.runIfActive {
                var encoder = AgentBatchEncoder(capacity: round.count * 96)
                for s in round { encoder.append(s) }
                try spool.append(payload: try encoder.gzipped(), samples: encoder.count)
            }
            let nowDropped = spool.counters.droppedSamples
            if nowDropped > dropped {
                logger.warning("spool full (\(config.spoolMaxBytes) bytes): dropped the oldest batches, \(nowDropped - dropped) sample(s); \(nowDropped) dropped in all")
            }
        }
    }

    private func pushLoop(spool: AgentSpool, interval: Int64) async throws {
        let pusher = AgentPusher(spool: spool, client: client, logger: logger)
        var backoff: Int64 = 1000
        var failures = 0
        let maxJitter = Int64(Double(interval) * AgentDefaults.sendJitterFraction)
        while true {
            guard spool.pending.batches > 0 else {
                try await Task.sleep(for: .milliseconds(min(200, max(20, interval / 10))))
                continue
            }
            if failures == 0, maxJitter > 0 {
                try await Task.sleep(for: .milliseconds(Int64.random(in: 0...maxJitter)))
            }
            switch try await pusher.drain() {
            case .empty:
                if failures > 0 { logger.info("manager \(client.manager) reachable again; spool drained") }
                failures = 0
                backoff = 1000
            case let .retryLater(why):
                failures += 1
                if failures == 1 || failures % 20 == 0 {
                    let p = spool.pending
                    logger.warning("cannot push (\(failures) attempt(s)): \(why); \(p.batches) batch(es), \(p.bytes) bytes spooled; retrying in \(backoff) ms")
                }
                try await Task.sleep(for: .milliseconds(backoff + Int64.random(in: 0...max(1, backoff / 4))))
                backoff = min(backoff * 2, max(30_000, interval))
            }
        }
    }

    private func vmLoop(_ hypervisor: LibvirtHypervisor, interval: Int64) async throws {
        var lastSent: [AgentVM]?
        var lastSentAt: Int64 = .min
        try await runOnGrid(clock: clock, interval: interval, startNow: true) { _ in
            let now = clock.now()
            let vms: [AgentVM]
            do {
                vms = try await hypervisor.listVMs()
                    .map { AgentVM(uuid: $0.uuid, name: $0.name, state: $0.state.rawValue, cpuNum: $0.cpuNum, memorySize: $0.memorySize) }
                    .sorted { $0.uuid < $1.uuid }
            } catch {
                logger.error("cannot list VMs of \(config.libvirtURI): \(error)")
                return
            }
            guard vms != lastSent || now - lastSentAt >= config.vmReportPeriod else { return }
            do {
                try await client.reportVMs(AgentVMReport(time: now, vms: vms))
                lastSent = vms
                lastSentAt = now
            } catch {
                logger.debug("VM report not sent (retried next round): \(error)")
            }
        }
    }
}
