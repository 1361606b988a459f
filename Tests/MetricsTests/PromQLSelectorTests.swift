import Testing
@testable import StratusMetrics

@Suite struct PromQLSelectorTests {
    @Test func lookbackIncludesTheEvaluationTimeAndExcludesFiveMinutesBefore() async throws {
        let store = try await pqStore([(["__name__": "x"], [(1_000_000, 5)])])
        let engine = PromQLEngine(store: store)
        pqExpect(try await engine.instantQuery("x", at: 1_000_000), [("{__name__=\"x\"}", 5)])
        pqExpect(try await engine.instantQuery("x", at: 1_299_999), [("{__name__=\"x\"}", 5)])
        pqExpect(try await engine.instantQuery("x", at: 1_300_000), [])
        pqExpect(try await engine.instantQuery("x", at: 999_999), [])
        let short = PromQLEngine(store: store, lookbackDelta: 60_000)
        pqExpect(try await short.instantQuery("x", at: 1_060_000), [])
        pqExpect(try await short.instantQuery("x", at: 1_059_999), [("{__name__=\"x\"}", 5)])
    }

    @Test func lookbackTakesTheLatestSample() async throws {
        let store = try await pqStore([(["__name__": "x"], [(0, 1), (10_000, 2), (20_000, 3)])])
        pqExpect(try await PromQLEngine(store: store).instantQuery("x", at: 15_000), [("{__name__=\"x\"}", 2)])
    }

    @Test func negativeOffsetLooksAhead() async throws {
        let store = try await pqStore([(["__name__": "x"], [(0, 1), (10_000, 2), (20_000, 3)])])
        pqExpect(try await PromQLEngine(store: store).instantQuery("x offset -10s", at: 5_000), [("{__name__=\"x\"}", 2)])
    }

    @Test func matchers() async throws {
        let store = try await pqStore([
            (["__name__": "x", "a": "1"], [(0, 10)]),
            (["__name__": "x", "a": "2"], [(0, 20)]),
            (["__name__": "x", "a": "3", "b": "y"], [(0, 30)]),
            (["__name__": "z", "a": "1"], [(0, 40)]),
        ])
        let engine = PromQLEngine(store: store)
        func values(_ q: String) async throws -> [Double] { pqVector(try await engine.instantQuery(q, at: 0)).map(\.1) }
        #expect(try await values("x{a=\"1\"}") == [10])
        #expect(try await values("x{a!=\"1\"}") == [20, 30])
        #expect(try await values("x{a=~\"1|2\"}") == [10, 20])
        #expect(try await values("x{a=~\"1|2\",}") == [10, 20])
        #expect(try await values("x{a!~\"1|2\"}") == [30])
        #expect(try await values("x{a=~\"[23]\", a!=\"3\"}") == [20])
        #expect(try await values("x{a=~\"1.\"}") == [])  // anchored: "1" does not match "1."
        #expect(try await values("x{b=\"\"}") == [10, 20])  // a missing label is the empty string
        #expect(try await values("x{b!=\"\"}") == [30])
        #expect(try await values("{a=\"1\"}") == [10, 40])
        #expect(try await values("{__name__=~\"x|z\", a=\"1\"}") == [10, 40])
        #expect(try await values("{__name__!~\"x\", a=~\".+\"}") == [40])
    }
}
