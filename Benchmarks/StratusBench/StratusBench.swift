import ArgumentParser
import Foundation
import StratusMetrics

/// `StratusBench`: ingest and query the same synthetic fleet into Stratus and VictoriaMetrics and
/// print a comparison table (`bash Benchmarks/run.sh`).
@main
struct StratusBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "StratusBench",
        abstract: "Stratus vs VictoriaMetrics on the same realistic infrastructure metrics.",
        subcommands: [Compare.self, ServeStratus.self, QueryProfile.self, QueryServe.self, BulkIngest.self, ActiveSeries.self, HourCut.self, LockContention.self, WriteVMFiles.self, AlarmBench.self, DeliveryBench.self],
        defaultSubcommand: Compare.self)
}

/// The fleet's size; the defaults are the full benchmark.
struct FleetOptions: ParsableArguments {
    @Option(help: "VMs.") var vms = 1_000
    @Option(help: "Hosts.") var hosts = 100
    @Option(help: "Hours of data (10 s interval).") var hours = 24
    @Option(help: "Generator seed.") var seed: UInt64 = 42

    func fleet() -> Fleet { Fleet(vms: vms, hosts: hosts, hours: hours, seed: seed) }

    func arguments() -> [String] { ["--vms", "\(vms)", "--hosts", "\(hosts)", "--hours", "\(hours)", "--seed", "\(seed)"] }
}
