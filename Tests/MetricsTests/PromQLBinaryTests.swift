import Testing
@testable import StratusMetrics

@Suite struct PromQLBinaryTests {
    private func engine() async throws -> PromQLEngine {
        PromQLEngine(store: try await pqStore([
            (["__name__": "used", "host": "h1", "dev": "a"], [(0, 30)]),
            (["__name__": "used", "host": "h2", "dev": "a"], [(0, 0)]),
            (["__name__": "total", "host": "h1", "dev": "a"], [(0, 120)]),
            (["__name__": "total", "host": "h2", "dev": "a"], [(0, 0)]),
            (["__name__": "total", "host": "h3", "dev": "a"], [(0, 50)]),
            (["__name__": "cap", "host": "h1"], [(0, 200)]),
        ]))
    }

    @Test func vectorScalarArithmeticDropsTheName() async throws {
        let e = try await engine()
        pqExpect(try await e.instantQuery("used * 2 + 1", at: 0), [("{dev=\"a\",host=\"h1\"}", 61), ("{dev=\"a\",host=\"h2\"}", 1)])
        pqExpect(try await e.instantQuery("100 - used", at: 0), [("{dev=\"a\",host=\"h1\"}", 70), ("{dev=\"a\",host=\"h2\"}", 100)])
        pqExpect(try await e.instantQuery("used % 7", at: 0), [("{dev=\"a\",host=\"h1\"}", 2), ("{dev=\"a\",host=\"h2\"}", 0)])
        pqExpect(try await e.instantQuery("used ^ 0.5", at: 0).self, [("{dev=\"a\",host=\"h1\"}", 30.0.squareRoot()), ("{dev=\"a\",host=\"h2\"}", 0)])
        pqExpect(try await e.instantQuery("-used", at: 0), [("{dev=\"a\",host=\"h1\"}", -30), ("{dev=\"a\",host=\"h2\"}", -0.0)])
    }

    @Test func comparisonsFilterOrReturnBool() async throws {
        let e = try await engine()
        pqExpect(try await e.instantQuery("used > 10", at: 0), [("{__name__=\"used\",dev=\"a\",host=\"h1\"}", 30)])
        // Scalar on the left: the vector's value is kept.
        pqExpect(try await e.instantQuery("10 < used", at: 0), [("{__name__=\"used\",dev=\"a\",host=\"h1\"}", 30)])
        pqExpect(try await e.instantQuery("used == 0", at: 0), [("{__name__=\"used\",dev=\"a\",host=\"h2\"}", 0)])
        pqExpect(try await e.instantQuery("used != 0", at: 0), [("{__name__=\"used\",dev=\"a\",host=\"h1\"}", 30)])
        pqExpect(try await e.instantQuery("used >= 30", at: 0), [("{__name__=\"used\",dev=\"a\",host=\"h1\"}", 30)])
        pqExpect(try await e.instantQuery("used <= 30", at: 0), [
            ("{__name__=\"used\",dev=\"a\",host=\"h1\"}", 30), ("{__name__=\"used\",dev=\"a\",host=\"h2\"}", 0),
        ])
        pqExpect(try await e.instantQuery("used > bool 10", at: 0), [("{dev=\"a\",host=\"h1\"}", 1), ("{dev=\"a\",host=\"h2\"}", 0)])
    }

    @Test func vectorVectorOneToOne() async throws {
        let e = try await engine()
        // h3 has no `used`: no result. h2 is 0/0 = NaN.
        pqExpect(try await e.instantQuery("used / total * 100", at: 0), [("{dev=\"a\",host=\"h1\"}", 25), ("{dev=\"a\",host=\"h2\"}", .nan)])
        // A filtering comparison keeps the left side's labels and value.
        pqExpect(try await e.instantQuery("total > used", at: 0), [("{__name__=\"total\",dev=\"a\",host=\"h1\"}", 120)])
        pqExpect(try await e.instantQuery("total > bool used", at: 0), [("{dev=\"a\",host=\"h1\"}", 1), ("{dev=\"a\",host=\"h2\"}", 0)])
        // on(host): result keeps only the matching labels.
        pqExpect(try await e.instantQuery("cap - on(host) used", at: 0), [("{host=\"h1\"}", 170)])
        pqExpect(try await e.instantQuery("used + ignoring(dev) cap", at: 0), [("{host=\"h1\"}", 230)])
        // Without on/ignoring, `cap` (no dev label) matches nothing.
        pqExpect(try await e.instantQuery("used + cap", at: 0), [])
    }

    @Test func manyToManyIsAnError() async throws {
        let e = try await engine()
        // Two `total` series share dev="a" on the right.
        await #expect(throws: PromQLError.self) { try await e.instantQuery("cap + on(dev) total", at: 0) }
        // Two `used` series on the left match the single `cap` by on(dev)? cap has no dev: both
        // lefts have signature {dev="a"}, the right side {} - no match, so no error and no result.
        pqExpect(try await e.instantQuery("used + on(dev) cap", at: 0), [])
        await #expect(throws: PromQLError.self) { try await e.instantQuery("used + on() cap", at: 0) }
    }

    @Test func nanAndInfinityInArithmetic() async throws {
        let e = PromQLEngine(store: MemoryMetricStore())
        let cases: [(String, Double)] = [
            ("1 / 0", .infinity), ("-1 / 0", -.infinity), ("0 / 0", .nan), ("Inf - Inf", .nan), ("Inf * 0", .nan),
            ("Inf + 1", .infinity), ("NaN + 1", .nan), ("5 % 0", .nan), ("NaN ^ 0", 1), ("Inf > bool 1e308", 1),
            ("NaN == bool NaN", 0), ("NaN != bool NaN", 1), ("-Inf < bool Inf", 1),
        ]
        for (q, expected) in cases {
            let v = pqScalar(try await e.instantQuery(q, at: 0))
            #expect(pqClose(v, expected), "\(q) = \(v ?? 0), expected \(expected)")
        }
        let store = try await pqStore([(["__name__": "x"], [(0, .nan)]), (["__name__": "y"], [(0, .infinity)])])
        let e2 = PromQLEngine(store: store)
        pqExpect(try await e2.instantQuery("x == NaN", at: 0), [])  // NaN equals nothing
        pqExpect(try await e2.instantQuery("y > 1", at: 0), [("{__name__=\"y\"}", .infinity)])
        pqExpect(try await e2.instantQuery("y - y", at: 0), [("{}", .nan)])
    }
}
