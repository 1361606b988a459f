import StratusMetrics
import Testing

@Suite struct AgentBatchTests {
    @Test func encodedBatchParsesBackToTheSameSamples() throws {
        let samples = [
            Sample(labels: ZWatchName.labels(namespace: "ZStack/VM", metricName: "CPUUsedUtilization",
                                             ["VMUuid": "a1", "HostUuid": "h1", "CPUNum": "0"]), timestamp: 1_700_000_000_000, value: 12.5),
            Sample(labels: ZWatchName.labels(namespace: "ZStack/Host", metricName: "LoadAverage1",
                                             ["HostUuid": "h\"1\\x\ny"]), timestamp: 1_700_000_010_000, value: 3),
            Sample(labels: ZWatchName.labels(namespace: "ZStack/Host", metricName: "X", ["HostUuid": "h"]),
                   timestamp: 1_700_000_020_000, value: -.infinity),
            Sample(labels: ZWatchName.labels(namespace: "ZStack/Host", metricName: "Y", ["HostUuid": "h"]),
                   timestamp: 1_700_000_030_000, value: 1.0e-7),
        ]
        var encoder = AgentBatchEncoder()
        for s in samples { encoder.append(s) }
        #expect(encoder.count == samples.count)
        let text = try AgentBatchDecoder.gunzip(try encoder.gzipped())
        #expect(text == encoder.text)

        let parser = PrometheusTextParser()
        var line = ImportedLine()
        var decoded: [Sample] = []
        for (i, raw) in text.split(separator: 0x0A).enumerated() {
            try Array(raw).withUnsafeBufferPointer { b in
                guard try parser.parse(b, lineNumber: i + 1, into: &line) else { return }
                let labels = try parser.labels(UnsafeBufferPointer(rebasing: b[line.seriesKey]), lineNumber: i + 1)
                decoded.append(Sample(labels: labels, timestamp: line.timestamps[0], value: line.values[0]))
            }
        }
        #expect(decoded == samples)
    }

    @Test func garbageIsRefusedWithAReason() {
        #expect(throws: MetricsError.self) { try AgentBatchDecoder.gunzip(Array("not gzip".utf8)) }
    }
}
