import Agent
import ArgumentParser
import Foundation

/// `stratus simulate`: many virtual agents pushing realistic metrics to a manager, for demos and
/// scale tests.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Register simulated hosts and VMs with a manager and stream realistic metrics to it.",
        discussion: """
            Registers --hosts hosts through the manager's API (as admin), reports --vms VMs spread over \
            them, then every --interval sends each host's and each running VM's whole ZWatch catalog, \
            stamped on the grid: diurnal curves by host timezone, noise, noisy neighbours, a few hot VMs, \
            VMs starting and stopping. The same --seed gives the same values. Prints a progress line every \
            interval and a `summary {json}` line at the end.
            """)

    @Option(help: "The manager's base URL.") var manager = "http://127.0.0.1:8080"
    @Option(help: "Simulated hosts.") var hosts = 10
    @Option(help: "Simulated VMs, spread over the hosts.") var vms = 100
    @Option(help: "Collection interval, e.g. 10s, 1s, 1m.") var interval = "10s"
    @Option(help: "The admin password. [default: $STRATUS_ADMIN_PASSWORD]") var adminPassword: String?
    @Option(help: "Seed of the fleet and its values.") var seed: UInt64 = 1
    @Option(help: "Stop after this long, e.g. 10m (default: run until Ctrl-C).") var duration: String?
    @Option(help: "Concurrent HTTP connections to the manager.") var connections = 8
    @Option(help: "Rounds of batches that may wait to be sent before the oldest is dropped.") var bufferRounds = 6
    @Option(help: "Each host's send waits up to this fraction of the interval.") var jitter = 0.3
    @Option(help: "Host and VM names start with this.") var namePrefix = "sim"

    func run() throws {
        guard let intervalMs = SimDuration.parse(interval) else {
            throw ValidationError("--interval '\(interval)' is not a duration; use e.g. 10s, 1s or 1m")
        }
        var durationMs: Int64?
        if let duration {
            guard let d = SimDuration.parse(duration) else {
                throw ValidationError("--duration '\(duration)' is not a duration; use e.g. 30s, 10m or 1h")
            }
            durationMs = d
        }
        let password = adminPassword ?? ProcessInfo.processInfo.environment["STRATUS_ADMIN_PASSWORD"] ?? ""
        var options = SimulatorOptions(manager: manager, hosts: hosts, vms: vms, adminPassword: password)
        options.interval = intervalMs
        options.seed = seed
        options.duration = durationMs
        options.connections = connections
        options.bufferRounds = bufferRounds
        options.sendJitterFraction = jitter
        options.namePrefix = namePrefix
        signal(SIGINT) { _ in Simulator.stopRequested.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in Simulator.stopRequested.store(true, ordering: .relaxed) }
        do {
            let summary = try Simulator(options: options).run()
            if summary.errors > 0 && summary.samples == 0 { throw ExitCode(2) }
        } catch let e as SimulatorError {
            FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}
