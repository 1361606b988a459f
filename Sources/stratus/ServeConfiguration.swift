import Foundation
import Yams

/// Everything `stratus serve` needs, with a default for each so no configuration is needed at all.
/// Precedence, highest first: command-line flags, `STRATUS_*` environment variables, the YAML file
/// (`--config`, else `./stratus.yaml` when present), these defaults.
struct ServeConfiguration: Sendable, Equatable {
    var dataDir = "./data"
    var host = "127.0.0.1"
    var port = 8080
    /// libvirt URIs to attach as hosts. Empty means demo hosts on libvirt's test driver.
    var hypervisors: [String] = []
    /// Attach demo hosts (test driver) when no hypervisor is given.
    var demo = true
    /// Attach the machine itself as a host measured from /proc.
    var localHost = true
    /// Collection interval in seconds (ZWatch's default is 10).
    var interval = 10
    /// Seconds between pings of each libvirt host; 3 missed pings mark it Disconnected.
    var pingInterval = 60
    /// Seconds between alarm evaluation rounds (nil: the alarm service's default, 10).
    var alarmInterval: Int?
    /// How long a notification is retried, as a duration text (`24h`, `7d`); nil: 24 h.
    var deliveryMaxAge: String?
    /// How long alarm history and finished notifications are kept (`30d`); nil: 30 days.
    var alarmHistoryRetention: String?
    /// Minutes between the metric store's cuts of a live series' head inside its hour
    /// (`TSDBOptions.headCutInterval`, each series at its own phase); 0 = only at hour ends.
    var headCutMinutes = 20
    var adminPassword: String?

    /// The YAML file's shape; every key optional.
    struct File: Decodable {
        var dataDir: String?
        var host: String?
        var port: Int?
        var hypervisors: [String]?
        var demo: Bool?
        var localHost: Bool?
        var interval: Int?
        var pingInterval: Int?
        var alarmInterval: Int?
        var deliveryMaxAge: String?
        var alarmHistoryRetention: String?
        var headCutMinutes: Int?
    }

    mutating func apply(_ f: File) {
        if let v = f.dataDir { dataDir = v }
        if let v = f.host { host = v }
        if let v = f.port { port = v }
        if let v = f.hypervisors { hypervisors = v }
        if let v = f.demo { demo = v }
        if let v = f.localHost { localHost = v }
        if let v = f.interval { interval = v }
        if let v = f.pingInterval { pingInterval = v }
        if let v = f.alarmInterval { alarmInterval = v }
        if let v = f.deliveryMaxAge { deliveryMaxAge = v }
        if let v = f.alarmHistoryRetention { alarmHistoryRetention = v }
        if let v = f.headCutMinutes { headCutMinutes = v }
    }

    /// Reads `STRATUS_DATA_DIR`, `STRATUS_HOST`, `STRATUS_PORT`, `STRATUS_HYPERVISOR` (comma-separated),
    /// `STRATUS_INTERVAL`, `STRATUS_PING_INTERVAL`, `STRATUS_ALARM_INTERVAL`, `STRATUS_DELIVERY_MAX_AGE`,
    /// `STRATUS_ALARM_HISTORY_RETENTION`, `STRATUS_HEAD_CUT_MINUTES`, `STRATUS_ADMIN_PASSWORD`.
    mutating func apply(environment env: [String: String]) throws {
        if let v = env["STRATUS_DATA_DIR"], !v.isEmpty { dataDir = v }
        if let v = env["STRATUS_HOST"], !v.isEmpty { host = v }
        if let v = env["STRATUS_PORT"], !v.isEmpty {
            guard let p = Int(v) else { throw StartupError("STRATUS_PORT='\(v)' is not a port number; use 1-65535") }
            port = p
        }
        if let v = env["STRATUS_HYPERVISOR"], !v.isEmpty { hypervisors = v.split(separator: ",").map(String.init) }
        if let v = env["STRATUS_INTERVAL"], !v.isEmpty {
            guard let i = Int(v) else { throw StartupError("STRATUS_INTERVAL='\(v)' is not a whole number of seconds") }
            interval = i
        }
        if let v = env["STRATUS_PING_INTERVAL"], !v.isEmpty {
            guard let i = Int(v) else { throw StartupError("STRATUS_PING_INTERVAL='\(v)' is not a whole number of seconds") }
            pingInterval = i
        }
        if let v = env["STRATUS_ALARM_INTERVAL"], !v.isEmpty {
            guard let i = Int(v) else { throw StartupError("STRATUS_ALARM_INTERVAL='\(v)' is not a whole number of seconds") }
            alarmInterval = i
        }
        if let v = env["STRATUS_DELIVERY_MAX_AGE"], !v.isEmpty { deliveryMaxAge = v }
        if let v = env["STRATUS_ALARM_HISTORY_RETENTION"], !v.isEmpty { alarmHistoryRetention = v }
        if let v = env["STRATUS_HEAD_CUT_MINUTES"], !v.isEmpty {
            guard let i = Int(v) else { throw StartupError("STRATUS_HEAD_CUT_MINUTES='\(v)' is not a whole number of minutes; use 0 (off) or 10-60") }
            headCutMinutes = i
        }
        if let v = env["STRATUS_ADMIN_PASSWORD"], !v.isEmpty { adminPassword = v }
    }

    /// Loads `path`; a missing explicit file or a malformed one is an error naming the file.
    static func loadFile(_ path: String) throws -> File {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw StartupError("cannot read config file '\(path)': check the path and its permissions")
        }
        do {
            return try YAMLDecoder().decode(File.self, from: text.isEmpty ? "{}" : text)
        } catch {
            throw StartupError("config file '\(path)' is not valid (\(oneLine(error))); keys: dataDir, host, port, hypervisors, demo, localHost, interval, pingInterval, alarmInterval, deliveryMaxAge, alarmHistoryRetention, headCutMinutes")
        }
    }

    func validate() throws {
        guard (1...65535).contains(port) else { throw StartupError("port \(port) is out of range; use 1-65535 (--port)") }
        guard (1...3600).contains(interval) else {
            throw StartupError("interval \(interval) s is out of range; use 1-3600 seconds (--interval)")
        }
        guard (1...3600).contains(pingInterval) else {
            throw StartupError("ping interval \(pingInterval) s is out of range; use 1-3600 seconds (--ping-interval)")
        }
        guard headCutMinutes == 0 || (10...60).contains(headCutMinutes) else {
            throw StartupError("head cut interval \(headCutMinutes) min is out of range; use 0 (cut only at hour ends) or 10-60 minutes (--head-cut-minutes)")
        }
        guard !host.isEmpty else { throw StartupError("the listen address is empty; pass --host 127.0.0.1 or 0.0.0.0") }
    }
}

/// An error's text on one line: YAML and decoding errors span several.
func oneLine(_ error: any Error) -> String {
    var text = "\(error)"
    if case let DecodingError.dataCorrupted(ctx) = error {
        text = ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription
    } else if case let DecodingError.typeMismatch(_, ctx) = error {
        text = "\(ctx.codingPath.map(\.stringValue).joined(separator: ".")): \(ctx.debugDescription)"
    }
    return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty && $0 != "^" }.joined(separator: " ")
}

/// A start-up failure: one line saying what is wrong and how to fix it.
struct StartupError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
