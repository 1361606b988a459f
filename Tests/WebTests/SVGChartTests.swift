import StratusMetrics
import Testing
@testable import Web

@Suite struct SVGChartTests {
    func points(_ ts: [Int64], _ v: Double = 50) -> [Point] { ts.map { Point(timestamp: $0, value: v) } }

    @Test func aGapLongerThanTwoStepsStartsANewLine() {
        let svg = SVGChart(title: "CPU", unit: .percent, from: 0, to: 100_000, step: 10_000,
                           series: [.init(name: "cpu", points: points([0, 10_000, 20_000, 60_000, 70_000]))]).render()
        let d = svg.components(separatedBy: #" d=""#)[1].prefix { $0 != "\"" }
        #expect(d.filter { $0 == "M" }.count == 2)
        #expect(d.filter { $0 == "L" }.count == 3)
    }

    @Test func percentValuesMapOntoAFixedAxis() {
        let chart = SVGChart(title: "t", unit: .percent, from: 0, to: 10, step: 1, series: [.init(name: "x", points: points([5], 100))])
        #expect(chart.yAxisMax() == 100)
        // 100 % sits on the top edge of the plot area (y = top margin = 28).
        #expect(chart.render().contains(#"d="M"#) && chart.render().contains(" 28.0\""))
    }

    @Test func byteAxisRoundsUp() {
        let chart = SVGChart(title: "t", unit: .bytes, from: 0, to: 10, step: 1, series: [.init(name: "x", points: points([5], 3_000))])
        #expect(chart.yAxisMax() == 5_000)
        #expect(SVGChart.bytes(1536) == "1.5 KiB")
        #expect(SVGChart.bytes(512) == "512 B")
    }

    @Test func textIsEscaped() {
        let svg = SVGChart(title: "<b>&", unit: .plain, from: 0, to: 10, step: 1, series: [.init(name: "\"x\"", points: [])]).render()
        #expect(svg.contains("&lt;b&gt;&amp;"))
        #expect(svg.contains("&quot;x&quot;"))
        #expect(!svg.contains("<b>"))
    }

    @Test func tickIntervalsGiveAtMostEightTicks() {
        for range: Int64 in [900_000, 3_600_000, 21_600_000, 86_400_000, 604_800_000] {
            let tick = SVGChart.tickInterval(range)
            #expect(range / tick <= 8 && range / tick >= 2, "range \(range)")
        }
    }
}

@Suite struct SVGChartPointTests {
    @Test func anIsolatedSampleIsDrawnAsADot() {
        let svg = SVGChart(title: "t", unit: .percent, from: 0, to: 100_000, step: 10_000,
                           series: [.init(name: "x", points: [Point(timestamp: 10_000, value: 50),
                                                              Point(timestamp: 60_000, value: 20), Point(timestamp: 70_000, value: 30)])]).render()
        // The first sample stands alone (next is 5 steps later); the last two form a line.
        #expect(svg.components(separatedBy: "<circle class=\"point").count - 1 == 1)
        #expect(svg.contains(#"cx="121.2""#))
    }
}
