import Testing
@testable import StratusMetrics

/// The import parsers on hand-written lines: what they accept, and a rejection with line number
/// and kind for every malformed line.
@Suite struct ImportParserTests {
    let prom = PrometheusTextParser()
    let vm = VMJSONLineParser()

    func kind(_ parser: some ImportLineParser, _ line: String, number: Int = 7) -> ImportRejection? {
        do {
            _ = try parser.parse(line: line, lineNumber: number)
            return nil
        } catch {
            return error
        }
    }

    @Test func prometheusLineWithLabelsValueAndTimestamp() throws {
        let s = try #require(try prom.parse(line: #"ZStack:VM::CPUUsedUtilization{VMUuid="a1",CPUNum="0"} 12.5 1700000000000"#))
        #expect(s == [Sample(labels: Labels(["__name__": "ZStack:VM::CPUUsedUtilization", "VMUuid": "a1", "CPUNum": "0"]),
                             timestamp: 1_700_000_000_000, value: 12.5)])
    }

    @Test func prometheusNameOnlyTabsAndTrailingComma() throws {
        let a = try #require(try prom.parse(line: "up\t1\t5"))
        #expect(a == [Sample(labels: Labels(["__name__": "up"]), timestamp: 5, value: 1)])
        let b = try #require(try prom.parse(line: #"up{job="x",} -3e2 10"#))
        #expect(b[0].labels["job"] == "x")
        #expect(b[0].value == -300)
    }

    @Test func prometheusCommentsAndBlankLinesCarryNoData() throws {
        for line in ["", "   ", "# HELP up whether the target is up", "# TYPE up gauge", "#"] {
            #expect(try prom.parse(line: line) == nil, "\(line)")
        }
    }

    @Test func prometheusEscapesInLabelValues() throws {
        let s = try #require(try prom.parse(line: #"m{path="C:\\dir",quote="say \"hi\"",nl="a\nb",brace="}"} 1 2"#))
        let l = s[0].labels
        #expect(l["path"] == #"C:\dir"#)
        #expect(l["quote"] == #"say "hi""#)
        #expect(l["nl"] == "a\nb")
        #expect(l["brace"] == "}")
    }

    @Test func prometheusSpecialValues() throws {
        let nan = try #require(try prom.parse(line: "m NaN 1"))[0].value
        #expect(nan.isNaN)
        #expect(try #require(try prom.parse(line: "m +Inf 1"))[0].value == .infinity)
        #expect(try #require(try prom.parse(line: "m -Inf 1"))[0].value == -.infinity)
        #expect(try #require(try prom.parse(line: "m 0.1 1"))[0].value == 0.1)
        #expect(try #require(try prom.parse(line: "m 123456789.123456789 1"))[0].value == 123456789.123456789)
        #expect(try #require(try prom.parse(line: "m 1.5e-7 1"))[0].value == 1.5e-7)
    }

    @Test func prometheusMalformedLinesAreRejectedWithLineAndKind() {
        let cases: [(String, ImportRejectionKind)] = [
            ("m 1", .missingField),
            ("m", .badValue),
            ("m abc 1", .badValue),
            ("m 1 -5", .badTimestamp),
            ("m 1 12.5", .badTimestamp),
            ("m 1 2 3", .syntax),
            (#"m{a="1" 1 2"#, .syntax),
            (#"m{a=1} 1 2"#, .syntax),
            (#"m{a="x\q"} 1 2"#, .syntax),
            (#"m{a="1",a="2"} 1 2"#, .invalidLabels),
            (#"m{a=""} 1 2"#, .invalidLabels),
            (#"{a="1"} 1 2"#, .missingField),
            ("9m 1 2", .syntax),
        ]
        for (line, expected) in cases {
            let r = kind(prom, line)
            #expect(r?.kind == expected, "\(line) -> \(String(describing: r))")
            #expect(r?.line == 7)
            #expect(r.map { !$0.reason.isEmpty } == true)
        }
    }

    @Test func vmJSONLineWithSeveralSamples() throws {
        let line = #"{"metric":{"__name__":"cpu","VMUuid":"v1"},"values":[1,2.5,-0.25],"timestamps":[1000,2000,3000]}"#
        let s = try #require(try vm.parse(line: line))
        let labels = Labels(["__name__": "cpu", "VMUuid": "v1"])
        #expect(s == [Sample(labels: labels, timestamp: 1000, value: 1), Sample(labels: labels, timestamp: 2000, value: 2.5),
                      Sample(labels: labels, timestamp: 3000, value: -0.25)])
    }

    @Test func vmJSONKeyOrderSpacesEscapesAndUnknownKeys() throws {
        let line = #" { "timestamps" : [ 5 ] , "extra": {"a":[1,{"b":null}]}, "values": ["NaN"], "metric": {"__name__":"m","p":"a\"b\\c\u00e9\ud83d\ude00\/"} } "#
        let s = try #require(try vm.parse(line: line))
        #expect(s.count == 1)
        #expect(s[0].value.isNaN)
        #expect(s[0].labels["p"] == "a\"b\\cé😀/")
        let inf = try #require(try vm.parse(line: #"{"metric":{"__name__":"m"},"values":["+Inf",-Inf],"timestamps":[1,2]}"#))
        #expect(inf.map(\.value) == [.infinity, -.infinity])
    }

    @Test func vmJSONEmptyArraysAreAnEmptySeries() throws {
        #expect(try vm.parse(line: #"{"metric":{"__name__":"m"},"values":[],"timestamps":[]}"#) == [])
        #expect(try vm.parse(line: "   ") == nil)
    }

    @Test func vmJSONMalformedLinesAreRejectedWithLineAndKind() {
        let cases: [(String, ImportRejectionKind)] = [
            (#"{"metric":{"__name__":"m"},"values":[1,2],"timestamps":[1]}"#, .lengthMismatch),
            (#"{"metric":{"__name__":"m"},"values":[1]}"#, .missingField),
            (#"{"values":[1],"timestamps":[1]}"#, .missingField),
            (#"{"metric":{"k":"v"},"values":[1],"timestamps":[1]}"#, .missingField),
            (#"{"metric":{"__name__":"m"},"values":[x],"timestamps":[1]}"#, .badValue),
            (#"{"metric":{"__name__":"m"},"values":["high"],"timestamps":[1]}"#, .badValue),
            (#"{"metric":{"__name__":"m"},"values":[1],"timestamps":[-1]}"#, .badTimestamp),
            (#"{"metric":{"__name__":"m"},"values":[1],"timestamps":[1.5]}"#, .badTimestamp),
            (#"{"metric":{"__name__":"m","n":5},"values":[1],"timestamps":[1]}"#, .invalidLabels),
            (#"{"metric":{"__name__":"m","bad-name":"x"},"values":[1],"timestamps":[1]}"#, .invalidLabels),
            (#"{"metric":{"__name__":"m"},"values":[1],"timestamps":[1]"#, .syntax),
            (#"{"metric":{"__name__":"m"},"values":[1],"timestamps":[1]} trailing"#, .syntax),
            (#"{"metric":{"__name__":"m\q"},"values":[1],"timestamps":[1]}"#, .syntax),
            (#"["not","an","object"]"#, .syntax),
            (#"{"metric":"m","values":[1],"timestamps":[1]}"#, .syntax),
            ("{", .syntax),
        ]
        for (line, expected) in cases {
            let r = kind(vm, line, number: 3)
            #expect(r?.kind == expected, "\(line) -> \(String(describing: r))")
            #expect(r?.line == 3)
        }
    }

    @Test func formatDetection() {
        #expect(ImportFormat.detect(path: "x.jsonl", head: Array("m 1 2".utf8)) == .vmJSON)
        #expect(ImportFormat.detect(path: "x.prom", head: Array("{".utf8)) == .prometheus)
        #expect(ImportFormat.detect(path: "dump", head: Array("\n  {\"metric\"".utf8)) == .vmJSON)
        #expect(ImportFormat.detect(path: "dump", head: Array("# HELP".utf8)) == .prometheus)
    }
}
