/// The agent protocol between the management node (`stratus serve`) and the processes that push
/// metrics to it (`stratus agent` on a KVM host, `stratus simulate`). Plain HTTP + JSON, with
/// samples as gzip-compressed Prometheus text (`name{k="v",…} value timestamp_ms`, one per line).
///
/// - `POST registerPath` (an admin session, `Authorization: OAuth <session>`) with
///   `{"params":{"name":…,"managementIp":…,"cpuNum":…,"memorySize":…}}` adds (or finds, by name)
///   a host of type KVM and answers `{"inventory":{<host>…,"agentToken":"<64 hex>"}}`. The token is
///   shown once; registering the same name again rotates it.
/// - Every other call carries `Authorization: Bearer <agentToken>`; the token names the host.
/// - `GET helloPath` → `AgentHello` (the host's uuid for the `HostUuid` label, the interval).
/// - `POST metricsPath`, `Content-Encoding: gzip`, `Content-Type: contentType`, header
///   `batchHeader: <sequence>` → `AgentPushReply`. Replaying a batch is harmless: a sample with
///   the same series and timestamp replaces the stored one. Agents send the compact
///   `refBatchContentType` instead (`AgentRefBatchEncoder`): each series by its text the first
///   time, then by the ref the reply answered for it. A ref the manager does not know for the host
///   (it restarted) gets 409 `unknownRefCode` and nothing is stored: resend with every series as text.
/// - `PUT vmsPath` with `AgentVMReport` (every VM on the host) → 204; state changes become
///   resource events on the manager.
public enum AgentProtocol {
    public static let registerPath = "/zstack/v1/hosts/agents"
    public static let helloPath = "/zstack/v1/agent/hello"
    public static let metricsPath = "/zstack/v1/agent/metrics"
    public static let vmsPath = "/zstack/v1/agent/vms"
    /// The batch's sequence number, for the manager's log.
    public static let batchHeader = "X-Stratus-Batch"
    /// Samples the agent dropped so far because its disk buffer was full (sent on every push).
    public static let droppedHeader = "X-Stratus-Agent-Dropped"
    public static let contentType = "text/plain; version=0.0.4"
    /// The compact batch (`AgentRefBatchEncoder`).
    public static let refBatchContentType = "application/x-stratus-batch"
    /// The 409 answer's error code when a batch names a ref the manager does not know for the host.
    public static let unknownRefCode = "AGENT.1001"
    /// Largest accepted batch after decompression.
    public static let maxBatchBytes = 64 << 20
}

/// What `GET /zstack/v1/agent/hello` answers.
public struct AgentHello: Codable, Sendable, Equatable {
    public var hostUuid: String
    public var hostName: String
    /// Collection interval in ms the manager asks for.
    public var interval: Int64
    /// The manager's clock (ms), so an agent can warn about clock skew.
    public var serverTime: Int64

    public init(hostUuid: String, hostName: String, interval: Int64, serverTime: Int64) {
        self.hostUuid = hostUuid
        self.hostName = hostName
        self.interval = interval
        self.serverTime = serverTime
    }
}

/// What a push of metrics answers.
public struct AgentPushReply: Codable, Sendable, Equatable {
    public var accepted: Int
    public var rejected: Int
    /// The first few rejections, in words.
    public var rejections: [String]
    /// For a compact batch with text entries: each one's series ref, in the order they came
    /// (0 = refused); send the ref instead of the text from now on.
    public var refs: [UInt64]?

    public init(accepted: Int, rejected: Int, rejections: [String], refs: [UInt64]? = nil) {
        self.accepted = accepted
        self.rejected = rejected
        self.rejections = rejections
        self.refs = refs
    }
}

/// Every VM on the agent's host, as `PUT /zstack/v1/agent/vms` carries it.
public struct AgentVMReport: Codable, Sendable, Equatable {
    /// When the agent read the list (ms).
    public var time: Int64
    public var vms: [AgentVM]

    public init(time: Int64, vms: [AgentVM]) {
        self.time = time
        self.vms = vms
    }
}

/// One VM in an `AgentVMReport`.
public struct AgentVM: Codable, Sendable, Equatable {
    /// 32 lowercase hex digits (the libvirt uuid without dashes).
    public var uuid: String
    public var name: String
    /// ZStack's state name: Running, Stopped, Paused, Crashed, …
    public var state: String
    public var cpuNum: Int
    /// Bytes.
    public var memorySize: Int64

    public init(uuid: String, name: String, state: String, cpuNum: Int, memorySize: Int64) {
        self.uuid = uuid
        self.name = name
        self.state = state
        self.cpuNum = cpuNum
        self.memorySize = memorySize
    }
}
