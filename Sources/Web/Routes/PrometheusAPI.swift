import Hummingbird
import StratusMetrics

/// The Prometheus HTTP API (`/api/v1/…`) over a metric store, for Grafana, promtool and scripts:
/// `query`, `query_range` (GET or form POST), `series`, `labels`, `label/<name>/values`,
/// `metadata` and `query_exemplars` (empty: Grafana asks), `status/buildinfo`, `status/tsdb`. Replies and errors are shaped exactly as
/// Prometheus' (`{"status":"success","data":…}`, `{"status":"error","errorType":…,"error":…}`).
///
/// The routes carry no authentication; mount them behind a middleware that checks it (as
/// `StratusWeb.router` does), or bare in a benchmark:
///
/// ```swift
/// let router = Router()
/// PrometheusAPI(store: store, engine: PromQLEngine(store: store)).addRoutes(to: router)
/// ```
public struct PrometheusAPI: Sendable {
    /// Prometheus' limit on points per series in a range query.
    public static let maxPointsPerSeries: Int64 = 11_000
    /// The Prometheus version whose API this one follows (reported by `status/buildinfo`).
    public static let compatibleVersion = "2.45.0"

    let store: any MetricStore
    let engine: PromQLEngine
    let clock: any WallClock

    public init(store: any MetricStore, engine: PromQLEngine) {
        self.init(store: store, engine: engine, clock: SystemWallClock())
    }

    /// `clock` supplies "now" for calls that give no time.
    public init(store: any MetricStore, engine: PromQLEngine, clock: any WallClock) {
        self.store = store
        self.engine = engine
        self.clock = clock
    }

    /// Mounts every `/api/v1/…` route on `router`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        route(router, "/api/v1/query", post: true) { try await query($0) }
        route(router, "/api/v1/query_range", post: true) { try await queryRange($0) }
        route(router, "/api/v1/series", post: true) { try await series($0) }
        route(router, "/api/v1/labels", post: true) { try await labelNames($0) }
        // Grafana asks for these; Stratus keeps no metric metadata or exemplars.
        route(router, "/api/v1/metadata") { _ in "{}" }
        route(router, "/api/v1/query_exemplars", post: true) { _ in "[]" }
        route(router, "/api/v1/status/buildinfo") { _ in buildInfo() }
        route(router, "/api/v1/status/tsdb") { _ in try await tsdbStatus() }
        let values: @Sendable (Request, Context) async throws -> Response = { request, context in
            await respond {
                let name = context.parameters.get("name") ?? ""
                return try await labelValues(name, try await PrometheusParams.from(request))
            }
        }
        router.get("/api/v1/label/:name/values", use: values)
    }

    private func route<Context: RequestContext>(
        _ router: Router<Context>, _ path: RouterPath, post: Bool = false,
        _ body: @escaping @Sendable (PrometheusParams) async throws -> String
    ) {
        let handler: @Sendable (Request, Context) async throws -> Response = { request, _ in
            await respond { try await body(try await PrometheusParams.from(request)) }
        }
        router.get(path, use: handler)
        if post { router.post(path, use: handler) }
    }

    /// Runs `body` and wraps its data in a success reply, or renders its error Prometheus' way.
    private func respond(_ body: () async throws -> String) async -> Response {
        do {
            return PrometheusJSON.success(try await body())
        } catch {
            return PrometheusError.from(error).response
        }
    }

    // MARK: Queries

    func query(_ p: PrometheusParams) async throws -> String {
        let expr = try required(p, "query")
        let t = try p.time("time", default: clock.now())
        return PrometheusJSON.result(try await engine.instantQuery(expr, at: t))
    }

    func queryRange(_ p: PrometheusParams) async throws -> String {
        let expr = try required(p, "query")
        let start = try p.time("start", default: Int64.min)
        let end = try p.time("end", default: Int64.min)
        guard start != Int64.min else { throw PrometheusError.badData("invalid parameter \"start\": give a unix time or RFC3339 time") }
        guard end != Int64.min else { throw PrometheusError.badData("invalid parameter \"end\": give a unix time or RFC3339 time") }
        guard end >= start else { throw PrometheusError.badData("invalid parameter \"end\": end timestamp must not be before start time") }
        let stepText = try required(p, "step")
        guard let step = PrometheusParams.parseDuration(stepText) else {
            throw PrometheusError.badData("invalid parameter \"step\": cannot parse \"\(stepText)\" to a valid duration; use seconds (15) or a duration (5m)")
        }
        guard step > 0 else {
            throw PrometheusError.badData("zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        guard (end - start) / step <= Self.maxPointsPerSeries else {
            throw PrometheusError.badData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
        return PrometheusJSON.result(try await engine.rangeQuery(expr, start: start, end: end, step: step))
    }

    // MARK: Metadata

    func series(_ p: PrometheusParams) async throws -> String {
        let sets = try matchSets(p)
        guard !sets.isEmpty else { throw PrometheusError.badData("no match[] parameter provided") }
        let (start, end) = try range(p)
        var seen = Set<Labels>()
        for matchers in sets {
            for s in try await store.select(matchers, from: start, to: end) { seen.insert(s.labels) }
        }
        return "[" + seen.sorted().map(PrometheusJSON.labels).joined(separator: ",") + "]"
    }

    func labelNames(_ p: PrometheusParams) async throws -> String {
        let sets = try matchSets(p)
        var names = Set<String>()
        if sets.isEmpty {
            names.formUnion(try await store.stats().labelValueCountByLabelName.filter { $0.value > 0 }.keys)
        } else {
            let (start, end) = try range(p)
            for matchers in sets {
                for s in try await store.select(matchers, from: start, to: end) { names.formUnion(s.labels.pairs.map(\.name)) }
            }
        }
        return PrometheusJSON.strings(names.sorted())
    }

    /// Values of `name`; with `match[]`, only over the matching series (any time: the store's
    /// value index has no time dimension).
    func labelValues(_ name: String, _ p: PrometheusParams) async throws -> String {
        guard name == Labels.nameKey || SampleValidator.isValidLabelName(name) else {
            throw PrometheusError.badData("invalid label name: \"\(name)\"")
        }
        let sets = try matchSets(p)
        var values = Set<String>()
        for matchers in sets.isEmpty ? [[]] : sets {
            values.formUnion(try await store.labelValues(name, matchers: matchers))
        }
        return PrometheusJSON.strings(values.sorted())
    }

    func buildInfo() -> String {
        #"{"version":"# + PrometheusJSON.string(Self.compatibleVersion)
            + #","revision":"stratus","branch":"main","buildUser":"stratus","buildDate":"","goVersion":"none (Swift)"}"#
    }

    /// Series counts as Prometheus' TSDB status page shows them (top 10 of each list).
    func tsdbStatus() async throws -> String {
        let stats = try await store.stats()
        func top(_ d: [String: Int]) -> String {
            let sorted = d.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10)
            return "[" + sorted.map { #"{"name":"# + PrometheusJSON.string($0.key) + #","value":\#($0.value)}"# }.joined(separator: ",") + "]"
        }
        let rejected = stats.rejectedSamples.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { PrometheusJSON.string($0.key.rawValue) + ":\($0.value)" }.joined(separator: ",")
        return #"{"headStats":{"numSeries":\#(stats.seriesCount),"numLabelPairs":\#(stats.labelValueCountByLabelName.values.reduce(0, +)),"#
            + #""chunkCount":0,"minTime":0,"maxTime":0},"#
            + #""seriesCountByMetricName":"# + top(stats.seriesCountByMetricName)
            + #","labelValueCountByLabelName":"# + top(stats.labelValueCountByLabelName)
            + #","memoryInBytesByLabelName":[],"seriesCountByLabelValuePair":[],"#
            + #""stratus":{"headSeries":\#(stats.headSeries),"sealedHeadsPending":\#(stats.sealedHeadsPending),"#
            + #""quietWaitsGivenUp":\#(stats.quietWaitsGivenUp),"quietWaitsDeferredToBacklog":\#(stats.quietWaitsDeferredToBacklog),"#
            + #""ingestBehind":\#(stats.ingestBehind),"#
            + #""rejectedSamples":{\#(rejected)}}}"#
    }

    // MARK: Parameters

    private func required(_ p: PrometheusParams, _ name: String) throws -> String {
        guard let v = p.one(name) else { throw PrometheusError.badData("invalid parameter \"\(name)\": missing") }
        return v
    }

    private func matchSets(_ p: PrometheusParams) throws -> [[LabelMatcher]] {
        try p.all("match[]").map { text in
            do {
                return try PromQLEngine.parseSelector(text)
            } catch {
                throw PrometheusError.badData("invalid parameter \"match[]\": \(error)")
            }
        }
    }

    /// `start`/`end` for metadata calls; all time when absent.
    private func range(_ p: PrometheusParams) throws -> (Int64, Int64) {
        let start = max(0, try p.time("start", default: 0))
        let end = try p.time("end", default: Int64.max / 2)
        guard end >= start else { throw PrometheusError.badData("invalid parameter \"end\": end timestamp must not be before start time") }
        return (start, end)
    }
}
