import ArgumentParser
import Foundation

/// `stratus alarm …`: ZWatch alarms of a running server, through its REST API.
struct AlarmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alarm",
        abstract: "List, create, enable, disable and delete alarms; show firing instances and history.",
        subcommands: [List.self, Create.self, Delete.self, Enable.self, Disable.self, Firing.self, History.self])

    static let base = "/zstack/v1/zwatch/alarms"

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List alarms with their state and status.")
        @OptionGroup var server: ServerOptions
        @Option(name: .long, help: "ZStack query conditions, e.g. --q status=Alarm (repeatable).")
        var q: [String] = []

        func run() async throws {
            try await runCLI {
                let api = try await server.connect()
                let query = q.map { "q=" + queryValue($0) }.joined(separator: "&")
                let alarms = try await api.list(AlarmCommand.base + (query.isEmpty ? "" : "?" + query))
                CLITable.print(["UUID", "NAME", "METRIC", "CONDITION", "LEVEL", "STATE", "STATUS", "FIRING"], alarms.map { a in
                    ["\(a["uuid"] ?? "")", CLITable.cell(a["name"]), "\(CLITable.cell(a["namespace"])) \(CLITable.cell(a["metricName"]))",
                     "\(CLITable.cell(a["comparisonOperator"])) \(CLITable.cell(a["threshold"])) for \(CLITable.cell(a["period"]))s",
                     CLITable.cell(a["emergencyLevel"]), CLITable.cell(a["state"]), CLITable.cell(a["status"]), CLITable.cell(a["firingCount"])]
                })
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a metric alarm.",
            discussion: "Example: stratus alarm create --name vm-cpu --metric CPUAverageUsedUtilization --operator GreaterThanOrEqualTo --threshold 80 --period 300 --label VMUuid=~.* --topic <topicUuid>")
        @OptionGroup var server: ServerOptions
        @Option(name: .long) var name: String
        @Option(name: .long, help: "ZStack/VM, ZStack/Host, …") var namespace: String = "ZStack/VM"
        @Option(name: .long, help: "The ZWatch metric name.") var metric: String
        @Option(name: .long, help: "GreaterThanOrEqualTo, GreaterThan, LessThan or LessThanOrEqualTo.") var `operator`: String = "GreaterThanOrEqualTo"
        @Option(name: .long) var threshold: Double
        @Option(name: .long, help: "Seconds every sample of which must breach.") var period: Int = 300
        @Option(name: .long, help: "Any (per resource) or Average.") var type: String = "Any"
        @Option(name: .long, help: "Label condition key=value, key!=value, key=~re or key!~re (repeatable).") var label: [String] = []
        @Option(name: .long, help: "Seconds between repeated notifications.") var repeatInterval: Int = 1800
        @Option(name: .long, help: "Repeats per episode; -1 = unlimited.") var repeatCount: Int = -1
        @Flag(name: .long, help: "Do not notify when the alarm recovers.") var noRecovery = false
        @Option(name: .long, help: "Emergent, Important or Normal.") var level: String = "Important"
        @Option(name: .long, help: "SNS topic uuid to notify (repeatable).") var topic: [String] = []

        func run() async throws {
            try await runCLI {
                let labels = try label.map { try Self.parseLabel($0) }
                let api = try await server.connect()
                let a = try await api.one("POST", AlarmCommand.base, ["params": [
                    "name": name, "namespace": namespace, "metricName": metric, "comparisonOperator": `operator`,
                    "threshold": threshold, "period": period, "type": type, "labels": labels, "repeatInterval": repeatInterval,
                    "repeatCount": repeatCount, "enableRecovery": !noRecovery, "emergencyLevel": level, "actions": topic,
                ] as [String: Any]])
                print("created alarm \(a["uuid"] ?? "?") (\(a["name"] ?? name))")
            }
        }

        static func parseLabel(_ s: String) throws -> [String: String] {
            for op in ["!=", "=~", "!~", "="] {
                if let r = s.range(of: op), r.lowerBound != s.startIndex {
                    return ["key": String(s[..<r.lowerBound]), "op": op, "value": String(s[r.upperBound...])]
                }
            }
            throw CLIError("--label '\(s)' is not key=value (also key!=value, key=~regex, key!~regex)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an alarm (its history stays).")
        @OptionGroup var server: ServerOptions
        @Argument var uuid: String

        func run() async throws {
            try await runCLI {
                try await server.connect().call("DELETE", AlarmCommand.base + "/" + uuid)
                print("deleted alarm \(uuid)")
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable an alarm.")
        @OptionGroup var server: ServerOptions
        @Argument var uuid: String
        func run() async throws { try await AlarmCommand.changeState(server, uuid, "enable") }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an alarm (kept, not evaluated).")
        @OptionGroup var server: ServerOptions
        @Argument var uuid: String
        func run() async throws { try await AlarmCommand.changeState(server, uuid, "disable") }
    }

    static func changeState(_ server: ServerOptions, _ uuid: String, _ event: String) async throws {
        try await runCLI {
            let a = try await server.connect().one("PUT", base + "/\(uuid)/actions", ["changeAlarmState": ["stateEvent": event]])
            print("alarm \(uuid) is \(a["state"] ?? "?")")
        }
    }

    struct Firing: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List alarm instances now in Alarm.")
        @OptionGroup var server: ServerOptions

        func run() async throws {
            try await runCLI {
                let rows = try await server.connect().list(AlarmCommand.base + "/firing")
                CLITable.print(["ALARM", "RESOURCE", "VALUE", "THRESHOLD", "LEVEL", "SINCE (UTC)"], rows.map { r in
                    [CLITable.cell(r["alarmName"]), CLITable.cell(r["resourceId"]), CLITable.cell(r["value"]), CLITable.cell(r["threshold"]),
                     CLITable.cell(r["emergencyLevel"]), CLITable.time(r["since"])]
                })
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show alarm transitions, newest first.")
        @OptionGroup var server: ServerOptions
        @Option(name: .long, help: "Only this alarm.") var alarm: String?
        @Option(name: .long, help: "Only this resource uuid.") var resource: String?
        @Option(name: .long, help: "Only transitions to OK, Alarm or InsufficientData.") var status: String?
        @Option(name: .long, help: "Only the last N hours.") var hours: Int?
        @Option(name: .long) var limit: Int = 50

        func run() async throws {
            try await runCLI {
                var q = ["limit=\(limit)"]
                if let alarm { q.append("alarmUuid=" + queryValue(alarm)) }
                if let resource { q.append("resourceId=" + queryValue(resource)) }
                if let status { q.append("status=" + queryValue(status)) }
                if let hours { q.append("startTime=\(Int64(Date().timeIntervalSince1970) - Int64(hours) * 3600)") }
                let rows = try await server.connect().list(AlarmCommand.base + "/histories?" + q.joined(separator: "&"))
                CLITable.print(["TIME (UTC)", "ALARM", "RESOURCE", "FROM", "TO", "VALUE", "NOTIFIED"], rows.map { r in
                    [CLITable.time(r["time"]), CLITable.cell(r["alarmName"]), CLITable.cell(r["resourceId"]), CLITable.cell(r["previousStatus"]),
                     CLITable.cell(r["currentStatus"]), CLITable.cell(r["value"]),
                     (r["notified"] as? Bool ?? false) ? "yes" : "no" + ((r["suppressedBy"] as? String).map { " (\($0))" } ?? "")]
                })
            }
        }
    }
}
