import Foundation
import Hummingbird
import StratusMetrics

/// `POST /zstack/v1/zwatch/metrics`: ZStack's PutMetricData for custom metrics.
///
/// Body: `{"params":{"namespace":"MyApp/Orders","data":[{"metricName":"Latency","value":12.5,
/// "time":1732170000,"labels":{"Shop":"a"}}]}}` (`time` in seconds, default now). One invalid
/// datum refuses the whole request with 400 naming `data[i].field`; samples the store refuses
/// (too old for the out-of-order window, past retention, series limit) are listed in the reply.
struct ZWatchPutRoute {
    let store: any MetricStore
    let clock: any WallClock
    var rules = ZWatchCustomMetricRules()

    struct Body: Decodable {
        struct Params: Decodable {
            var namespace: String
            var data: [Datum]
        }
        struct Datum: Decodable {
            var metricName: String
            var value: Double
            var time: Double?
            var labels: [String: String]?
        }
        var params: Params
    }

    struct Rejection: Encodable {
        var index: Int
        var reason: String
        var message: String
    }

    struct Reply: Encodable {
        var accepted: Int
        var rejected: [Rejection]
    }

    func register(on router: Router<StratusRequestContext>) {
        router.post("/zstack/v1/zwatch/metrics") { request, _ in
            let body = try await JSONResponse.decode(Body.self, from: request, what: "the PutMetricData body")
            let now = clock.now()
            let data = try body.params.data.enumerated().map { i, d in
                var ms = now
                if let t = d.time {
                    guard t.isFinite, t >= 0, t < 1e15 else { throw APIError.badArgument("data[\(i)].time", "use seconds since the epoch") }
                    ms = Int64((t * 1000).rounded())
                }
                return ZWatchDatum(metricName: d.metricName, value: d.value, time: ms, labels: d.labels ?? [:])
            }
            let samples = try rules.samples(namespace: body.params.namespace, data: data, now: now)
            let report = try await store.write(samples)
            // Map each refused sample back to the index of the datum that produced it.
            var indexOf: [String: [Int]] = [:]
            for (i, s) in samples.enumerated() { indexOf["\(s.labels)@\(s.timestamp)", default: []].append(i) }
            let rejected = report.rejected.map { r in
                let key = "\(r.sample.labels)@\(r.sample.timestamp)"
                let i = indexOf[key]?.first ?? -1
                if indexOf[key]?.isEmpty == false { indexOf[key]!.removeFirst() }
                return Rejection(index: i, reason: r.reason.rawValue, message: r.message)
            }.sorted { $0.index < $1.index }
            return try JSONResponse.make(Reply(accepted: report.accepted, rejected: rejected))
        }
    }
}
