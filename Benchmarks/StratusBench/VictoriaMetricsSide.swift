import ArgumentParser
import Foundation
import StratusMetrics

/// Figures measured on VictoriaMetrics.
struct VMFigures {
    var postSeconds = 0.0
    var flushSeconds = 0.0
    var visibleWaitSeconds = 0.0
    var ingestSeconds: Double { postSeconds + flushSeconds + visibleWaitSeconds }
    var samplesVisible = 0
    var diskAfterFlush: Int64 = 0
    var diskAfterMerge: Int64 = 0
    var vmHWM: Int64 = 0
    var version = ""
}

/// Writes the fleet as VictoriaMetrics JSON lines: one line per series per hour, hour by hour,
/// split over `files` files (series modulo files). Not timed.
func writeVMFiles(_ fleet: Fleet, dir: String, files: Int) throws -> [String] {
    let paths = (0..<files).map { "\(dir)/vm-import-\($0).jsonl" }
    let handles = try paths.map { p -> FileHandle in
        _ = FileManager.default.createFile(atPath: p, contents: nil)
        return try FileHandle(forWritingTo: URL(fileURLWithPath: p))
    }
    defer { for h in handles { try? h.close() } }
    let perLine = max(1, min(fleet.points, 360))
    var buffers = [[UInt8]](repeating: [], count: files)
    var chunkStart = 0
    while chunkStart < fleet.points {
        let chunkEnd = min(fleet.points, chunkStart + perLine)
        // Every series of a chunk shares its timestamps: write their text once.
        var tail = Array("],\"timestamps\":[".utf8)
        for k in chunkStart..<chunkEnd {
            if k > chunkStart { tail.append(UInt8(ascii: ",")) }
            appendInt(fleet.time(k), to: &tail)
        }
        tail.append(contentsOf: Array("]}\n".utf8))
        for s in 0..<fleet.seriesCount {
            let f = s % files
            buffers[f].append(contentsOf: Array("{\"metric\":".utf8))
            appendJSONObject(fleet.labels[s], to: &buffers[f])
            buffers[f].append(contentsOf: Array(",\"values\":[".utf8))
            for k in chunkStart..<chunkEnd {
                if k > chunkStart { buffers[f].append(UInt8(ascii: ",")) }
                fleet.appendJSON(s, k, to: &buffers[f])
            }
            buffers[f].append(contentsOf: tail)
            if buffers[f].count > 8 << 20 {
                handles[f].write(Data(buffers[f]))
                buffers[f].removeAll(keepingCapacity: true)
            }
        }
        chunkStart = chunkEnd
    }
    for f in 0..<files { handles[f].write(Data(buffers[f])) }
    return paths
}

/// `{"k":"v",…}` for labels made of plain characters (the generator's are).
func appendJSONObject(_ labels: Labels, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "{"))
    for (i, p) in labels.pairs.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: Array(p.name.utf8))
        out.append(contentsOf: Array("\":\"".utf8))
        out.append(contentsOf: Array(p.value.utf8))
        out.append(UInt8(ascii: "\""))
    }
    out.append(UInt8(ascii: "}"))
}

/// A running VictoriaMetrics single-node on loopback.
final class VictoriaMetrics {
    let process = Process()
    let port: Int
    let dataDir: String
    var base: String { "http://127.0.0.1:\(port)" }

    init(binary: String, dataDir: String, port: Int, logPath: String) throws {
        self.port = port
        self.dataDir = dataDir
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "-storageDataPath=\(dataDir)", "-httpListenAddr=127.0.0.1:\(port)", "-retentionPeriod=100y",
            "-search.disableCache", "-search.latencyOffset=0s",
        ]
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    func stop() {
        guard process.isRunning else { return }
        process.interrupt()
        let deadline = Tools.now() + 30
        while process.isRunning && Tools.now() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// POSTs the files to /api/v1/import over `files.count` concurrent curl connections; seconds
    /// from the first byte to the last reply.
    func importFiles(_ files: [String]) throws -> Double {
        let t0 = Tools.now()
        let curls = try files.map { f -> Process in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Tools.which("curl") ?? "/usr/bin/curl")
            p.arguments = ["-sS", "--fail", "-X", "POST", "-H", "Content-Type: application/json", "-T", f, "\(base)/api/v1/import"]
            try p.run()
            return p
        }
        for p in curls { p.waitUntilExit() }
        let elapsed = Tools.now() - t0
        for p in curls where p.terminationStatus != 0 {
            throw BenchError("curl POST to VictoriaMetrics /api/v1/import failed with status \(p.terminationStatus)")
        }
        return elapsed
    }

    func get(_ path: String) async throws -> Data {
        let (status, data) = try await Tools.get(base + path)
        guard status == 200 else {
            throw BenchError("VictoriaMetrics \(path) answered \(status): \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return data
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// `StratusBench write-vm-files`: only writes the fleet's VictoriaMetrics JSON-lines files (for
/// profiling the import path by hand: `serve-stratus --exit-after-import --file …`); files
/// already there for the same fleet are kept.
struct WriteVMFiles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "write-vm-files", abstract: "Write the fleet's JSON-lines import files.")

    @OptionGroup var size: FleetOptions
    @Option(help: "Directory (created).") var dir: String
    @Option(help: "Number of files.") var files = 2

    func run() async throws {
        for p in try keptVMFiles(size.fleet(), size: size, dir: dir, files: files) { print(p) }
    }
}

/// The fleet's files in `dir`, written only when `dir` does not already hold them for this fleet
/// (a `fleet.txt` there names the size, seed and file count they were made for). For A/B runs of
/// the import alone: generating the 8 GiB of the full size takes minutes.
func keptVMFiles(_ fleet: Fleet, size: FleetOptions, dir: String, files: Int) throws -> [String] {
    let marker = dir + "/fleet.txt"
    let wanted = (size.arguments() + ["--files", "\(files)"]).joined(separator: " ")
    let paths = (0..<files).map { "\(dir)/vm-import-\($0).jsonl" }
    if (try? String(contentsOfFile: marker, encoding: .utf8)) == wanted, paths.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) {
        Tools.log("reusing the files in \(dir)")
        return paths
    }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try? FileManager.default.removeItem(atPath: marker)
    let written = try writeVMFiles(fleet, dir: dir, files: files)
    try wanted.write(toFile: marker, atomically: true, encoding: .utf8)
    return written
}
