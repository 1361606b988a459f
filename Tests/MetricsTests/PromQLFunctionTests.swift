import Testing
@testable import StratusMetrics

@Suite struct PromQLFunctionTests {
    /// Counter `c` with a reset (20 -> 5), samples at 15, 75, 135, 195, 255 s.
    private func counterStore() async throws -> MemoryMetricStore {
        try await pqStore([(["__name__": "c", "job": "j"], [
            (15_000, 10), (75_000, 20), (135_000, 5), (195_000, 15), (255_000, 25),
        ])])
    }

    @Test func increaseAndRateWithResetExtrapolateToBothEdges() async throws {
        let engine = PromQLEngine(store: try await counterStore())
        // Window (0 s, 300 s]: raw change 25 - 10 = 15, plus 20 lost at the reset = 35.
        // First sample 15 s after the start, last 45 s before the end; average spacing 60 s,
        // threshold 66 s: both gaps are extrapolated fully (zero point 240·10/35 ≈ 68.6 s > 15 s).
        // Extrapolated interval 15 + 240 + 45 = 300 s over a sampled 240 s: 35 · 300/240 = 43.75.
        pqExpect(try await engine.instantQuery("increase(c[5m])", at: 300_000), [("{job=\"j\"}", 43.75)])
        pqExpect(try await engine.instantQuery("rate(c[5m])", at: 300_000), [("{job=\"j\"}", 43.75 / 300)])
    }

    @Test func extrapolationStopsHalfASpacingOutAndAtTheCounterZero() async throws {
        let store = try await pqStore([
            (["__name__": "a"], [(150_000, 4), (210_000, 10), (270_000, 16)]),
            (["__name__": "b"], [(150_000, 1), (210_000, 10), (270_000, 19)]),
            (["__name__": "g"], [(150_000, 10), (210_000, 4), (270_000, 16)]),
        ])
        let engine = PromQLEngine(store: store)
        // a: change 12 over 120 s, spacing 60 s. Start gap 150 s >= 66 s -> 30 s; end gap 30 s.
        // Zero point 120·4/12 = 40 s > 30 s. Interval 180 s: 12 · 180/120 = 18.
        pqExpect(try await engine.instantQuery("increase(a[5m])", at: 300_000), [("{}", 18)])
        // b: change 18; zero point 120·1/18 = 6.67 s < 30 s: interval 120 + 20/3 + 30 s,
        // 18 · (470/3)/120 = 23.5.
        pqExpect(try await engine.instantQuery("increase(b[5m])", at: 300_000), [("{}", 23.5)])
        // g as a gauge: delta 16 - 10 = 6, no reset handling, interval 180 s: 6 · 1.5 = 9.
        pqExpect(try await engine.instantQuery("delta(g[5m])", at: 300_000), [("{}", 9)])
        // As a counter g resets at 4: 6 + 10 = 16; zero point 120·10/16 = 75 s > 30 s: 16 · 1.5 = 24.
        pqExpect(try await engine.instantQuery("increase(g[5m])", at: 300_000), [("{}", 24)])
    }

    @Test func rateNeedsTwoSamples() async throws {
        let engine = PromQLEngine(store: try await counterStore())
        // (0 s, 60 s] holds only the sample at 15 s.
        pqExpect(try await engine.instantQuery("rate(c[1m])", at: 60_000), [])
        pqExpect(try await engine.instantQuery("irate(c[1m])", at: 60_000), [])
    }

    @Test func irateUsesTheLastTwoSamples() async throws {
        let engine = PromQLEngine(store: try await counterStore())
        // 195 s -> 255 s: (25 - 15) / 60 s.
        pqExpect(try await engine.instantQuery("irate(c[5m])", at: 300_000), [("{job=\"j\"}", 10.0 / 60)])
        // 75 s -> 135 s drops 20 -> 5: a reset, so the increase is 5 over 60 s.
        pqExpect(try await engine.instantQuery("irate(c[5m])", at: 140_000), [("{job=\"j\"}", 5.0 / 60)])
        pqExpect(try await engine.instantQuery("idelta(c[5m])", at: 140_000), [("{job=\"j\"}", -15)])
    }

    @Test func rangeQueryOfRateSlidesTheWindow() async throws {
        let engine = PromQLEngine(store: try await counterStore())
        let r = try await engine.rangeQuery("increase(c[2m])", start: 100_000, end: 260_000, step: 80_000)
        guard case let .matrix(series) = r, let s = series.first else { Issue.record("expected a matrix"); return }
        #expect(series.count == 1 && s.labels == Labels(["job": "j"]))
        // t = 100 s, window (-20 s, 100 s]: 15 s (10), 75 s (20): change 10 over 60 s.
        //   start gap 35 s < 66 s; zero point 60·10/10 = 60 s > 35 s; end gap 25 s: 10 · 120/60 = 20.
        // t = 180 s, window (60 s, 180 s]: 75 s (20), 135 s (5): reset, change 5 - 20 + 20 = 5.
        //   start gap 15 s, zero point 60·20/5 = 240 s; end gap 45 s: 5 · 120/60 = 10.
        // t = 260 s, window (140 s, 260 s]: 195 s (15), 255 s (25): change 10; start gap 55 s;
        //   zero point 60·15/10 = 90 s; end gap 5 s: 10 · 120/60 = 20.
        #expect(s.points.map(\.timestamp) == [100_000, 180_000, 260_000])
        for (p, e) in zip(s.points, [20.0, 10, 20]) { #expect(pqClose(p.value, e), "\(p)") }
    }

    @Test func overTimeFunctions() async throws {
        let store = try await pqStore([(["__name__": "g", "i": "1"], [(10_000, 4), (20_000, 2), (30_000, 8), (40_000, 6)])])
        let engine = PromQLEngine(store: store)
        // Window (10 s, 40 s]: 2, 8, 6 (the sample exactly at 10 s is outside).
        let expected: [(String, Double)] = [
            ("avg", 16.0 / 3), ("min", 2), ("max", 8), ("sum", 16), ("count", 3),
        ]
        for (f, v) in expected {
            pqExpect(try await engine.instantQuery("\(f)_over_time(g[30s])", at: 40_000), [("{i=\"1\"}", v)])
        }
        // last_over_time keeps the metric name.
        pqExpect(try await engine.instantQuery("last_over_time(g[30s])", at: 40_000), [("{__name__=\"g\",i=\"1\"}", 6)])
        // Range query: windows (0, 20 s] = 4, 2 and (20 s, 40 s] = 8, 6.
        let r = try await engine.rangeQuery("max_over_time(g[20s])", start: 20_000, end: 40_000, step: 20_000)
        #expect(r == .matrix([SeriesPoints(labels: Labels(["i": "1"]), points: [
            Point(timestamp: 20_000, value: 4), Point(timestamp: 40_000, value: 8),
        ])]))
    }

    @Test func overTimeWithNaN() async throws {
        let store = try await pqStore([(["__name__": "g"], [(10_000, .nan), (20_000, 3), (30_000, 5)])])
        let engine = PromQLEngine(store: store)
        pqExpect(try await engine.instantQuery("min_over_time(g[1m])", at: 30_000), [("{}", 3)])
        pqExpect(try await engine.instantQuery("max_over_time(g[1m])", at: 30_000), [("{}", 5)])
        pqExpect(try await engine.instantQuery("sum_over_time(g[1m])", at: 30_000), [("{}", .nan)])
        pqExpect(try await engine.instantQuery("count_over_time(g[1m])", at: 30_000), [("{}", 3)])
    }

    @Test func offsetShiftsSelectorsAndWindows() async throws {
        let engine = PromQLEngine(store: try await counterStore())
        // At 360 s with offset 1m the window is (0 s, 300 s]: the same as increase(c[5m]) at 300 s.
        pqExpect(try await engine.instantQuery("increase(c[5m] offset 1m)", at: 360_000), [("{job=\"j\"}", 43.75)])
        // Latest sample at or before 140 s - 1 m = 80 s is 75 s (20).
        pqExpect(try await engine.instantQuery("c offset 1m", at: 140_000), [("{__name__=\"c\",job=\"j\"}", 20)])
    }

    @Test func mathAndConversionFunctions() async throws {
        let store = try await pqStore([
            (["__name__": "x", "i": "a"], [(0, -2.5)]),
            (["__name__": "x", "i": "b"], [(0, 4)]),
        ])
        let engine = PromQLEngine(store: store)
        pqExpect(try await engine.instantQuery("abs(x)", at: 0), [("{i=\"a\"}", 2.5), ("{i=\"b\"}", 4)])
        pqExpect(try await engine.instantQuery("ceil(x)", at: 0), [("{i=\"a\"}", -2), ("{i=\"b\"}", 4)])
        pqExpect(try await engine.instantQuery("floor(x)", at: 0), [("{i=\"a\"}", -3), ("{i=\"b\"}", 4)])
        pqExpect(try await engine.instantQuery("sqrt(x{i=\"b\"})", at: 0), [("{i=\"b\"}", 2)])
        #expect(pqScalar(try await engine.instantQuery("time()", at: 90_500)) == 90.5)
        pqExpect(try await engine.instantQuery("vector(2)", at: 0), [("{}", 2)])
        #expect(pqScalar(try await engine.instantQuery("scalar(x{i=\"b\"})", at: 0)) == 4)
        #expect(pqScalar(try await engine.instantQuery("scalar(x)", at: 0))?.isNaN == true)
        #expect(pqScalar(try await engine.instantQuery("scalar(missing)", at: 0))?.isNaN == true)
    }

    @Test func instantRangeSelectorReturnsRawPoints() async throws {
        let engine = PromQLEngine(store: try await counterStore())
        // (75 s, 195 s]: the samples at 135 s and 195 s with their own timestamps.
        let r = try await engine.instantQuery("c[2m]", at: 195_000)
        #expect(r == .matrix([SeriesPoints(labels: Labels(["__name__": "c", "job": "j"]), points: [
            Point(timestamp: 135_000, value: 5), Point(timestamp: 195_000, value: 15),
        ])]))
    }

    @Test func droppingTheNameMayNotCollide() async throws {
        let store = try await pqStore([
            (["__name__": "a", "i": "1"], [(0, 1), (10_000, 2)]),
            (["__name__": "b", "i": "1"], [(0, 1), (10_000, 2)]),
        ])
        await #expect(throws: PromQLError.self) {
            try await PromQLEngine(store: store).instantQuery("rate({i=\"1\"}[1m])", at: 10_000)
        }
    }
}
