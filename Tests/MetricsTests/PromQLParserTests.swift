import Testing
@testable import StratusMetrics

@Suite struct PromQLParserTests {
    /// The parse error a query raises.
    private func parseError(_ query: String) -> (position: Int, message: String)? {
        do {
            _ = try PromQLParser.parse(query)
            Issue.record("\(query) parsed but should not")
            return nil
        } catch let PromQLError.parse(position, message) {
            return (position, message)
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func unclosedBraceReportsEndOfInput() {
        // `foo{a="b"` is 9 bytes; the error is at its end.
        let e = parseError("foo{a=\"b\"")
        #expect(e?.position == 9)
        #expect(e?.message.contains("inside braces") == true)
        #expect(parseError("foo{a=")?.position == 6)
    }

    @Test func unknownFunctionReportsItsName() {
        let e = parseError("1 + foo_bar(x)")
        #expect(e?.position == 4)
        #expect(e?.message.contains("foo_bar") == true)
    }

    @Test func badDurationsReportTheDuration() {
        // `rate(x[` is 7 bytes; the duration starts at offset 7.
        #expect(parseError("rate(x[5x])")?.position == 7)
        #expect(parseError("x[1m30h]")?.position == 2)  // units out of order
        #expect(parseError("x[]")?.position == 2)
        #expect(parseError("x[0s]")?.position == 2)
        #expect(parseError("x offset 5q")?.position == 9)
        #expect(parseError("x[5m:1m]")?.message.contains("subqueries") == true)
    }

    @Test func typeErrors() {
        #expect(parseError("rate(x)")?.message.contains("range vector") == true)
        #expect(parseError("sum(x[5m])")?.message.contains("instant vector") == true)
        #expect(parseError("topk(x, y)")?.message.contains("scalar") == true)
        #expect(parseError("x[5m] + 1")?.position == 6)
        #expect(parseError("1 > 2")?.position == 2)  // scalar comparison needs bool
        #expect(parseError("x + bool y")?.message.contains("comparison") == true)
        #expect(parseError("abs(x, y)")?.message.contains("argument") == true)
        #expect(parseError("sum(x, y)")?.message.contains("arguments") == true)
        #expect(parseError("(x)[5m]")?.position == 3)
    }

    @Test func selectorErrors() {
        #expect(parseError("{}")?.position == 0)
        #expect(parseError("{a=\"\"}")?.message.contains("non-empty") == true)
        #expect(parseError("x{a=~\"(\"}")?.position == 5)  // the regex does not compile
        #expect(parseError("x{__name__=\"y\"}")?.message.contains("twice") == true)
        #expect(parseError("x{a=b}")?.position == 4)
        #expect(parseError("x{a==\"b\"}")?.position == 3)
        #expect(parseError("\"open")?.position == 0)
        #expect(parseError("x y")?.position == 2)
        #expect(parseError("sum(x")?.position == 5)
        #expect(parseError("x offset 1m offset 2m")?.position == 12)
        #expect(parseError("x @ 100")?.position == 2)
        #expect(parseError("5x")?.position == 0)
    }

    @Test func selectorMatchers() throws {
        let m = try PromQLEngine.parseSelector(
            "ZStack:VM::CPUUsedUtilization{VMUuid=\"a\", b!=\"c\", d=~\"e.*\", f!~'g',}")
        #expect(m.map(\.name) == ["__name__", "VMUuid", "b", "d", "f"])
        #expect(m.map(\.op) == [.equal, .equal, .notEqual, .regex, .notRegex])
        #expect(m.map(\.value) == ["ZStack:VM::CPUUsedUtilization", "a", "c", "e.*", "g"])
        let byName = try PromQLEngine.parseSelector("{__name__=~\"cpu|mem\"}")
        #expect(byName.count == 1 && byName[0].op == .regex && byName[0].value == "cpu|mem")
        #expect(throws: PromQLError.self) { try PromQLEngine.parseSelector("sum(x)") }
        #expect(throws: PromQLError.self) { try PromQLEngine.parseSelector("x{") }
    }

    @Test func stringEscapes() throws {
        let m = try PromQLEngine.parseSelector(#"x{a="q\"\n\u00e9\x41\101\\", b=`\d+`, c='it\'s'}"#)
        #expect(m[1].value == "q\"\n\u{e9}AA\\")
        #expect(m[2].value == #"\d+"#)
        #expect(m[3].value == "it's")
        #expect(parseError(#"x{a="\q"}"#)?.position == 5)
    }

    @Test func durations() {
        #expect(PromQLLexer.parseDuration("1h30m") == 5_400_000)
        #expect(PromQLLexer.parseDuration("100ms") == 100)
        #expect(PromQLLexer.parseDuration("90s") == 90_000)
        #expect(PromQLLexer.parseDuration("1y2w3d") == Int64(365 + 14 + 3) * 86_400_000)
        #expect(PromQLLexer.parseDuration("1m1m") == nil)
        #expect(PromQLLexer.parseDuration("1ms1s") == nil)
        #expect(PromQLLexer.parseDuration("m") == nil)
        #expect(PromQLLexer.parseDuration("5") == nil)
    }

    @Test func numbersAndPrecedence() async throws {
        let engine = PromQLEngine(store: MemoryMetricStore())
        let cases: [(String, Double)] = [
            ("1e3", 1000), ("1.5E-1", 0.15), ("0x1f", 31), (".5", 0.5), ("Inf", .infinity), ("-inf", -.infinity),
            ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("7 - 2 - 1", 4), ("8 / 2 / 2", 2), ("2 ^ 3 ^ 2", 512),
            ("-2 ^ 2", -4), ("2 ^ -1", 0.5), ("10 % 3", 1), ("-7 % 3", -1), ("1 + 2 > bool 2", 1),
            ("1 == bool 2", 0), ("2 * 3 ^ 2", 18), ("# comment\n 4 # trailing", 4), ("- - 3", 3),
        ]
        for (q, expected) in cases {
            let v = pqScalar(try await engine.instantQuery(q, at: 0))
            #expect(pqClose(v, expected), "\(q) = \(v ?? .nan), expected \(expected)")
        }
        #expect(pqScalar(try await engine.instantQuery("NaN", at: 0))?.isNaN == true)
    }

    @Test func aggregationGroupingFormsParseAlike() throws {
        for q in ["sum by (a, b) (x)", "sum(x) by (a, b)", "sum by (a,b,) (x)"] {
            guard case let .aggregate(op, _, _, grouping) = try PromQLParser.parse(q) else {
                Issue.record("\(q) is not an aggregation")
                continue
            }
            #expect(op == .sum)
            #expect(grouping == Grouping(without: false, labels: ["a", "b"]))
        }
    }
}
