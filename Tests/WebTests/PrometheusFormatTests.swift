import Testing
@testable import Web

@Suite struct PrometheusFormatTests {
    @Test(arguments: [
        (12.5, "12.5"), (12.0, "12"), (0, "0"), (-3, "-3"), (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1000000000000000000000"), (-2.5e20, "-250000000000000000000"), (1.5e-5, "0.000015"),
        (1e-7, "0.0000001"), (123456789012345678, "123456789012345680"), (Double.nan, "NaN"),
        (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"),
    ])
    func valuesAsGoFormatsThem(value: Double, text: String) {
        #expect(PrometheusJSON.value(value) == text)
    }

    @Test func timesAreSecondsWithMilliseconds() {
        #expect(PrometheusJSON.time(1_700_000_000_000) == "1700000000")
        #expect(PrometheusJSON.time(1_700_000_000_250) == "1700000000.250")
        #expect(PrometheusJSON.time(5) == "0.005")
        #expect(PrometheusJSON.time(-1_500) == "-1.500")
    }

    @Test func stringsAreEscaped() {
        #expect(PrometheusJSON.string("a\"b\\c\nd\u{1}") == #""a\"b\\c\nd\u0001""#)
    }

    @Test func timesAndDurationsParse() {
        #expect(PrometheusParams.parseTime("1700000000.5") == 1_700_000_000_500)
        #expect(PrometheusParams.parseTime("2023-11-14T22:13:20Z") == 1_700_000_000_000)
        #expect(PrometheusParams.parseTime("2023-11-14T23:13:20.123+01:00") == 1_700_000_000_123)
        #expect(PrometheusParams.parseTime("yesterday") == nil)
        #expect(PrometheusParams.parseDuration("15") == 15_000)
        #expect(PrometheusParams.parseDuration("0.5") == 500)
        #expect(PrometheusParams.parseDuration("5m") == 300_000)
        #expect(PrometheusParams.parseDuration("1h30m") == 5_400_000)
        #expect(PrometheusParams.parseDuration("500ms") == 500)
        #expect(PrometheusParams.parseDuration("1d") == 86_400_000)
        #expect(PrometheusParams.parseDuration("5x") == nil)
        #expect(PrometheusParams.parseDuration("m") == nil)
    }

    @Test func formBodiesDecode() {
        let items = PrometheusParams.decodeForm("query=sum+by+(a)+(m%7Bx%3D%22y%22%7D)&match%5B%5D=up&empty=")
        #expect(items.map(\.0) == ["query", "match[]", "empty"])
        #expect(items.map(\.1) == [#"sum by (a) (m{x="y"})"#, "up", ""])
    }

    /// Escaped `+`, multi-byte UTF-8, a bad escape or bad UTF-8 (kept as sent, `+` still a space),
    /// empty pairs and a name without `=`: as Foundation's `removingPercentEncoding` decoded them.
    @Test func formEdgeCasesDecode() {
        let items = PrometheusParams.decodeForm("a=1%2B1&&b=caf%C3%A9&c=50%+off&d=%FF+x&flag&e=%4&=v&")
        #expect(items.map(\.0) == ["a", "b", "c", "d", "flag", "e", ""])
        #expect(items.map(\.1) == ["1+1", "café", "50% off", "%FF x", "", "%4", "v"])
    }
}
