import ArgumentParser
import Foundation
import StratusMetrics

/// `stratus host …`: host administration against a running server.
struct HostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host", abstract: "Hosts of a running Stratus server.", subcommands: [RegisterAgent.self])

    /// `stratus host register-agent`: registers a KVM host that will run `stratus agent` and prints its token.
    struct RegisterAgent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register-agent",
            abstract: "Register a KVM host that runs `stratus agent`, and print its agent token.",
            discussion: """
                The token is shown once. Registering the same name again rotates it (the old token stops \
                working). CPU and memory default to this machine's, for running it on the KVM host itself.
                """)

        @OptionGroup var server: ServerOptions
        @Option(name: .long, help: "The host's name: letters, digits, '.', '_' or '-'.") var name: String
        @Option(name: .long, help: "The address the host is managed by.") var managementIp: String
        @Option(name: .long, help: "CPU count. [default: this machine's]") var cpuNum: Int?
        @Option(name: .long, help: "Memory in bytes. [default: this machine's]") var memorySize: Int64?
        @Option(name: .long, help: "Cluster uuid. [default: the first KVM cluster]") var clusterUuid: String?

        func run() async throws {
            try await runCLI {
                var params: [String: Any] = [
                    "name": name, "managementIp": managementIp,
                    "cpuNum": cpuNum ?? ProcessInfo.processInfo.activeProcessorCount,
                    "memorySize": memorySize ?? Int64(ProcessInfo.processInfo.physicalMemory),
                ]
                if let clusterUuid { params["clusterUuid"] = clusterUuid }
                let api = try await server.connect()
                let host = try await api.one("POST", AgentProtocol.registerPath, ["params": params])
                guard let token = host["agentToken"] as? String, let uuid = host["uuid"] as? String else {
                    throw CLIError("\(server.resolvedURL) registered the host but answered no agentToken; is it a Stratus server?")
                }
                print("registered host \(uuid) (\(name))")
                print("agent token (shown once): \(token)")
                print("run on the host: stratus agent --manager \(server.resolvedURL) --token \(token) --libvirt qemu:///system")
            }
        }
    }
}
