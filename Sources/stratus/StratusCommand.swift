import ArgumentParser

/// `stratus`: the Stratus cloud operations platform.
@main
struct StratusCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "stratus",
        abstract: "Stratus: an IaaS control plane whose centre is operations (metrics, alarms, billing).",
        version: version,
        subcommands: [ServeCommand.self, ImportCommand.self, VersionCommand.self, CrashWriterCommand.self, SimulateCommand.self, AgentCommand.self, AlarmCommand.self, SNSCommand.self, HostCommand.self],
        defaultSubcommand: nil
    )
}

/// `stratus version`: prints the version.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the Stratus version.")

    func run() {
        print("stratus \(StratusCommand.version)")
    }
}
