import Foundation
import Hummingbird
import StratusMetrics

/// ZStack's ZWatch API: `GET /zstack/v1/zwatch/metrics` (GetMetricData), `POST` of the same path
/// (PutMetricData), `…/meta-data` (GetAllMetricMetadata) and `…/label-values` (GetMetricLabelValue).
/// Times in the API are seconds (ZStack's unit); inside Stratus they are milliseconds.
struct ZWatchRoutes {
    let store: any MetricStore
    let clock: any WallClock
    /// Default `period` in seconds when the caller gives none: the collection interval.
    let defaultPeriod: Int64

    struct DataPoint: Encodable {
        var value: Double
        var time: Int64
        var labels: [String: String]
    }

    struct Reply: Encodable { var data: [DataPoint] }

    func register(on router: Router<StratusRequestContext>) {
        router.get("/zstack/v1/zwatch/metrics") { request, _ in
            let query = try parse(Self.items(request))
            let points = try await query.run(on: store)
            // JSON has no NaN or ±Inf; such windows (NaN samples) are left out of the reply.
            return try JSONResponse.make(Reply(data: points.filter(\.value.isFinite).map {
                DataPoint(value: $0.value, time: $0.time / 1000, labels: $0.labels)
            }))
        }
        ZWatchPutRoute(store: store, clock: clock).register(on: router)
        ZWatchMetadataRoutes(store: store, clock: clock).register(on: router)
    }

    /// The URL's query items, repeated keys kept in order.
    static func items(_ request: Request) -> [(String, String)] {
        request.uri.queryParameters.map { (String($0.key), String($0.value)) }
    }

    /// Builds the query from URL parameters, answering 400 with the field name on bad input.
    func parse(_ items: [(String, String)]) throws -> ZWatchQuery {
        func one(_ name: String) -> String? { items.last { $0.0 == name }?.1 }
        func seconds(_ name: String) throws -> Int64? {
            guard let text = one(name) else { return nil }
            guard let v = Int64(text), v >= 0 else {
                throw APIError.badArgument(name, "use whole seconds since the epoch (ZStack's unit), e.g. \(clock.now() / 1000)")
            }
            return v
        }
        guard let namespace = one("namespace"), !namespace.isEmpty else {
            throw APIError.badArgument("namespace", "give a namespace such as ZStack/VM or ZStack/Host")
        }
        guard let metricName = one("metricName"), !metricName.isEmpty else {
            throw APIError.badArgument("metricName", "give a metric name such as CPUAllUsedUtilization")
        }
        let matchers = try items.filter { $0.0 == "labels" }.map { try LabelMatcher.parse($0.1) }
        let end = try seconds("endTime") ?? clock.now() / 1000
        let start = try seconds("startTime") ?? end - 3600
        let period: Int64
        if let p = one("period") {
            guard let v = Int64(p), v > 0 else { throw APIError.badArgument("period", "use a whole number of seconds > 0, e.g. 60") }
            period = v
        } else {
            period = defaultPeriod
        }
        guard end >= start else { throw APIError.badArgument("endTime", "endTime must not be before startTime") }
        let conditions = try items.filter { $0.0 == "valueConditions" }.flatMap { item in
            // `value>80&value<90` may also come as one item joined by `&&` or `,`.
            try item.1.replacingOccurrences(of: "&&", with: ",").split(separator: ",").map { try ZWatchValueCondition.parse(String($0)) }
        }
        let functions = try items.filter { $0.0 == "functions" }.map { try ZWatchFunction.parse($0.1) }
        return ZWatchQuery(namespace: namespace, metricName: metricName, matchers: matchers,
                           start: start * 1000, end: end * 1000, period: period * 1000,
                           valueConditions: conditions, functions: functions)
    }
}
