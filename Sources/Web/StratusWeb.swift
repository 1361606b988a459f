import Alarms
import Control
import Hummingbird
import Logging
import ServiceLifecycle
import StratusMetrics

/// Everything the web layer reads from: the other modules' public APIs, and the clock.
public struct WebDependencies: Sendable {
    public var inventory: any InventoryStore
    public var metricStore: any MetricStore
    public var clock: any WallClock
    /// The collection interval in ms (the default ZWatch period and chart resolution).
    public var collectionInterval: Int64
    /// Agent hosts and their token hashes (default: the inventory, when it keeps them).
    public var agentTokens: (any AgentTokenStore)?
    /// The alarm store; when set, the alarm / SNS API and pages are served.
    public var alarms: (any AlarmStore)?
    /// Enqueues a test notification for an endpoint (the alarm service, which also wakes its
    /// dispatcher). nil: the web layer enqueues the outbox entry into `alarms` itself.
    public var testNotification: TestNotificationHook?

    public init(inventory: any InventoryStore, metricStore: any MetricStore, clock: any WallClock, collectionInterval: Int64,
                agentTokens: (any AgentTokenStore)? = nil, alarms: (any AlarmStore)? = nil,
                testNotification: TestNotificationHook? = nil) {
        self.inventory = inventory
        self.metricStore = metricStore
        self.clock = clock
        self.collectionInterval = collectionInterval
        self.agentTokens = agentTokens ?? (inventory as? any AgentTokenStore)
        self.alarms = alarms
        self.testNotification = testNotification
    }
}

/// Enqueues a test notification for the endpoint `endpointUuid` on behalf of `requestedBy` and
/// returns its outbox entry (with its id). Throws `AlarmNotFoundError` for an unknown endpoint.
public typealias TestNotificationHook = @Sendable (_ endpointUuid: String, _ requestedBy: String) async throws -> OutboxEntry

extension WebDependencies {
    /// `testNotification`, or the built-in enqueue into `alarms`.
    func testNotifier(_ store: any AlarmStore) -> TestNotificationHook {
        if let hook = testNotification { return hook }
        let clock = self.clock
        return { uuid, by in try await TestNotifications.enqueue(store: store, endpointUuid: uuid, requestedBy: by, at: clock.now()) }
    }
}

/// Builds the HTTP application: JSON API under `/zstack/v1`, the Prometheus API under `/api/v1`,
/// the dashboard pages, `/healthz`.
public enum StratusWeb {
    public static func router(_ deps: WebDependencies) async throws -> Router<StratusRequestContext> {
        try await build(deps, logger: Logger(label: "stratus.web")).router
    }

    /// The router and the background services its routes need (the agent liveness check).
    static func build(_ deps: WebDependencies, logger: Logger) async throws -> (router: Router<StratusRequestContext>, services: [any Service]) {
        let pages = try await PageRenderer.load()
        let router = Router(context: StratusRequestContext.self)
        router.add(middleware: APIErrorMiddleware())
        // Sessions everywhere; on /api/v1 also HTTP Basic (Grafana, promtool).
        // The agent's calls carry their host token instead (AgentRoutes checks it).
        router.add(middleware: AgentAwareAuthMiddleware(other: PrometheusAuthMiddleware(
            sessions: AuthMiddleware(inventory: deps.inventory, clock: deps.clock),
            basic: BasicAuthenticator(inventory: deps.inventory, clock: deps.clock))))
        HealthRoutes().register(on: router)
        AccountRoutes(accounts: AccountService(inventory: deps.inventory), clock: deps.clock, pages: pages).register(on: router)
        InventoryRoutes(inventory: deps.inventory).register(on: router)
        ZWatchRoutes(store: deps.metricStore, clock: deps.clock, defaultPeriod: max(1, deps.collectionInterval / 1000)).register(on: router)
        PrometheusAPI(store: deps.metricStore, engine: PromQLEngine(store: deps.metricStore), clock: deps.clock)
            .addRoutes(to: router)
        let reader = MetricReader(store: deps.metricStore, clock: deps.clock, interval: deps.collectionInterval)
        PageRoutes(inventory: deps.inventory, metrics: reader, pages: pages).register(on: router)
        if let alarms = deps.alarms {
            let notify = deps.testNotifier(alarms)
            AlarmRoutes(store: alarms, clock: deps.clock).register(on: router)
            SNSRoutes(store: alarms, clock: deps.clock, sendTest: notify).register(on: router)
            AlarmPages(store: alarms, metrics: reader, inventory: deps.inventory, pages: pages).register(on: router)
            AlarmEndpointPages(store: alarms, clock: deps.clock, sendTest: notify, pages: pages).register(on: router)
        }
        var services: [any Service] = []
        if let tokens = deps.agentTokens {
            let agentLogger = logger
            let tracker = AgentHostTracker(inventory: deps.inventory, clock: deps.clock, interval: deps.collectionInterval, logger: agentLogger)
            let ingest = (deps.metricStore as? any BulkAppendingStore).map { AgentIngest(store: $0, clock: deps.clock) }
            AgentRoutes(inventory: deps.inventory, tokens: tokens, auth: AgentTokenAuth(tokens: tokens), tracker: tracker,
                        ingest: ingest, clock: deps.clock, interval: deps.collectionInterval).register(on: router)
            services.append(AgentLivenessService(tracker: tracker, tokens: tokens, clock: deps.clock,
                                                 period: max(1000, min(30_000, deps.collectionInterval)), logger: agentLogger))
        }
        return (router, services)
    }

    /// The application listening on `host:port`.
    public static func application(_ deps: WebDependencies, host: String, port: Int, logger: Logger)
        async throws -> some ApplicationProtocol
    {
        let (router, services) = try await build(deps, logger: logger)
        return Application(router: router,
                           configuration: .init(address: .hostname(host, port: port), serverName: "Stratus"),
                           services: services, logger: logger)
    }
}
