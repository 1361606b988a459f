import Alarms
import ArgumentParser
import Control
import Foundation
import Hummingbird
import Libvirt
import Logging
import NIOCore
import ServiceLifecycle
import StratusMetrics
import Web

/// `stratus serve`: runs the management node: API, dashboard, collectors and inventory sync.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run Stratus: web dashboard and API, metric collection, inventory sync, alarms.",
        discussion: """
            With no options, keeps all state under ./data, listens on 127.0.0.1:8080, and attaches two \
            demo hosts (libvirt's test driver, 4 VMs each) plus this machine. Settings come from flags, \
            then STRATUS_* environment variables, then a YAML file (--config, else ./stratus.yaml).
            """)

    @Option(name: .long, help: "Folder for the inventory (SQLite) and metric store (RocksDB). [default: ./data]")
    var dataDir: String?

    @Option(name: .long, help: "Address to listen on. [default: 127.0.0.1]")
    var host: String?

    @Option(name: .long, help: "Port to listen on. [default: 8080]")
    var port: Int?

    @Option(name: .customLong("hypervisor"), help: "A libvirt URI to attach as a host (repeatable), e.g. qemu:///system or qemu+tcp://host/system. Replaces the demo hosts.")
    var hypervisors: [String] = []

    @Flag(name: .customLong("no-demo"), help: "Do not attach demo hosts when no --hypervisor is given.")
    var noDemo = false

    @Flag(name: .customLong("no-local-host"), help: "Do not attach this machine as a host measured from /proc.")
    var noLocalHost = false

    @Option(name: .long, help: "Collection interval in seconds. [default: 10]")
    var interval: Int?

    @Option(name: .long, help: "Seconds between pings of each libvirt host; 3 missed pings mark it Disconnected. [default: 60]")
    var pingInterval: Int?

    @Option(name: .long, help: "A YAML config file. [default: ./stratus.yaml when present]")
    var config: String?

    @Option(name: .long, help: "Minutes between the metric store's cuts of each series' in-memory chunk inside its hour, each series at its own time; 0 = only at hour ends (fewer chunks, but every series holds up to its whole hour in memory) (env STRATUS_HEAD_CUT_MINUTES). [default: 20]")
    var headCutMinutes: Int?

    @Option(name: .long, help: "Seconds between alarm evaluation rounds (env STRATUS_ALARM_INTERVAL). [default: 10]")
    var alarmInterval: Int?

    @Option(name: .long, help: "How long a notification is retried before it is marked Failed, e.g. 3600, 90m, 24h, 7d (env STRATUS_DELIVERY_MAX_AGE). [default: 24h]")
    var deliveryMaxAge: String?

    @Option(name: .long, help: "How long alarm history and delivered or failed notifications are kept before hourly pruning, e.g. 72h, 30d, 365d (env STRATUS_ALARM_HISTORY_RETENTION). [default: 30d]")
    var alarmHistoryRetention: String?

    /// The metric store's options for a live fleet: heads cut every `headCutMinutes` (20) at a
    /// per-series time (`TSDBOptions.headCutInterval`), so memory holds ~10 minutes of each
    /// series, not up to its whole hour.
    static func liveStoreOptions(_ config: ServeConfiguration) -> TSDBOptions {
        var o = TSDBOptions()
        o.headCutInterval = Int64(config.headCutMinutes) * 60_000
        return o
    }

    func run() async throws {
        MallocArenas.limitToCores()
        var logger = Logger(label: "stratus")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        do {
            try await serve(resolve(), logger: logger)
        } catch let e as StartupError {
            try fail(e)
        } catch let e as ControlError {
            try fail(e)
        } catch let e as MetricsError {
            try fail(e)
        }
    }

    /// Prints the one `error:` line for a failure the user can fix, and exits 1.
    private func fail(_ error: some CustomStringConvertible) throws -> Never {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(1)
    }

    /// Defaults, then the YAML file, then the environment, then flags.
    func resolve() throws -> ServeConfiguration {
        var c = ServeConfiguration()
        if let path = config {
            c.apply(try ServeConfiguration.loadFile(path))
        } else if FileManager.default.fileExists(atPath: "stratus.yaml") {
            c.apply(try ServeConfiguration.loadFile("stratus.yaml"))
        }
        try c.apply(environment: ProcessInfo.processInfo.environment)
        if let v = dataDir { c.dataDir = v }
        if let v = host { c.host = v }
        if let v = port { c.port = v }
        if !hypervisors.isEmpty { c.hypervisors = hypervisors }
        if noDemo { c.demo = false }
        if noLocalHost { c.localHost = false }
        if let v = interval { c.interval = v }
        if let v = pingInterval { c.pingInterval = v }
        if let v = alarmInterval { c.alarmInterval = v }
        if let v = headCutMinutes { c.headCutMinutes = v }
        if let v = deliveryMaxAge { c.deliveryMaxAge = v }
        if let v = alarmHistoryRetention { c.alarmHistoryRetention = v }
        try c.validate()
        return c
    }

    func serve(_ config: ServeConfiguration, logger: Logger) async throws {
        let clock = SystemWallClock()
        // Checks that store nothing come first.
        // The environment is already folded into `config` (flags > environment > file).
        let alarmSettings = try ServeAlarms.settings(interval: config.alarmInterval, maxAge: config.deliveryMaxAge,
                                                     historyRetention: config.alarmHistoryRetention)
        let dataDir = try StartupChecks.dataDir(config.dataDir)
        try StartupChecks.port(host: config.host, port: config.port)
        let pingSeconds = config.pingInterval
        let hypervisors = try await ServeBootstrap.connect(try ServeBootstrap.hypervisorURIs(config: config, dataDir: dataDir))

        let inventory = try SQLiteInventoryStore(path: dataDir.appendingPathComponent("inventory.sqlite").path)
        // Compaction yields to ingest and queries on a busy manager (it never holds the store's lock).
        BackgroundPriority.lowerRocksDBCompaction()
        let metricStore = try RocksMetricStore(path: dataDir.appendingPathComponent("metrics").path, options: Self.liveStoreOptions(config))
        let bootstrap = ServeBootstrap(config: config, dataDir: dataDir, inventory: inventory, clock: clock, logger: logger)
        let (password, cluster) = try await bootstrap.ensureAccountsAndTopology()
        let attached = try await bootstrap.attach(hypervisors, cluster: cluster)

        let interval = Int64(config.interval) * 1000
        let collection = CollectionService(store: metricStore, clock: clock, interval: interval, logger: logger)
        if config.localHost {
            let local = try await bootstrap.attachLocalHost(cluster: cluster)
            collection.register(HostProcCollector(hostUuid: local.uuid))
        }
        for a in attached {
            collection.register(LibvirtVMCollector(connection: a.hypervisor.connection, hostUuid: a.host.uuid))
        }
        let sync = HostSync(inventory: inventory, attachments: attached.map { .init(hostUuid: $0.host.uuid, hypervisor: $0.hypervisor) },
                            logger: logger)
        await sync.syncOnce(at: clock.now())
        // One monitor per libvirt host: lifecycle events within a second, pings, reconnects, and the
        // full sync on the collection interval as the safety net.
        let monitorSettings = HostMonitor.Settings(pingInterval: Int64(pingSeconds) * 1000,
                                                       syncInterval: Int64(config.interval) * 1000)
        let monitors = attached.map {
            HostMonitor(hostUuid: $0.host.uuid, hypervisor: $0.hypervisor, inventory: inventory, clock: SystemControlClock(),
                        settings: monitorSettings, logger: logger)
        }

        let alarms = try await ServeAlarms.start(dataDir: dataDir, metricStore: metricStore, inventory: inventory, clock: clock,
                                                 settings: alarmSettings, logger: logger)
        let web = try await StratusWeb.application(
            WebDependencies(inventory: inventory, metricStore: metricStore, clock: clock, collectionInterval: interval,
                            alarms: alarms.store,
                            testNotification: { try await alarms.testEndpoint(uuid: $0, requestedBy: $1) }),
            host: config.host, port: config.port, logger: logger)

        if let password {
            announce("Created account 'admin' with password: \(password)")
            announce("(shown once; set STRATUS_ADMIN_PASSWORD before the first start to choose it)")
        }
        announce("Stratus \(StratusCommand.version) listening on http://\(config.host):\(config.port)  data: \(dataDir.path)  hosts: \(attached.count + (config.localHost ? 1 : 0))")

        let group = ServiceGroup(configuration: .init(
            services: [.init(service: web), .init(service: collection), .init(service: HostMonitoring(monitors: monitors)),
                       .init(service: StoreMaintenance(store: metricStore, clock: clock, logger: logger)),
                       .init(service: alarms)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let e as IOError where e.errnoCode == EADDRINUSE {
            throw StartupError("\(config.host):\(config.port) is already in use; stop the other server or pass --port with a free port")
        }
        metricStore.close()
        logger.info("stopped cleanly")
    }
}

/// Writes a line to stdout unbuffered, so it shows at once even when stdout is a file or pipe.
func announce(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Runs every host's `HostMonitor` (events, pings, reconnects, periodic sync) until shutdown.
struct HostMonitoring: Service {
    let monitors: [HostMonitor]

    func run() async throws {
        // A service that returns early stops the whole group: with no hosts, wait for shutdown.
        guard !monitors.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for m in monitors { group.addTask { await m.run() } }
            }
        }
    }
}
