import Control
import Hummingbird
import Logging
import StratusMetrics

/// Everything the web layer reads from: the other modules' public APIs, and the clock.
public struct WebDependencies: Sendable {
    public var inventory: any InventoryStore
    public var metricStore: any MetricStore
    public var clock: any WallClock
    /// The collection interval in ms (the default ZWatch period and chart resolution).
    public var collectionInterval: Int64

    public init(inventory: any InventoryStore, metricStore: any MetricStore, clock: any WallClock, collectionInterval: Int64) {
        self.inventory = inventory
        self.metricStore = metricStore
        self.clock = clock
        self.collectionInterval = collectionInterval
    }
}

/// Builds the HTTP application: JSON API under `/zstack/v1`, the Prometheus API under `/api/v1`,
/// the dashboard pages, `/healthz`.
public enum StratusWeb {
    public static func router(_ deps: WebDependencies) async throws -> Router<StratusRequestContext> {
        let pages = try await PageRenderer.load()
        let router = Router(context: StratusRequestContext.self)
        router.add(middleware: APIErrorMiddleware())
        // Sessions everywhere; on /api/v1 also HTTP Basic (Grafana, promtool).
        router.add(middleware: PrometheusAuthMiddleware(
            sessions: AuthMiddleware(inventory: deps.inventory, clock: deps.clock),
            basic: BasicAuthenticator(inventory: deps.inventory, clock: deps.clock)))
        HealthRoutes().register(on: router)
        AccountRoutes(accounts: AccountService(inventory: deps.inventory), clock: deps.clock, pages: pages).register(on: router)
        InventoryRoutes(inventory: deps.inventory).register(on: router)
        ZWatchRoutes(store: deps.metricStore, clock: deps.clock, defaultPeriod: max(1, deps.collectionInterval / 1000)).register(on: router)
        PrometheusAPI(store: deps.metricStore, engine: PromQLEngine(store: deps.metricStore), clock: deps.clock)
            .addRoutes(to: router)
        let reader = MetricReader(store: deps.metricStore, clock: deps.clock, interval: deps.collectionInterval)
        PageRoutes(inventory: deps.inventory, metrics: reader, pages: pages).register(on: router)
        return router
    }

    /// The application listening on `host:port`.
    public static func application(_ deps: WebDependencies, host: String, port: Int, logger: Logger)
        async throws -> some ApplicationProtocol
    {
        Application(router: try await router(deps),
                    configuration: .init(address: .hostname(host, port: port), serverName: "Stratus"),
                    logger: logger)
    }
}
