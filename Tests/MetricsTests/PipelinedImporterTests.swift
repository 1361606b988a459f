import Foundation
import Testing
@testable import StratusMetrics

/// `PipelinedImporter` (parser threads → bounded queue → one appender) and its vm-json fast path:
/// the same samples and refusals as the general parser, several inputs at once, into a real store.
@Suite struct PipelinedImporterTests {
    func openTemp(_ text: String) throws -> (Int32, URL) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pimport-\(UUID().uuidString)")
        try Data(text.utf8).write(to: url)
        let fd = open(url.path, O_RDONLY)
        try #require(fd >= 0)
        return (fd, url)
    }

    /// The fast path and `VMJSONLineParser` give bit-identical results; odd forms fall back.
    @Test(arguments: [
        #"{"metric":{"__name__":"cpu","vm":"a"},"values":[1.5,-0,0.1,12345678901234.5,1e3,"NaN",7],"timestamps":[1,2,3,4,5,6,7]}"#,
        #"{"metric":{"__name__":"cpu","vm":"a"},"values":[0.30000000000000004,-12.25,3],"timestamps":[1000,2000,3000]}"#,
        #"{"metric":{"__name__":"cpu","vm":"a\"b"},"values":[1],"timestamps":[1]}"#,
        #"{"metric":{"__name__":"cpu"},"values":[],"timestamps":[]}"#,
        #"{ "metric":{"__name__":"cpu"},"values":[1],"timestamps":[1]}"#,
        #"{"metric":{"__name__":"cpu"},"values":[1,2],"timestamps":[1]}"#,
        #"{"metric":{"__name__":"cpu"},"values":[1],"timestamps":[1.5e3]}"#,
        #"{"metric":{"__name__":"cpu"},"values":[x],"timestamps":[1]}"#,
    ])
    func fastPathAgreesWithParser(_ text: String) throws {
        var bytes = Array(text.utf8)
        var viaFast = ImportedLine()
        var general = ImportedLine()
        var handled: Bool?
        var parsedOK: Bool?
        bytes.withUnsafeMutableBufferPointer { b in
            let line = UnsafeBufferPointer(b)
            var fast = VMJSONFastPath()
            handled = fast.parse(line, into: &viaFast)
            parsedOK = try? VMJSONLineParser().parse(line, lineNumber: 1, into: &general)
        }
        if handled == true {
            #expect(parsedOK == true)
            #expect(viaFast.seriesKey == general.seriesKey)
            #expect(viaFast.timestamps == general.timestamps)
            #expect(viaFast.values.map(\.bitPattern) == general.values.map(\.bitPattern))
        }
        if parsedOK == nil { #expect(handled == nil, "a line the parser refuses must fall back") }
    }

    /// Repeated timestamp text is reused, and a changed one is parsed afresh.
    @Test func timestampsReusedOnlyWhenTextMatches() throws {
        var fast = VMJSONFastPath()
        var out = ImportedLine()
        for (text, times) in [
            (#"{"metric":{"__name__":"a"},"values":[1,2],"timestamps":[10,20]}"#, [Int64(10), 20]),
            (#"{"metric":{"__name__":"b"},"values":[3,4],"timestamps":[10,20]}"#, [10, 20]),
            (#"{"metric":{"__name__":"c"},"values":[5,6],"timestamps":[10,21]}"#, [10, 21]),
        ] {
            var bytes = Array(text.utf8)
            let ok = bytes.withUnsafeMutableBufferPointer { fast.parse(UnsafeBufferPointer($0), into: &out) }
            #expect(ok == true)
            #expect(out.timestamps == times)
        }
    }

    @Test func twoInputsIntoRocksStore() async throws {
        try await withTSDBTempDirectory { dir in
            let store = try RocksMetricStore(path: dir + "/m")
            defer { store.close() }
            // Recent times: older ones would be past the store's default retention.
            let base = (Int64(Date().timeIntervalSince1970) - 3_600) * 1_000
            var texts: [String] = []
            var expected: [String: [Point]] = [:]
            for f in 0..<2 {
                var text = ""
                for s in 0..<30 {
                    let vm = "vm\(f)-\(s)"
                    var pts: [Point] = []
                    for k in 0..<50 {
                        let t: Int64 = base + Int64(k) * 10_000
                        let v: Double = Double(s * 100 + k) / 4
                        pts.append(Point(timestamp: t, value: v))
                    }
                    expected[vm] = pts
                    let values: String = pts.map { "\($0.value)" }.joined(separator: ",")
                    let times: String = pts.map { "\($0.timestamp)" }.joined(separator: ",")
                    let metric = #"{"metric":{"__name__":"cpu","vm":"\#(vm)"},"values":["#
                    text += metric + values + #"],"timestamps":["# + times + "]}\n"
                }
                text += "not json\n"
                texts.append(text)
            }
            let opened = try texts.map(openTemp)
            defer { for (fd, url) in opened { close(fd); try? FileManager.default.removeItem(at: url) } }
            let summary = try PipelinedImporter(store: store, batchSize: 64, queueDepth: 2).run(opened.map { ImportInput(fd: $0.0, format: nil) })
            #expect(summary.accepted == 2 * 30 * 50)
            #expect(summary.rejectedLines == 2)
            #expect(summary.lines == 2 * 31)
            let series = try await store.select([.equal("__name__", "cpu")], from: 0, to: .max)
            #expect(series.count == 60)
            for s in series { #expect(s.points.map(\.value.bitPattern) == expected[s.labels["vm"]!]!.map(\.value.bitPattern)); #expect(s.points.map(\.timestamp) == expected[s.labels["vm"]!]!.map(\.timestamp)) }
        }
    }

    /// A store failure (closed store) stops the run and is thrown.
    @Test func storeFailureIsThrown() async throws {
        try await withTSDBTempDirectory { dir in
            let store = try RocksMetricStore(path: dir + "/m")
            store.close()
            let (fd, url) = try openTemp(#"{"metric":{"__name__":"cpu"},"values":[1],"timestamps":[1]}"# + "\n")
            defer { close(fd); try? FileManager.default.removeItem(at: url) }
            #expect(throws: MetricsError.self) { try PipelinedImporter(store: store).run([ImportInput(fd: fd, format: .vmJSON)]) }
        }
    }
}
