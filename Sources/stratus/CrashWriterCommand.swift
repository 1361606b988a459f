import ArgumentParser
import Foundation
import StratusMetrics

/// `stratus crash-writer` (hidden): writes deterministic rounds into a metric store and reports each
/// committed round, for the kill -9 recovery test (Tests/IntegrationTests/CrashRecoveryTests.swift).
///
/// Round r of series s is `t = r · 10 000`, `value = CrashWriterCommand.value(series: s, round: r)`,
/// series labels `{__name__="crash_test", series="<s>"}`. "committed r" is printed (and stdout
/// flushed) only after `append` returned, i.e. after the WAL fsync (with `--deferred`: after
/// `waitDurable` returned for that round's `appendDeferringSync`).
struct CrashWriterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-writer", abstract: "Write deterministic rounds for the crash test.", shouldDisplay: false)

    @Option(help: "Store directory.") var path: String
    @Option(help: "Series per round.") var series: Int = 100
    @Option(help: "Rounds to write.") var rounds: Int = 1_000
    @Option(help: "Force a checkpoint (flush) every K rounds; 0 = never.") var checkpointEvery: Int = 0
    @Flag(help: "Append with appendDeferringSync (up to 32 rounds in flight) and report each round when its group commit answers, as the agent push path does.")
    var deferred = false

    /// The value of series `s` in round `r` (two decimals, distinct per series and round).
    static func value(series s: Int, round r: Int) -> Double { Double(s * 100_003 + r * 7) / 100 }

    func run() throws {
        var options = TSDBOptions()
        options.retention = .max
        let store = try RocksMetricStore(path: path, options: options)
        var refs: [SeriesRef] = []
        for s in 0..<series {
            refs.append(try store.seriesRef(for: Labels(["__name__": "crash_test", "series": String(s)])))
        }
        var batch = SampleBatch(capacity: series)
        let inFlight = DispatchSemaphore(value: 32)
        for r in 0..<rounds {
            batch.removeAll()
            for s in 0..<series { batch.append(refs[s], Int64(r) * 10_000, Self.value(series: s, round: r)) }
            let line = Array("committed \(r)\n".utf8)
            if deferred {
                inFlight.wait()
                let (report, ticket) = try store.appendDeferringSync(batch)
                guard report.accepted == series else {
                    throw ValidationError("round \(r): \(report.rejected.first?.message ?? "samples refused")")
                }
                Task.detached {
                    defer { inFlight.signal() }
                    guard (try? await store.waitDurable(ticket)) != nil else { return }
                    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                }
                continue
            }
            let report = try store.append(batch)
            guard report.accepted == series else {
                throw ValidationError("round \(r): \(report.rejected.first?.message ?? "samples refused")")
            }
            // Straight to fd 1, unbuffered: the line is out before the next round starts.
            _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if checkpointEvery > 0 && (r + 1) % checkpointEvery == 0 { try store.flush() }
        }
        for _ in 0..<32 where deferred { inFlight.wait() }
        store.close()
    }
}
