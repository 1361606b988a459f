import ArgumentParser
import Foundation

/// `stratus sns …`: SNS topics, endpoints, subscriptions and the delivery outbox of a running server.
struct SNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sns",
        abstract: "Manage notification topics and endpoints; subscribe endpoints to topics; send test notifications.",
        subcommands: [Topic.self, Endpoint.self, Subscribe.self, Unsubscribe.self, Deliveries.self])

    static let topics = "/zstack/v1/sns/topics"
    static let endpoints = "/zstack/v1/sns/application-endpoints"

    struct Topic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SNS topics.", subcommands: [List.self, Create.self, Delete.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List topics and their endpoints.")
            @OptionGroup var server: ServerOptions
            func run() async throws {
                try await runCLI {
                    let rows = try await server.connect().list(SNSCommand.topics)
                    CLITable.print(["UUID", "NAME", "STATE", "ENDPOINTS"], rows.map {
                        [CLITable.cell($0["uuid"]), CLITable.cell($0["name"]), CLITable.cell($0["state"]), CLITable.cell($0["endpoints"])]
                    })
                }
            }
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a topic.")
            @OptionGroup var server: ServerOptions
            @Argument var name: String
            @Option(name: .long) var description: String = ""
            func run() async throws {
                try await runCLI {
                    let t = try await server.connect().one("POST", SNSCommand.topics, ["params": ["name": name, "description": description]])
                    print("created topic \(t["uuid"] ?? "?") (\(name))")
                }
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a topic and its subscriptions.")
            @OptionGroup var server: ServerOptions
            @Argument var uuid: String
            func run() async throws {
                try await runCLI {
                    try await server.connect().call("DELETE", SNSCommand.topics + "/" + uuid)
                    print("deleted topic \(uuid)")
                }
            }
        }
    }

    struct Endpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "SNS application endpoints (HTTP, DingTalk, email).",
            subcommands: [List.self, CreateHTTP.self, CreateDingTalk.self, CreateEmail.self, Delete.self, Test.self])

        /// Options every endpoint type has.
        struct Common: ParsableArguments {
            @Option(name: .long) var name: String
            @Option(name: .long) var description: String = ""
            @Option(name: .long, help: "Mustache template of the message text.") var template: String?
            @Option(name: .long, help: "Mustache template for recovery messages.") var recoveryTemplate: String?
            @Option(name: .long, help: "Subscribe the new endpoint to this topic uuid (repeatable).") var topic: [String] = []

            var params: [String: Any] {
                var p: [String: Any] = ["name": name, "description": description]
                if let template { p["template"] = template }
                if let recoveryTemplate { p["recoveryTemplate"] = recoveryTemplate }
                return p
            }
        }

        static func create(_ server: ServerOptions, _ common: Common, path: String, _ extra: [String: Any]) async throws {
            try await runCLI {
                let api = try await server.connect()
                let e = try await api.one("POST", SNSCommand.endpoints + "/" + path, ["params": common.params.merging(extra) { $1 }])
                let uuid = e["uuid"] as? String ?? "?"
                print("created \(e["type"] ?? "") endpoint \(uuid) (\(common.name))")
                for t in common.topic {
                    try await api.call("POST", SNSCommand.topics + "/\(t)/endpoints", ["params": ["endpointUuid": uuid]])
                    print("subscribed to topic \(t)")
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List endpoints (secrets are never shown).")
            @OptionGroup var server: ServerOptions
            func run() async throws {
                try await runCLI {
                    let rows = try await server.connect().list(SNSCommand.endpoints)
                    CLITable.print(["UUID", "NAME", "TYPE", "STATE", "TARGET", "TOPICS"], rows.map { e in
                        let target = (e["url"] as? String) ?? "\(CLITable.cell(e["recipients"])) via \(CLITable.cell(e["smtpServer"])):\(CLITable.cell(e["smtpPort"]))"
                        return [CLITable.cell(e["uuid"]), CLITable.cell(e["name"]), CLITable.cell(e["type"]), CLITable.cell(e["state"]), target,
                                CLITable.cell(e["topics"])]
                    })
                }
            }
        }

        struct CreateHTTP: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "create-http", abstract: "Create an HTTP webhook endpoint.")
            @OptionGroup var server: ServerOptions
            @OptionGroup var common: Common
            @Option(name: .long, help: "The webhook URL.") var endpointURL: String
            @Option(name: .long, help: "HMAC-SHA256 key for the X-Stratus-Signature header.") var secret: String?
            @Option(name: .long, help: "Basic auth user.") var username: String?
            @Option(name: .long, help: "Basic auth password.") var basicPassword: String?
            @Option(name: .long, help: "ZStack (flat keys) or Alertmanager (webhook v4).") var format: String = "ZStack"
            func run() async throws {
                var p: [String: Any] = ["url": endpointURL, "format": format]
                if let secret { p["secret"] = secret }
                if let username { p["username"] = username }
                if let basicPassword { p["password"] = basicPassword }
                try await Endpoint.create(server, common, path: "http", p)
            }
        }

        struct CreateDingTalk: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "create-dingtalk", abstract: "Create a DingTalk robot endpoint.")
            @OptionGroup var server: ServerOptions
            @OptionGroup var common: Common
            @Option(name: .long, help: "The robot webhook URL (…/robot/send?access_token=…).") var endpointURL: String
            @Option(name: .long, help: "The robot's SEC… signing secret.") var secret: String?
            @Option(name: .long, help: "Mobile number to @ (repeatable).") var atMobile: [String] = []
            @Flag(name: .long, help: "@ everyone.") var atAll = false
            func run() async throws {
                var p: [String: Any] = ["url": endpointURL, "atMobiles": atMobile, "atAll": atAll]
                if let secret { p["secret"] = secret }
                try await Endpoint.create(server, common, path: "ding-talk", p)
            }
        }

        struct CreateEmail: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "create-email", abstract: "Create an email endpoint.")
            @OptionGroup var server: ServerOptions
            @OptionGroup var common: Common
            @Option(name: .long) var smtpServer: String
            @Option(name: .long) var smtpPort: Int = 25
            @Option(name: .long, help: "none, starttls or smtps.") var security: String = "none"
            @Option(name: .long) var from: String
            @Option(name: .long, help: "Recipient address (repeatable).") var to: [String]
            @Option(name: .long, help: "SMTP user.") var smtpUser: String?
            @Option(name: .long, help: "SMTP password.") var smtpPassword: String?
            @Flag(name: .long, help: "Send an HTML part too.") var html = false
            @Flag(name: .long, help: "Accept a self-signed server certificate.") var insecureSkipVerify = false
            func run() async throws {
                var p: [String: Any] = ["smtpServer": smtpServer, "smtpPort": smtpPort, "security": security, "from": from,
                                        "recipients": to, "html": html, "insecureSkipVerify": insecureSkipVerify]
                if let smtpUser { p["username"] = smtpUser }
                if let smtpPassword { p["password"] = smtpPassword }
                try await Endpoint.create(server, common, path: "emails", p)
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete an endpoint.")
            @OptionGroup var server: ServerOptions
            @Argument var uuid: String
            func run() async throws {
                try await runCLI {
                    try await server.connect().call("DELETE", SNSCommand.endpoints + "/" + uuid)
                    print("deleted endpoint \(uuid)")
                }
            }
        }

        struct Test: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Send a test notification and wait for its delivery status.")
            @OptionGroup var server: ServerOptions
            @Argument var uuid: String
            @Option(name: .long, help: "Seconds to wait for Delivered / Failed (0: do not wait).") var wait: Int = 15
            func run() async throws {
                try await runCLI {
                    let api = try await server.connect()
                    let d = try await api.one("POST", SNSCommand.endpoints + "/\(uuid)/test")
                    let id = d["id"] as? Int
                    print("test notification #\(id.map(String.init) ?? "?") queued for endpoint \(uuid)")
                    guard wait > 0, let id else { return }
                    let deadline = Date().addingTimeInterval(Double(wait))
                    var status = "Pending", lastError: String?
                    while Date() < deadline {
                        let rows = try await api.list("/zstack/v1/sns/deliveries?endpointUuid=\(queryValue(uuid))&limit=50")
                        if let row = rows.first(where: { $0["id"] as? Int == id }) {
                            status = row["status"] as? String ?? status
                            lastError = row["lastError"] as? String
                            if status != "Pending" { break }
                        }
                        try await Task.sleep(for: .milliseconds(500))
                    }
                    print("status: \(status)\(lastError.map { " (last error: \($0))" } ?? "")")
                    if status != "Delivered" {
                        throw CLIError(status == "Pending" ? "not delivered within \(wait) s; still pending (see `stratus sns deliveries`)"
                                                           : "delivery failed: \(lastError ?? "no error recorded")")
                    }
                }
            }
        }
    }

    struct Subscribe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Subscribe an endpoint to a topic.")
        @OptionGroup var server: ServerOptions
        @Option(name: .long) var topic: String
        @Option(name: .long) var endpoint: String
        func run() async throws {
            try await runCLI {
                try await server.connect().call("POST", SNSCommand.topics + "/\(topic)/endpoints", ["params": ["endpointUuid": endpoint]])
                print("endpoint \(endpoint) subscribed to topic \(topic)")
            }
        }
    }

    struct Unsubscribe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unsubscribe an endpoint from a topic.")
        @OptionGroup var server: ServerOptions
        @Option(name: .long) var topic: String
        @Option(name: .long) var endpoint: String
        func run() async throws {
            try await runCLI {
                try await server.connect().call("DELETE", SNSCommand.topics + "/\(topic)/endpoints/\(endpoint)")
                print("endpoint \(endpoint) unsubscribed from topic \(topic)")
            }
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the delivery outbox, newest first, with counts by status.")
        @OptionGroup var server: ServerOptions
        @Option(name: .long, help: "Pending, Delivered or Failed.") var status: String?
        @Option(name: .long, help: "Only this endpoint uuid.") var endpoint: String?
        @Option(name: .long) var limit: Int = 30
        func run() async throws {
            try await runCLI {
                var q = ["limit=\(limit)"]
                if let status { q.append("status=" + queryValue(status)) }
                if let endpoint { q.append("endpointUuid=" + queryValue(endpoint)) }
                let reply = try await server.connect().call("GET", "/zstack/v1/sns/deliveries?" + q.joined(separator: "&"))
                let rows = reply["inventories"] as? [[String: Any]] ?? []
                CLITable.print(["ID", "ENDPOINT", "KIND", "STATUS", "ATTEMPTS", "CREATED (UTC)", "DELIVERED (UTC)", "LAST ERROR"], rows.map { r in
                    [CLITable.cell(r["id"]), CLITable.cell(r["endpointUuid"]), CLITable.cell(r["kind"]), CLITable.cell(r["status"]),
                     CLITable.cell(r["attempts"]), CLITable.time(r["createdAt"]), CLITable.time(r["deliveredAt"]), CLITable.cell(r["lastError"])]
                })
                let counts = reply["counts"] as? [String: Any] ?? [:]
                print("pending \(CLITable.cell(counts["Pending"])) · delivered \(CLITable.cell(counts["Delivered"])) · failed \(CLITable.cell(counts["Failed"]))")
            }
        }
    }
}
