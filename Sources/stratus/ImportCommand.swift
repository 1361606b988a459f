import ArgumentParser
import Foundation
import StratusMetrics

/// `stratus import FILE…`: loads VictoriaMetrics JSON lines or Prometheus text (with timestamps)
/// into the metric store under `--data-dir`, with a progress bar on stderr and a summary.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load metric samples from VictoriaMetrics JSON lines or Prometheus text files.",
        discussion: """
            Formats: vm-json (one series per line, as VictoriaMetrics' /api/v1/export writes) and \
            prometheus (`name{k="v"} value timestamp_ms`; # lines skipped). `auto` picks by file \
            extension (.json/.jsonl/.ndjson, .prom/.txt), else by the first byte. `-` reads stdin. \
            Stop `stratus serve` first: the store has one writer. Exits 0 when any sample was \
            stored, 1 on a missing/unreadable file or store error, 2 when nothing was accepted.
            """)

    enum FormatChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, vmJSON = "vm-json", prometheus
    }

    @Argument(help: "Files to import; `-` for stdin.")
    var files: [String]

    @Option(name: .long, help: "Input format: auto, vm-json or prometheus.")
    var format: FormatChoice = .auto

    @Option(name: .long, help: "Folder holding the metric store (<data-dir>/metrics).")
    var dataDir: String = "./data"

    @Option(name: .long, help: "Samples per durable commit.")
    var batchSize: Int = 100_000

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one FILE, or - for stdin") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        // Open every input first, so a typo fails before the store is touched.
        var inputs: [(name: String, fd: Int32, size: Int64?)] = []
        defer { for i in inputs where i.fd != 0 { close(i.fd) } }
        for path in files {
            if path == "-" {
                inputs.append(("stdin", 0, nil))
                continue
            }
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else {
                fail("cannot read \(path): \(String(cString: strerror(errno))) (check the path and its permissions)")
            }
            var st = stat()
            let statted = fstat(fd, &st) == 0
            if statted, (st.st_mode & S_IFMT) == S_IFDIR {
                close(fd)
                fail("cannot read \(path): it is a directory")
            }
            inputs.append((path, fd, statted && (st.st_mode & S_IFMT) == S_IFREG ? Int64(st.st_size) : nil))
        }

        let storePath = URL(fileURLWithPath: dataDir).appendingPathComponent("metrics").path
        let store: RocksMetricStore
        do {
            store = try RocksMetricStore(path: storePath, options: TSDBOptions())
        } catch let e as MetricsError {
            if case let .storage(_, message) = e, message.lowercased().contains("lock") {
                fail("the store at \(storePath) is in use by a running `stratus serve`; stop it first")
            }
            fail("\(e)")
        }
        defer { store.close() }

        let bar = ProgressBar()
        var total = ImportSummary()
        for input in inputs {
            // auto: the extension, else the first data line decides (works for stdin too).
            let chosen: ImportFormat?
            switch format {
            case .vmJSON: chosen = .vmJSON
            case .prometheus: chosen = .prometheus
            case .auto: chosen = input.fd == 0 ? nil : ImportFormat.byExtension(input.name)
            }
            bar.start(input.name, format: chosen?.rawValue ?? "format from the first line")
            let summary: ImportSummary
            do {
                // Parsing and appending run on two threads (what the benchmark measures).
                summary = try PipelinedImporter(store: store, batchSize: batchSize)
                    .run([ImportInput(fd: input.fd, format: chosen, totalBytes: input.size)]) { bar.draw($0) }
            } catch {
                bar.finish()
                fail("importing \(input.name) failed: \(error)")
            }
            bar.finish()
            if inputs.count > 1 { for l in summary.report(label: input.name) { printErr(l) } }
            total.merge(summary)
        }
        do {
            try store.flush()
        } catch {
            fail("flushing the store failed: \(error)")
        }
        for l in total.report(label: inputs.count > 1 ? "total" : inputs[0].name) { print(l) }
        if total.accepted == 0 { throw ExitCode(2) }
    }

    private func fail(_ message: String) -> Never {
        printErr("error: \(message)")
        Foundation.exit(1)
    }
}

private func printErr(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// The import progress bar on stderr: redrawn in place on a terminal, a line every 5 s otherwise.
final class ProgressBar {
    private let tty = isatty(2) == 1
    private var name = ""
    private var lastLine = Date.distantPast
    private var drawn = false

    func start(_ name: String, format: String) {
        self.name = name
        lastLine = Date()
        printErr("importing \(name) (\(format))")
    }

    func draw(_ p: ImportProgress) {
        if !tty && !p.done && Date().timeIntervalSince(lastLine) < 5 { return }
        lastLine = Date()
        let rate = p.elapsed > 0 ? Double(p.samples) / p.elapsed : 0
        var text: String
        if let total = p.totalBytes, total > 0 {
            let f = min(1, Double(p.bytesRead) / Double(total))
            let width = 30
            let filled = Int(f * Double(width))
            let eta = f > 0 && !p.done ? p.elapsed * (1 - f) / f : 0
            text = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
                + "\(Int(f * 100))% \(mib(p.bytesRead))/\(mib(total)) MiB, \(Int(rate)) samples/s, ETA \(clock(eta))"
        } else {
            text = "\(mib(p.bytesRead)) MiB read, \(p.samples) samples, \(Int(rate)) samples/s"
        }
        if tty {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
            drawn = true
        } else {
            printErr(text)
        }
    }

    func finish() {
        if tty && drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }

    private func mib(_ b: Int64) -> String { String(format: "%.1f", Double(b) / 1_048_576) }
    private func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return String(format: "%d:%02d", t / 60, t % 60)
    }
}
