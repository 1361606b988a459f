import Foundation

/// One benchmark query: PromQL text and whether it is a range or an instant query.
struct BenchQuery {
    var name: String
    var promql: String
    /// nil for an instant query at `end`.
    var step: Int64?
    var start: Int64
    var end: Int64

    /// The query string (without host) for `/api/v1/query[_range]`; `nocache` for VictoriaMetrics.
    func path(nocache: Bool) -> String {
        var p: String
        if let step {
            p = "/api/v1/query_range?query=\(Tools.encode(promql))&start=\(secs(start))&end=\(secs(end))&step=\(step / 1000)s"
        } else {
            p = "/api/v1/query?query=\(Tools.encode(promql))&time=\(secs(end))"
        }
        if nocache { p += "&nocache=1" }
        return p
    }

    private func secs(_ ms: Int64) -> String { ms % 1000 == 0 ? "\(ms / 1000)" : String(format: "%.3f", Double(ms) / 1000) }

    /// Q1–Q3 of the issue over the fleet's last 24 h (or all of it when shorter).
    static func all(_ fleet: Fleet) -> [BenchQuery] {
        let end = fleet.end
        let span = min(86_400_000, Int64(fleet.points) * fleet.interval) / 3_600_000 * 3_600_000
        let start = end - max(span, 3_600_000)
        let vm = fleet.labels.first { $0.name == "ZStack:VM::CPUAverageUsedUtilization" }?["VMUuid"] ?? "none"
        return [
            BenchQuery(name: "Q1 one VM's CPU avg, 24 h at 5 m", promql: "avg_over_time(ZStack:VM::CPUAverageUsedUtilization{VMUuid=\"\(vm)\"}[5m])",
                       step: 300_000, start: start, end: end),
            BenchQuery(name: "Q2 top-5 VMs by CPU, last hour", promql: "topk(5, avg_over_time(ZStack:VM::CPUAverageUsedUtilization[1h]))",
                       step: nil, start: end, end: end),
            BenchQuery(name: "Q3 per-host NetworkInBytes, 24 h at 1 h", promql: "sum by (HostUuid) (sum_over_time(ZStack:Host::NetworkInBytes[1h]))",
                       step: 3_600_000, start: start, end: end),
        ]
    }
}

/// A query answer reduced to comparable form: label set text → points (time ms, value).
/// `__name__` is left out of the label set: VictoriaMetrics 1.79 keeps it on `*_over_time`
/// results where Prometheus (and Stratus) drop it; the series are the same either way.
struct Answer {
    var series: [String: [(Int64, Double)]] = [:]
    var resultType = ""

    init(json data: Data) throws {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let d = root["data"] as? [String: Any], let result = d["result"] as? [[String: Any]]
        else { throw BenchError("not a Prometheus API answer: \(String(decoding: data.prefix(300), as: UTF8.self))") }
        resultType = d["resultType"] as? String ?? ""
        for r in result {
            var metric = (r["metric"] as? [String: String]) ?? [:]
            metric.removeValue(forKey: "__name__")
            let key = "{" + metric.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
            var pairs: [[Any]] = []
            if let values = r["values"] as? [[Any]] { pairs = values } else if let value = r["value"] as? [Any] { pairs = [value] }
            series[key] = pairs.map { p in
                let t = (p[0] as? NSNumber)?.doubleValue ?? 0
                let v = Double(p[1] as? String ?? "") ?? .nan
                return (Int64((t * 1000).rounded()), v)
            }
        }
    }

    var pointCount: Int { series.values.reduce(0) { $0 + $1.count } }

    /// nil when both hold the same label sets and points (values within `tolerance` relative),
    /// else the first difference in words.
    func difference(from other: Answer, tolerance: Double = 1e-9) -> String? {
        let mine = Set(series.keys), theirs = Set(other.series.keys)
        if let only = mine.subtracting(theirs).sorted().first { return "Stratus has series \(only) that VictoriaMetrics lacks (\(mine.count) vs \(theirs.count) series)" }
        if let only = theirs.subtracting(mine).sorted().first { return "VictoriaMetrics has series \(only) that Stratus lacks (\(mine.count) vs \(theirs.count) series)" }
        for key in mine.sorted() {
            let a = series[key]!, b = other.series[key]!
            let bt = Dictionary(b.map { ($0.0, $0.1) }, uniquingKeysWith: { x, _ in x })
            let at = Dictionary(a.map { ($0.0, $0.1) }, uniquingKeysWith: { x, _ in x })
            for (t, v) in a.sorted(by: { $0.0 < $1.0 }) {
                guard let w = bt[t] else { return "\(key) at \(t): Stratus \(v), VictoriaMetrics has no point" }
                if !(v.isNaN && w.isNaN) && abs(v - w) > tolerance * max(abs(v), abs(w), 1e-300) {
                    return "\(key) at \(t): Stratus \(v), VictoriaMetrics \(w)"
                }
            }
            for (t, w) in b.sorted(by: { $0.0 < $1.0 }) where at[t] == nil {
                return "\(key) at \(t): VictoriaMetrics \(w), Stratus has no point"
            }
        }
        return nil
    }
}

/// Runs `query` `runs` times against `base`, returning the median latency (ms) and the last answer.
func timeQuery(_ query: BenchQuery, base: String, nocache: Bool, runs: Int = 5) async throws -> (Double, Answer) {
    var times: [Double] = []
    var last = Data()
    for _ in 0..<runs {
        let t0 = Tools.now()
        let (status, data) = try await Tools.get(base + query.path(nocache: nocache))
        times.append((Tools.now() - t0) * 1000)
        guard status == 200 else {
            throw BenchError("\(query.name) on \(base) answered \(status): \(String(decoding: data.prefix(400), as: UTF8.self))")
        }
        last = data
    }
    times.sort()
    return (times[times.count / 2], try Answer(json: last))
}
