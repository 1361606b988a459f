import Foundation

/// What `stratus simulate` runs.
public struct SimulatorOptions: Sendable {
    /// Base URL of `stratus serve`, e.g. `http://127.0.0.1:8080`.
    public var manager: String
    public var hosts: Int
    public var vms: Int
    /// ms.
    public var interval: Int64 = 10_000
    public var adminPassword: String
    public var seed: UInt64 = 1
    /// ms; nil runs until interrupted.
    public var duration: Int64?
    /// Concurrent HTTP connections to the manager.
    public var connections: Int = 8
    /// Rounds of batches that may wait to be sent before the oldest is dropped (and counted). A
    /// real agent keeps far more in its disk spool; the default, a minute of rounds at 10 s, lets
    /// the fleet ride out a slow minute (4 M series created at once, a checkpoint) without loss.
    public var bufferRounds: Int = 6
    /// Each host's send waits up to this fraction of the interval.
    public var sendJitterFraction: Double = AgentDefaults.sendJitterFraction
    /// Host and VM names start with this.
    public var namePrefix: String = "sim"

    public init(manager: String, hosts: Int, vms: Int, adminPassword: String) {
        self.manager = manager
        self.hosts = hosts
        self.vms = vms
        self.adminPassword = adminPassword
    }

    /// Throws `SimulatorError.invalidOption` naming the flag and what it accepts.
    public func validate() throws(SimulatorError) {
        guard manager.hasPrefix("http://") || manager.hasPrefix("https://") else {
            throw .invalidOption("--manager '\(manager)' must be a URL such as http://127.0.0.1:8080")
        }
        guard (1...1_000_000).contains(hosts) else { throw .invalidOption("--hosts \(hosts) must be between 1 and 1000000") }
        guard (0...10_000_000).contains(vms) else { throw .invalidOption("--vms \(vms) must be between 0 and 10000000") }
        guard (1_000...3_600_000).contains(interval) else {
            throw .invalidOption("--interval \(interval) ms must be between 1s and 1h")
        }
        guard !adminPassword.isEmpty else {
            throw .invalidOption("no admin password: pass --admin-password or set STRATUS_ADMIN_PASSWORD")
        }
        if let d = duration, d < interval {
            throw .invalidOption("--duration \(d) ms is shorter than one interval (\(interval) ms)")
        }
        guard (1...256).contains(connections) else { throw .invalidOption("--connections \(connections) must be between 1 and 256") }
        guard (1...60).contains(bufferRounds) else { throw .invalidOption("--buffer-rounds \(bufferRounds) must be between 1 and 60") }
        guard (0...0.9).contains(sendJitterFraction) else {
            throw .invalidOption("--jitter \(sendJitterFraction) must be between 0 and 0.9 (a fraction of the interval)")
        }
    }
}

/// Why the simulator could not start or had to stop.
public enum SimulatorError: Error, Equatable, CustomStringConvertible {
    case invalidOption(String)
    /// The manager refused or failed a call the simulator cannot go on without.
    case manager(what: String, status: Int, body: String)
    case unreachable(String)

    public var description: String {
        switch self {
        case let .invalidOption(why): why
        case let .manager(what, status, body):
            "\(what): the manager answered HTTP \(status): \(body.prefix(300))"
                + (status == 401 ? " (check the admin password: --admin-password or STRATUS_ADMIN_PASSWORD)" : "")
                + (status == 404 ? " (does this manager serve the agent API? check --manager)" : "")
        case let .unreachable(why): "\(why) (is `stratus serve` running there? check --manager)"
        }
    }
}

/// Parses durations such as `500ms`, `10s`, `10m`, `1h`, or a bare number of seconds.
public enum SimDuration {
    /// ms, or nil when the text is not a duration.
    public static func parse(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        for (suffix, ms) in [("ms", 1.0), ("s", 1_000.0), ("m", 60_000.0), ("h", 3_600_000.0)] where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v >= 0, v.isFinite else { return nil }
            return Int64((v * ms).rounded())
        }
        guard let v = Double(t), v >= 0, v.isFinite else { return nil }
        return Int64((v * 1000).rounded())
    }
}
