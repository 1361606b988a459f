import Foundation
import StratusMetrics

/// A line chart rendered on the server as an SVG string: time on x, value on y, one path per series,
/// gaps where samples are missing, a legend with each series' latest value.
///
/// ```swift
/// let svg = SVGChart(title: "CPU", unit: .percent, from: t0, to: t1, step: 10_000,
///                    series: [.init(name: "all vCPUs", points: points)]).render()
/// ```
public struct SVGChart: Sendable {
    public enum Unit: Sendable { case percent, bytes, plain }

    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        public init(name: String, points: [Point]) {
            self.name = name
            self.points = points
        }
    }

    public var title: String
    public var unit: Unit
    public var from: Int64
    public var to: Int64
    /// The sample spacing; a gap of more than twice this breaks the line.
    public var step: Int64
    public var series: [Series]
    public var width = 720
    public var height = 240
    /// What the chart says when no series has a point in the range.
    public var emptyText = "No samples in this range yet: they arrive every collection interval."

    static let palette = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"]
    let left = 56.0, right = 12.0, top = 28.0, bottom = 44.0

    public init(title: String, unit: Unit, from: Int64, to: Int64, step: Int64, series: [Series], emptyText: String? = nil) {
        if let emptyText { self.emptyText = emptyText }
        self.title = title
        self.unit = unit
        self.from = from
        self.to = max(to, from + 1)
        self.step = max(step, 1)
        self.series = series
    }

    public func render() -> String {
        let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
        let yMax = yAxisMax()
        func x(_ t: Int64) -> Double { left + Double(t - from) / Double(to - from) * plotW }
        func y(_ v: Double) -> Double { top + plotH - min(max(v / yMax, 0), 1) * plotH }

        var svg = """
        <svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(width) \(height)" width="\(width)" height="\(height)" role="img" aria-label="\(Self.escape(title))">
        <text x="\(left)" y="18" class="chart-title" font-size="14" font-weight="600" fill="#111827">\(Self.escape(title))</text>

        """
        // Horizontal grid and y labels.
        for i in 0...4 {
            let v = yMax * Double(i) / 4, yy = y(v)
            svg += "<line x1=\"\(left)\" y1=\(q(yy)) x2=\"\(Double(width) - right)\" y2=\(q(yy)) stroke=\"#e5e7eb\"/>"
            svg += "<text x=\"\(left - 6)\" y=\(q(yy + 4)) font-size=\"11\" text-anchor=\"end\" fill=\"#6b7280\">\(Self.escape(format(v)))</text>\n"
        }
        // Time ticks.
        let tick = Self.tickInterval(to - from)
        var t = (from / tick + 1) * tick
        while t < to {
            let xx = x(t)
            svg += "<line x1=\(q(xx)) y1=\"\(top)\" x2=\(q(xx)) y2=\"\(top + plotH)\" stroke=\"#f3f4f6\"/>"
            svg += "<text x=\(q(xx)) y=\"\(top + plotH + 16)\" font-size=\"11\" text-anchor=\"middle\" fill=\"#6b7280\">\(Self.timeLabel(t, range: to - from))</text>\n"
            t += tick
        }
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\(q(plotW)) height=\(q(plotH)) fill=\"none\" stroke=\"#d1d5db\"/>\n"

        let drawn = series.filter { !$0.points.isEmpty }
        if drawn.isEmpty {
            svg += "<text x=\(q(left + plotW / 2)) y=\(q(top + plotH / 2)) class=\"no-data\" font-size=\"13\" text-anchor=\"middle\" fill=\"#6b7280\">\(Self.escape(emptyText))</text>\n"
        }
        for (i, s) in series.enumerated() where !s.points.isEmpty {
            let color = Self.palette[i % Self.palette.count]
            var d = "", last: Int64?
            // Points with no neighbour within two steps would draw nothing as a path: mark them as dots.
            var segment: [(Double, Double)] = [], dots: [(Double, Double)] = []
            for p in s.points where p.value.isFinite && p.timestamp >= from && p.timestamp <= to {
                let starts = last == nil || p.timestamp - last! > 2 * step
                if starts {
                    if segment.count == 1 { dots += segment }
                    segment = []
                }
                let xy = (x(p.timestamp), y(p.value))
                segment.append(xy)
                d += "\(starts ? "M" : "L")\(Self.fmt(xy.0)) \(Self.fmt(xy.1)) "
                last = p.timestamp
            }
            if segment.count == 1 { dots += segment }
            svg += "<path class=\"series series-\(i)\" d=\"\(d.trimmingCharacters(in: .whitespaces))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\" stroke-linejoin=\"round\"><title>\(Self.escape(s.name))</title></path>\n"
            for (cx, cy) in dots {
                svg += "<circle class=\"point series-\(i)\" cx=\"\(Self.fmt(cx))\" cy=\"\(Self.fmt(cy))\" r=\"2.5\" fill=\"\(color)\"/>\n"
            }
        }
        // Legend with the latest value of each series.
        var lx = left
        for (i, s) in series.enumerated().prefix(8) {
            let color = Self.palette[i % Self.palette.count]
            let latest = s.points.last.map { format($0.value) } ?? "–"
            let label = "\(s.name): \(latest)"
            svg += "<rect x=\(q(lx)) y=\"\(Double(height) - 14)\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            svg += "<text x=\(q(lx + 14)) y=\"\(Double(height) - 5)\" font-size=\"11\" fill=\"#374151\" class=\"legend\">\(Self.escape(label))</text>\n"
            lx += 24 + Double(label.count) * 6.2
        }
        return svg + "</svg>"
    }

    /// The top of the y axis: 100 for percentages, else the data's maximum rounded up to a nice number.
    func yAxisMax() -> Double {
        if unit == .percent { return 100 }
        let maxV = series.flatMap(\.points).map(\.value).filter(\.isFinite).max() ?? 0
        guard maxV > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(maxV)))
        for m in [1.0, 2, 2.5, 5, 10] where m * magnitude >= maxV { return m * magnitude }
        return 10 * magnitude
    }

    func format(_ v: Double) -> String {
        switch unit {
        case .percent: return String(format: "%.1f%%", v)
        case .bytes: return Self.bytes(v)
        case .plain: return v == v.rounded() ? String(Int64(v)) : String(format: "%.2f", v)
        }
    }

    static func bytes(_ v: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var x = v, i = 0
        while abs(x) >= 1024, i < units.count - 1 {
            x /= 1024
            i += 1
        }
        return i == 0 ? "\(Int64(x)) B" : String(format: "%.1f %@", x, units[i])
    }

    /// A tick spacing giving 4 to 8 ticks over the range.
    static func tickInterval(_ range: Int64) -> Int64 {
        let minute: Int64 = 60_000
        for c in [minute, 2 * minute, 5 * minute, 10 * minute, 15 * minute, 30 * minute, 60 * minute,
                  120 * minute, 180 * minute, 360 * minute, 720 * minute, 1440 * minute] where range / c <= 8 {
            return c
        }
        return 1440 * minute * max(1, range / (1440 * minute * 8))
    }

    static func timeLabel(_ t: Int64, range: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(t) / 1000)
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.month, .day, .hour, .minute], from: date)
        let hm = String(format: "%02d:%02d", c.hour!, c.minute!)
        return range > 36 * 3600_000 ? String(format: "%02d-%02d ", c.month!, c.day!) + hm : hm
    }

    static func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
    private func q(_ v: Double) -> String { "\"\(Self.fmt(v))\"" }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
