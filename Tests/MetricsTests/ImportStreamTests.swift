import Foundation
import Testing
@testable import StratusMetrics

/// `PipelinedImporter` (what `stratus import` runs) end to end on a pipe/file into a store: every good sample stored, every bad line
/// counted with its number, long lines across read chunks, a last line without newline.
@Suite struct ImportStreamTests {
    /// Writes `text` to a temp file and returns an open descriptor for it.
    func openTemp(_ text: String) throws -> (Int32, URL) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString)")
        try Data(text.utf8).write(to: url)
        let fd = open(url.path, O_RDONLY)
        try #require(fd >= 0)
        return (fd, url)
    }

    @Test func linesAcrossSmallChunksAndNoFinalNewline() throws {
        let text = "a\r\n\nbb\n" + String(repeating: "x", count: 100) + "\nlast"
        let (fd, url) = try openTemp(text)
        defer { close(fd); try? FileManager.default.removeItem(at: url) }
        var reader = ImportLineReader(fd: fd, chunkSize: 16)
        var lines: [(String, Int)] = []
        while try reader.next({ b, n in lines.append((String(decoding: b, as: UTF8.self), n)) }) {}
        #expect(lines.map(\.0) == ["a", "", "bb", String(repeating: "x", count: 100), "last"])
        #expect(lines.map(\.1) == [1, 2, 3, 4, 5])
        #expect(reader.bytesRead == Int64(text.utf8.count))
    }

    @Test func prometheusFileIntoStoreCountsGoodAndBad() async throws {
        let text = """
            # HELP cpu CPU
            cpu{vm="a"} 1.5 1000
            cpu{vm="a"} 2.5 2000
            cpu{vm="b"} oops 1000
            cpu{vm="b"} 3 1000
            mem 7
            cpu{vm="a"} 4 3000
            """
        let (fd, url) = try openTemp(text)
        defer { close(fd); try? FileManager.default.removeItem(at: url) }
        let store = MemoryMetricStore()
        var reports: [ImportProgress] = []
        let summary = try PipelinedImporter(store: store, batchSize: 2).run([ImportInput(fd: fd, format: .prometheus, totalBytes: Int64(text.utf8.count))]) {
            reports.append($0)
        }
        #expect(summary.accepted == 4)
        #expect(summary.lines == 7)
        #expect(summary.rejectedLines == 2)
        #expect(summary.parseRejections[.badValue]?.firstLines == [4])
        #expect(summary.parseRejections[.missingField]?.firstLines == [6])
        #expect(reports.last?.done == true)
        #expect(reports.last?.bytesRead == Int64(text.utf8.count))
        let series = try await store.select([.equal("__name__", "cpu")], from: 0, to: 10_000)
        #expect(series.map(\.labels["vm"]) == ["a", "b"])
        #expect(series[0].points == [Point(timestamp: 1000, value: 1.5), Point(timestamp: 2000, value: 2.5), Point(timestamp: 3000, value: 4)])
        #expect(series[1].points == [Point(timestamp: 1000, value: 3)])
    }

    @Test func vmJSONFileIntoStore() async throws {
        var text = "\n"
        for v in 0..<50 {
            let values = (0..<200).map { "\(Double(v * 1000 + $0) / 100)" }.joined(separator: ",")
            let ts = (0..<200).map { "\(1_700_000_000_000 + $0 * 10_000)" }.joined(separator: ",")
            text += #"{"metric":{"__name__":"cpu","VMUuid":"vm-\#(v)"},"values":[\#(values)],"timestamps":[\#(ts)]}"# + "\n"
        }
        text += #"{"metric":{"__name__":"cpu"},"values":[1],"timestamps":[]}"# + "\n"
        let (fd, url) = try openTemp(text)
        defer { close(fd); try? FileManager.default.removeItem(at: url) }
        let store = MemoryMetricStore()
        // No format given: the first data line (`{`) picks vm-json.
        let summary = try PipelinedImporter(store: store, batchSize: 1000).run([ImportInput(fd: fd, format: nil)])
        #expect(summary.accepted == 50 * 200)
        #expect(summary.parseRejections[.lengthMismatch]?.firstLines == [52])
        let got = try await store.select([.equal("VMUuid", "vm-7")], from: 0, to: .max)
        #expect(got.count == 1)
        #expect(got[0].points.count == 200)
        #expect(got[0].points[3] == Point(timestamp: 1_700_000_030_000, value: 70.03))
    }
}
