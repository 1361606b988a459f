import Foundation
import StratusMetrics
import Testing
@testable import Web

/// The byte writer must write exactly what the string functions write.
@Suite struct PrometheusJSONWriterTests {
    /// The string functions' rendering of a result, built the way `result` did before the writer.
    static func reference(_ value: PromQLValue) -> String {
        func sample(_ l: Labels, _ key: String, _ body: String) -> String { #"{"metric":"# + PrometheusJSON.labels(l) + ",\"\(key)\":" + body + "}" }
        switch value {
        case let .scalar(p): return #"{"resultType":"scalar","result":"# + PrometheusJSON.point(p) + "}"
        case let .string(s, t): return #"{"resultType":"string","result":["# + PrometheusJSON.time(t) + "," + PrometheusJSON.string(s) + "]}"
        case let .vector(samples):
            return #"{"resultType":"vector","result":["# + samples.map { sample($0.labels, "value", PrometheusJSON.point($0.point)) }.joined(separator: ",") + "]}"
        case let .matrix(series):
            return #"{"resultType":"matrix","result":["#
                + series.map { sample($0.labels, "values", "[" + $0.points.map(PrometheusJSON.point).joined(separator: ",") + "]") }.joined(separator: ",") + "]}"
        }
    }

    static func written(_ value: PromQLValue) -> String {
        var w = PrometheusJSONWriter()
        w.result(value)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// Values of every kind the writer treats apart: whole and not, huge, tiny, negative zero, non-finite.
    static func values(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededRandom(seed)
        let fixed: [Double] = [0, -0.0, 1, -1, 12.5, 0.1 + 0.2, 1e21, -2.5e20, 1.5e-5, 1e-7, 123456789012345678, 9_007_199_254_740_991,
                               9_007_199_254_740_992, -9_007_199_254_740_993, 1e15, 1e16, .nan, .infinity, -.infinity,
                               .greatestFiniteMagnitude, .leastNonzeroMagnitude, 4503599627370496.5]
        var out = fixed
        for _ in 0..<n {
            let bits = rng.next()
            switch bits % 5 {
            case 0: out.append(Double(bitPattern: rng.next()))
            case 1: out.append(Double(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 64)))
            case 2: out.append(Double(Int64(rng.next() % 1_000_000)) / 100)
            case 3: out.append(Double(Int64(bitPattern: rng.next()) >> 20) * pow(10, Double(Int(rng.next() % 40) - 20)))
            default: out.append(-Double(rng.next() % 100_000))
            }
        }
        return out
    }

    @Test func matrixAsTheStringFunctionsWriteIt() {
        let values = Self.values(20_000, seed: 7)
        var series: [SeriesPoints] = []
        for s in 0..<20 {
            let points = (0..<1000).map { k in Point(timestamp: Int64(k) * 1_234 - 50_000 + Int64(s), value: values[(s * 1000 + k) % values.count]) }
            series.append(SeriesPoints(labels: Labels(["__name__": "m\(s)", "VMUuid": "v\(s)", "odd": "q\"u\\o\nte\u{1}é"]), points: points))
        }
        let value = PromQLValue.matrix(series)
        #expect(Self.written(value) == Self.reference(value))
    }

    @Test func vectorScalarAndStringAsTheStringFunctionsWriteThem() {
        let values = Self.values(2_000, seed: 11)
        let vector = PromQLValue.vector(values.enumerated().map { i, v in
            InstantSample(labels: Labels(["HostUuid": "h\(i)", "x": i % 7 == 0 ? "tab\there" : "plain"]), point: Point(timestamp: 1_767_225_600_000 + Int64(i), value: v))
        })
        #expect(Self.written(vector) == Self.reference(vector))
        for v in values.prefix(200) {
            #expect(Self.written(.scalar(Point(timestamp: -1_500, value: v))) == Self.reference(.scalar(Point(timestamp: -1_500, value: v))))
        }
        let string = PromQLValue.string("a\"b\\c\nd\u{1}", at: 5)
        #expect(Self.written(string) == Self.reference(string))
        #expect(Self.written(.vector([])) == Self.reference(.vector([])))
    }
}

/// SplitMix64, so the cases are the same on every run.
struct SeededRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
