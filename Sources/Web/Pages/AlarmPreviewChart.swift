import Alarms
import Foundation
import StratusMetrics

/// The alarm form's preview: the chosen metric over the last hours for the series the labels
/// match (the 7 nearest to breaching), with the threshold drawn as a dashed horizontal line
/// (`path.threshold`).
struct AlarmPreviewChart {
    let metrics: MetricReader
    /// Resource uuid → name (VMs and hosts), for the legend.
    let names: [String: String]

    static let maxSeries = 7

    /// The SVG and a one-line note (how many series match).
    func render(_ form: AlarmForm) async -> (svg: String, note: String) {
        let to = metrics.clock.now()
        let span = form.rangeHours * 3600_000
        let from = to - span
        let step = max(metrics.interval, span / 360)
        let threshold = Double(form.threshold).flatMap { $0.isFinite ? $0 : nil }
        let op = ComparisonOperator(rawValue: form.comparisonOperator) ?? .greaterThanOrEqualTo
        let title = "\(form.namespace) \(form.metricName) \(op.symbol) \(threshold.map { AlarmPageFormat.value($0) } ?? "?")"
        var selected: [SVGChart.Series] = []
        var note: String
        do {
            guard !form.metricName.isEmpty else { throw AlarmValidationError(field: "metricName", reason: "choose a metric to preview") }
            var matchers = [LabelMatcher.equal(Labels.nameKey, ZWatchName.seriesName(namespace: form.namespace, metricName: form.metricName))]
            matchers += try AlarmPageFormat.parseLabels(form.labels).map { l throws(AlarmValidationError) in try l.matcher() }
            let all = try await metrics.store.select(matchers, from: from, to: to)
                .map { SeriesPoints(labels: $0.labels, points: downsample($0.points, step: step, .avg)) }
                .filter { !$0.points.isEmpty }
            // Nearest to breaching first: highest values for > / >=, lowest for < / <=.
            let high = op == .greaterThan || op == .greaterThanOrEqualTo
            let sorted = all.sorted {
                let a = $0.points.last?.value ?? 0, b = $1.points.last?.value ?? 0
                return high ? a > b : a < b
            }
            selected = sorted.prefix(Self.maxSeries).map { SVGChart.Series(name: seriesName($0.labels), points: $0.points) }
            note = all.isEmpty ? "No series of this metric match the labels in the last \(form.rangeHours) h."
                : "\(all.count) series match; showing \(selected.count) nearest to the threshold, \(step / 1000) s averages."
        } catch {
            note = "No preview: \(error)"
        }
        var series = selected
        if let threshold { series.append(.init(name: "threshold", points: [Point(timestamp: from, value: threshold), Point(timestamp: to, value: threshold)])) }
        var chart = SVGChart(title: title, unit: AlarmPageFormat.unit(namespace: form.namespace, metricName: form.metricName),
                             from: from, to: to, step: step, series: series)
        chart.width = 900
        var svg = chart.render()
        if threshold != nil { svg = Self.styleThreshold(svg, index: series.count - 1) }
        if selected.isEmpty, threshold != nil {
            // The threshold line counts as drawn, so the chart would not say it has no data.
            let x = chart.left + (Double(chart.width) - chart.left - chart.right) / 2
            let y = chart.top + (Double(chart.height) - chart.top - chart.bottom) / 2
            svg = svg.replacingOccurrences(of: "</svg>", with: "<text x=\"\(SVGChart.fmt(x))\" y=\"\(SVGChart.fmt(y))\" class=\"no-data\" font-size=\"13\" text-anchor=\"middle\" fill=\"#6b7280\">\(SVGChart.escape(note))</text>\n</svg>")
        }
        return (svg, note)
    }

    /// Turns series `index` (the threshold's two end points, which the chart draws as two lone
    /// dots since they are further apart than two steps) into one dashed line `path.threshold`.
    static func styleThreshold(_ svg: String, index k: Int) -> String {
        let open = "<path class=\"series series-\(k)\" d=\""
        var lines = svg.components(separatedBy: "\n").filter { !$0.hasPrefix("<circle class=\"point series-\(k)\"") }
        for (i, line) in lines.enumerated() {
            guard let start = line.range(of: open), let end = line[start.upperBound...].firstIndex(of: "\"") else { continue }
            let d = String(line[start.upperBound..<end])
            let joined = d.first.map { String($0) + d.dropFirst().replacingOccurrences(of: "M", with: "L") } ?? d
            lines[i] = line.replacingCharacters(in: start.lowerBound..<end,
                                                with: "<path class=\"threshold series-\(k)\" stroke-dasharray=\"6 4\" d=\"" + joined)
        }
        return lines.joined(separator: "\n")
    }

    /// The resource (by name when known) and the device labels of a series.
    func seriesName(_ labels: Labels) -> String {
        let d = labels.dictionary
        let resourceKey = ["VMUuid", "HostUuid"].first { d[$0] != nil } ?? d.keys.sorted().first { $0.hasSuffix("Uuid") }
        var parts: [String] = []
        if let k = resourceKey, let v = d[k] { parts.append(names[v] ?? String(v.prefix(8))) }
        for k in d.keys.sorted() where k != Labels.nameKey && !k.hasSuffix("Uuid") { parts.append("\(k)=\(d[k]!)") }
        return parts.isEmpty ? "series" : parts.joined(separator: " ")
    }
}
