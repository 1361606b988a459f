import Testing
@testable import StratusMetrics

/// The byte encodings of the RocksDB metric store (Docs/format/metric-store-v1.md).
@Suite struct LabelsCodecTests {
    @Test func labelsRoundTripIncludingAwkwardValues() throws {
        let labels = Labels(["__name__": "a", "x": "=\",{}", "z": String(repeating: "é", count: 200), "n": "a\u{0}b"])
        let encoded = LabelsCodec.encode(labels)
        #expect(try LabelsCodec.decode(encoded, key: [0x49]) == labels)
        // Pairs in name order, each uvarint length + bytes; "z" value is 400 bytes → 2-byte length.
        #expect(Array(encoded.prefix(11)) == [8] + Array("__name__".utf8) + [1, UInt8(ascii: "a")])
        #expect(Array(encoded.suffix(402).prefix(2)) == [0x90, 0x03])
    }

    @Test func truncatedLabelsAreReportedAsCorruptWithTheKey() {
        var encoded = LabelsCodec.encode(Labels(["__name__": "abc"]))
        encoded.removeLast()
        #expect(throws: MetricsError.corrupt(key: "49", reason: "labels: field of 3 bytes at byte 10 runs past the end (12)")) {
            try LabelsCodec.decode(encoded, key: [0x49])
        }
    }

    @Test func sampleKeysSortByTimeAndDecode() throws {
        let early = MetricKey.sample(7, 1_000)
        let late = MetricKey.sample(7, 256_000)
        #expect(early.lexicographicallyPrecedes(late))
        #expect(early == [UInt8(ascii: "D"), 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0x03, 0xE8])
        let p = try MetricKey.decodeSample(late, MetricKey.encodeValue(-2.5))
        #expect(p == Point(timestamp: 256_000, value: -2.5))
    }

    @Test func postingKeyDecodesValueAndID() throws {
        let key = MetricKey.posting(name: "host", value: "h\u{0}1", id: 258)
        let prefix = MetricKey.postingsPrefix(name: "host")
        let (value, id) = try MetricKey.decodePosting(key, namePrefixCount: prefix.count)
        #expect(value == "h\u{0}1")
        #expect(id == 258)
    }
}
