import Hummingbird
import StratusMetrics

/// `GET /zstack/v1/zwatch/metrics/meta-data` (GetAllMetricMetadata) and
/// `GET /zstack/v1/zwatch/metrics/label-values` (GetMetricLabelValue).
struct ZWatchMetadataRoutes {
    let store: any MetricStore
    let clock: any WallClock

    /// ZStack's `MetricStruct`.
    struct MetricInfo: Encodable {
        var namespace: String
        var name: String
        var description: String
        var labelNames: [String]
        /// Where the metric comes from: `catalog` (known, maybe not collected yet), `store` (custom).
        var driver: String
    }

    struct MetadataReply: Encodable { var metrics: [MetricInfo] }
    struct LabelValuesReply: Encodable { var labels: [[String: String]] }

    func register(on router: Router<StratusRequestContext>) {
        router.get("/zstack/v1/zwatch/metrics/meta-data") { request, _ in
            let items = ZWatchRoutes.items(request)
            let namespace = items.last { $0.0 == "namespace" }?.1
            let name = items.last { $0.0 == "name" || $0.0 == "metricName" }?.1
            return try JSONResponse.make(MetadataReply(metrics: try await metadata(namespace: namespace, name: name)))
        }
        router.get("/zstack/v1/zwatch/metrics/label-values") { request, _ in
            let items = ZWatchRoutes.items(request)
            guard let namespace = items.last(where: { $0.0 == "namespace" })?.1, !namespace.isEmpty else {
                throw APIError.badArgument("namespace", "give a namespace such as ZStack/VM")
            }
            guard let metricName = items.last(where: { $0.0 == "metricName" })?.1, !metricName.isEmpty else {
                throw APIError.badArgument("metricName", "give a metric name such as CPUAllUsedUtilization")
            }
            let labelNames = items.filter { $0.0 == "labelNames" }.flatMap { $0.1.split(separator: ",").map(String.init) }
            guard !labelNames.isEmpty else {
                throw APIError.badArgument("labelNames", "give at least one label name, e.g. labelNames=VMUuid")
            }
            for n in labelNames where !SampleValidator.isValidLabelName(n) {
                throw APIError.badArgument("labelNames", "'\(n)' is not a label name ([A-Za-z_][A-Za-z0-9_]*)")
            }
            let filters = try items.filter { $0.0 == "filterLabels" }.map { try LabelMatcher.parse($0.1) }
            let base = filters + [.equal(Labels.nameKey, ZWatchName.seriesName(namespace: namespace, metricName: metricName))]
            return try JSONResponse.make(LabelValuesReply(labels: try await combinations(labelNames, base)))
        }
    }

    /// Known metrics (the catalog) and those in the store, filtered by namespace and name.
    func metadata(namespace: String?, name: String?) async throws -> [MetricInfo] {
        var byKey: [String: MetricInfo] = [:]
        for m in ZWatchCatalog.metrics {
            byKey[m.namespace + "\u{0}" + m.name] = MetricInfo(namespace: m.namespace, name: m.name, description: m.description,
                                                              labelNames: m.labelNames, driver: "catalog")
        }
        let allLabelNames = try await store.stats().labelValueCountByLabelName.keys.filter { $0 != Labels.nameKey }.sorted()
        for series in try await store.labelValues(Labels.nameKey, matchers: []) {
            guard let (ns, metric) = ZWatchName.split(series) else { continue }
            if let namespace, ns != namespace { continue }
            if let name, metric != name { continue }
            let key = ns + "\u{0}" + metric
            // Catalog metrics keep the catalog's labels; only custom ones are probed (one index
            // lookup per label name, which would be costly for every built-in metric at scale).
            guard byKey[key] == nil else { continue }
            var labels: [String] = []
            for l in allLabelNames where try await !store.labelValues(l, matchers: [.equal(Labels.nameKey, series)]).isEmpty {
                labels.append(l)
            }
            byKey[key] = MetricInfo(namespace: ns, name: metric, description: "custom metric", labelNames: labels, driver: "store")
        }
        return byKey.values
            .filter { m in (namespace.map { m.namespace == $0 } ?? true) && (name.map { m.name == $0 } ?? true) }
            .sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }

    /// The distinct combinations of `names` over series matching `base` (series lacking one of
    /// the labels are left out), sorted.
    func combinations(_ names: [String], _ base: [LabelMatcher]) async throws -> [[String: String]] {
        guard let first = names.first else { return [[:]] }
        var result: [[String: String]] = []
        for v in try await store.labelValues(first, matchers: base) {
            for var rest in try await combinations(Array(names.dropFirst()), base + [.equal(first, v)]) {
                rest[first] = v
                result.append(rest)
            }
        }
        return result
    }
}
