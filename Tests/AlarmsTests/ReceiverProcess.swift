import Foundation
import Synchronization

/// A receiver program from Tests/receivers run as a child process: started with its CLI, ready
/// once it printed `listening <port>`, stopped (SIGTERM, then waited for) by `stop()`.
/// Each request/message it got is one JSON line in `outFile`.
final class ReceiverProcess: Sendable {
    enum Failure: Error, CustomStringConvertible {
        case didNotStart(String)
        var description: String {
            switch self { case let .didNotStart(why): "receiver did not start: \(why)" }
        }
    }

    let port: Int
    let outFile: URL
    let directory: URL
    // Process is not Sendable; it is only touched by stop(), under the mutex.
    private let process: Mutex<Process?>

    static let receiversDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("receivers")

    /// Starts `http_receiver.py` under pyenv's/any `python3`.
    static func http(_ args: [String] = []) throws -> ReceiverProcess {
        try ReceiverProcess(interpreter: "/usr/bin/env", leading: ["python3"], script: "http_receiver.py", args: args)
    }

    /// Starts `smtp_receiver.py` under Debian's `/usr/bin/python3` (aiosmtpd).
    static func smtp(_ args: [String] = []) throws -> ReceiverProcess {
        try ReceiverProcess(interpreter: "/usr/bin/python3", leading: [], script: "smtp_receiver.py", args: args)
    }

    /// Whether Debian's python has aiosmtpd (the SMTP tests need it).
    static let aiosmtpdAvailable: Bool = (try? run("/usr/bin/python3", ["-c", "import aiosmtpd"]).status) == 0

    init(interpreter: String, leading: [String], script: String, args: [String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-recv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        outFile = directory.appendingPathComponent("out.jsonl")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: interpreter)
        p.arguments = leading + [Self.receiversDirectory.appendingPathComponent(script).path, "--out", outFile.path] + args
        let stdout = Pipe()
        let stderrFile = directory.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        p.standardOutput = stdout
        p.standardError = try FileHandle(forWritingTo: stderrFile)
        try p.run()
        // Read the first line on another thread; give up after 15 s (start-up only).
        let line = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        let handle = stdout.fileHandleForReading
        Thread.detachNewThread {
            var bytes: [UInt8] = []
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                bytes += chunk
                if bytes.contains(UInt8(ascii: "\n")) { break }
            }
            line.withLock { $0 = String(decoding: bytes, as: UTF8.self) }
            done.signal()
        }
        let started = done.wait(timeout: .now() + 15) == .success
        let text = line.withLock { $0 } ?? ""
        guard started, text.hasPrefix("listening "), let port = Int(text.dropFirst(10).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            let err = (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
            throw Failure.didNotStart("\(script) printed '\(text)'; stderr: \(err)")
        }
        self.port = port
        process = Mutex(p)
    }

    deinit { stop() }

    /// Stops the receiver (idempotent) and removes nothing: `records()` still reads its output.
    func stop() {
        process.withLock { p in
            guard let proc = p else { return }
            // SIGKILL: a test runner thread may hand its blocked-signal mask (SIGTERM included) to
            // the child; records are fsync'ed before each reply, so nothing is lost.
            if proc.isRunning { kill(proc.processIdentifier, SIGKILL) }
            proc.waitUntilExit()
            p = nil
        }
    }

    /// The JSON objects the receiver recorded so far, in order.
    func records() throws -> [[String: Any]] {
        guard FileManager.default.fileExists(atPath: outFile.path) else { return [] }
        let text = try String(contentsOf: outFile, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw Failure.didNotStart("a record is not a JSON object: \(line)")
            }
            return o
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Runs a program to completion; returns its exit status and stdout. Output goes through a
    /// file, not a pipe: a receiver spawned meanwhile by a parallel test can inherit a pipe's
    /// write end and keep it open, so reading a pipe to EOF could wait forever.
    @discardableResult
    static func run(_ path: String, _ args: [String], stdin: [UInt8]? = nil) throws -> (status: Int32, stdout: [UInt8]) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let inFile = dir.appendingPathComponent("in"), outFile = dir.appendingPathComponent("out")
        try Data(stdin ?? []).write(to: inFile)
        _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let input = try FileHandle(forReadingFrom: inFile), output = try FileHandle(forWritingTo: outFile)
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try input.close()
        try output.close()
        return (p.terminationStatus, [UInt8](try Data(contentsOf: outFile)))
    }
}
