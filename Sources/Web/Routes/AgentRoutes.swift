import Control
import Foundation
import HTTPTypes
import NIOCore
import Hummingbird
import NIOPosix
import StratusMetrics

/// The manager's side of the agent protocol (`AgentProtocol`): registration (admin session),
/// then hello, metric pushes and VM reports authenticated by the host's agent token, plus
/// `GET /zstack/v1/agent/ingest-stats` (admin) for the benchmark.
struct AgentRoutes {
    static let statsPath = "/zstack/v1/agent/ingest-stats"

    /// Threads for the CPU part of pushes (inflate, parse, resolve, append). The fsync wait holds
    /// no thread (`AgentIngest.ingest(_:gzipped:hostUuid:on:)` suspends on the WAL's group
    /// commit), so a few threads beyond the cores suffice; 16 threads each blocked ~1.5 fsyncs
    /// (6 ms each here) had capped pushes at ~1,400/s with a core idle.
    static let ingestPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: max(4, 2 * System.coreCount))
        pool.start()
        return pool
    }()
    /// The paths an agent calls with its token instead of a session.
    static let tokenPaths: Set<String> = [AgentProtocol.helloPath, AgentProtocol.metricsPath, AgentProtocol.vmsPath]

    let inventory: any InventoryStore
    let tokens: any AgentTokenStore
    let auth: AgentTokenAuth
    let tracker: AgentHostTracker
    /// Nil when the metric store has no bulk path (pushes then answer 501).
    let ingest: AgentIngest?
    let clock: any WallClock
    /// The collection interval (ms) hello asks agents for.
    let interval: Int64

    struct RegisterBody: Decodable {
        struct Params: Decodable {
            var name: String
            var managementIp: String
            var cpuNum: Int
            var memorySize: Int64
            /// Optional: the cluster to put the host in (default: the first KVM cluster).
            var clusterUuid: String?
        }
        var params: Params
    }

    /// The host inventory plus the token, shown once.
    struct RegisteredHost: Encodable {
        var host: Control.Host
        var agentToken: String
        enum Keys: String, CodingKey { case agentToken }
        func encode(to encoder: any Encoder) throws {
            try host.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(agentToken, forKey: .agentToken)
        }
    }

    func register(on router: Router<StratusRequestContext>) {
        router.post(RouterPath(AgentProtocol.registerPath)) { request, context in
            try Self.requireAdmin(context)
            let body = try await JSONResponse.decode(RegisterBody.self, from: request,
                what: #"the registration body {"params":{"name":…,"managementIp":…,"cpuNum":…,"memorySize":…}}"#)
            let host = try await registerHost(body.params)
            return try JSONResponse.make(["inventory": host])
        }
        router.get(RouterPath(AgentProtocol.helloPath)) { request, _ in
            let hostUuid = try await auth.hostUuid(request)
            let host = try await inventory.host(uuid: hostUuid)
            await tracker.seen(hostUuid, dropped: Self.dropped(request))
            return try JSONResponse.make(AgentHello(hostUuid: host.uuid, hostName: host.name, interval: interval, serverTime: clock.now()))
        }
        router.post(RouterPath(AgentProtocol.metricsPath)) { request, context in
            let hostUuid = try await auth.hostUuid(request)
            guard let ingest else {
                throw APIError(.notImplemented, code: "SYS.1000", description: "not implemented",
                               details: "this manager's metric store has no bulk ingest path; agents cannot push to it")
            }
            let gzipped: Bool
            switch request.headers[.contentEncoding]?.lowercased() {
            case "gzip": gzipped = true
            case nil, "identity": gzipped = false
            case let other?:
                throw APIError(.unsupportedMediaType, code: "SYS.1007", description: "invalid argument",
                               details: "Content-Encoding '\(other)' is not supported; send gzip (or plain text without Content-Encoding)")
            }
            // The compact batch by its media type; anything else is read as Prometheus text (as before it existed).
            let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            let format: AgentBatchFormat = mediaType == AgentProtocol.refBatchContentType ? .refBatch : .prometheusText
            let body = try await request.body.collect(upTo: AgentProtocol.maxBatchBytes)
            let reply: AgentPushReply
            do {
                reply = try await ingest.ingest(body, gzipped: gzipped, format: format, hostUuid: hostUuid, on: Self.ingestPool)
            } catch let e as AgentIngestError {
                if case .unknownRef = e {
                    // Expected once per agent after a manager restart: the agent resends with texts.
                    throw APIError(.conflict, code: AgentProtocol.unknownRefCode, description: "unknown series ref", details: e.description)
                }
                context.logger.warning("refused a batch from host \(hostUuid): \(e)")
                throw APIError(.forbidden, code: "ID.1002", description: "forbidden", details: e.description)
            }
            await tracker.seen(hostUuid, dropped: Self.dropped(request))
            return try JSONResponse.make(reply)
        }
        router.put(RouterPath(AgentProtocol.vmsPath)) { request, _ in
            let hostUuid = try await auth.hostUuid(request)
            let report = try await JSONResponse.decode(AgentVMReport.self, from: request, what: #"the VM report {"time":…,"vms":[…]}"#)
            var reported: [ReportedVM] = []
            for (i, vm) in report.vms.enumerated() {
                guard ResourceUUID.isValid(vm.uuid) else {
                    throw APIError.badArgument("vms[\(i)].uuid", "'\(vm.uuid)' must be 32 lowercase hex digits (the libvirt uuid without dashes)")
                }
                reported.append(ReportedVM(uuid: vm.uuid, name: vm.name, state: VMState(rawValue: vm.state) ?? .unknown,
                                           cpuNum: vm.cpuNum, memorySize: vm.memorySize))
            }
            try await inventory.syncVMs(hostUuid: hostUuid, reported: reported, at: report.time > 0 ? report.time : clock.now())
            await tracker.seen(hostUuid, dropped: Self.dropped(request))
            return Response(status: .noContent)
        }
        router.get(RouterPath(Self.statsPath)) { _, context in
            try Self.requireAdmin(context)
            let stats = ingest?.stats(agentsConnected: tracker.connectedCount)
                ?? AgentIngestStats(batches: 0, samples: 0, rejected: 0, bytes: 0, lagP50Ms: 0, lagP99Ms: 0, lagMaxMs: 0,
                                    windowSeconds: 0, agentsConnected: tracker.connectedCount)
            return try JSONResponse.make(stats)
        }
    }

    /// Validates the parameters, then adds (or finds) the host and gives it a new token.
    func registerHost(_ p: RegisterBody.Params) async throws -> RegisteredHost {
        let name = p.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 255,
              name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) })
        else {
            throw APIError.badArgument("params.name", "'\(p.name)' must be 1 to 255 characters of letters, digits, '.', '_' or '-' (the host's name)")
        }
        guard !p.managementIp.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw APIError.badArgument("params.managementIp", "give the address the host is managed by")
        }
        guard p.cpuNum > 0 else { throw APIError.badArgument("params.cpuNum", "\(p.cpuNum) must be a positive CPU count") }
        guard p.memorySize > 0 else { throw APIError.badArgument("params.memorySize", "\(p.memorySize) must be the host's memory in bytes (> 0)") }
        let clusters = try await inventory.clusters()
        let cluster: Cluster
        if let uuid = p.clusterUuid {
            guard let c = clusters.first(where: { $0.uuid == uuid }) else {
                throw APIError.badArgument("params.clusterUuid", "no cluster with uuid '\(uuid)'")
            }
            cluster = c
        } else {
            guard let c = clusters.first(where: { $0.hypervisorType == "KVM" }) ?? clusters.first else {
                throw APIError.badArgument("params.clusterUuid", "there is no cluster yet: create one or pass its uuid")
            }
            cluster = c
        }
        let token = AgentToken.make()
        let host = try await tokens.registerAgentHost(Control.Host(
            name: name, zoneUuid: cluster.zoneUuid, clusterUuid: cluster.uuid, managementIp: p.managementIp,
            hypervisorType: "KVM", hypervisorURI: AgentToken.hostURI(name: name), status: "Connected",
            cpuNum: p.cpuNum, totalMemoryCapacity: p.memorySize), tokenHash: AgentToken.hash(token), at: clock.now())
        auth.forget(hostUuid: host.uuid)
        tracker.watch([host.uuid])
        return RegisteredHost(host: host, agentToken: token)
    }

    static func requireAdmin(_ context: StratusRequestContext) throws {
        guard context.account?.type == "SystemAdmin" else {
            throw APIError(.forbidden, code: "ID.1002", description: "forbidden", details: "only an admin account may do this")
        }
    }

    static func dropped(_ request: Request) -> Int64? {
        guard let name = HTTPField.Name(AgentProtocol.droppedHeader) else { return nil }
        return request.headers[name].flatMap { Int64($0) }
    }
}

/// Lets the agent's token-authenticated calls through without a session (they check their token
/// themselves); everything else goes to the session/Basic authentication.
struct AgentAwareAuthMiddleware: RouterMiddleware {
    typealias Context = StratusRequestContext
    let other: PrometheusAuthMiddleware

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if AgentRoutes.tokenPaths.contains(request.uri.path) { return try await next(request, context) }
        return try await other.handle(request, context: context, next: next)
    }
}
