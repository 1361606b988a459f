import Agent
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import StratusMetrics

/// `stratus agent`: collects this KVM host's and its VMs' metrics and pushes them to the manager.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run on a KVM host: collect host and VM metrics and push them to the manager.",
        discussion: """
            Register the host first (`stratus host register-agent`, or POST /zstack/v1/hosts/agents as admin) to get its token. The agent \
            spools every round on local disk before sending it, so batches survive a manager outage or \
            an agent restart; past --spool-max-bytes the oldest are dropped and counted.
            """)

    @Option(name: .long, help: "The manager's URL, e.g. http://10.0.0.1:8080.")
    var manager: String

    @Option(name: .long, help: "The host's agent token (or set STRATUS_AGENT_TOKEN).")
    var token: String?

    @Option(name: .long, help: "The local libvirt URI. [default: qemu:///system]")
    var libvirt: String = "qemu:///system"

    @Option(name: .long, help: "Collection interval in seconds. [default: the manager's]")
    var interval: Int?

    @Option(name: .long, help: "Folder of the disk buffer. [default: ./agent-spool]")
    var spoolDir: String = "agent-spool"

    @Option(name: .long, help: "Bound of the disk buffer in bytes. [default: \(AgentDefaults.spoolMaxBytes)]")
    var spoolMaxBytes: Int64 = AgentDefaults.spoolMaxBytes

    func run() async throws {
        var logger = Logger(label: "stratus-agent")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        guard let token = token ?? ProcessInfo.processInfo.environment["STRATUS_AGENT_TOKEN"], !token.isEmpty else {
            fail("give the host's token with --token or STRATUS_AGENT_TOKEN (POST /zstack/v1/hosts/agents answers it)")
        }
        guard manager.hasPrefix("http://") || manager.hasPrefix("https://") else {
            fail("--manager '\(manager)' must be an http:// or https:// URL, e.g. http://10.0.0.1:8080")
        }
        if let interval, interval < 1 { fail("--interval \(interval) must be at least 1 second") }
        var config = AgentConfiguration(manager: manager, token: token)
        config.libvirtURI = libvirt
        config.interval = interval.map { Int64($0) * 1000 }
        config.spoolDirectory = spoolDir
        config.spoolMaxBytes = spoolMaxBytes
        let runner = AgentRunner(config: config, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: runner)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let e as AgentError {
            fail(e.description)
        } catch let e as ServiceGroupError {
            fail("\(e)")
        } catch {
            fail("\(error)")
        }
    }

    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        Foundation.exit(1)
    }
}
