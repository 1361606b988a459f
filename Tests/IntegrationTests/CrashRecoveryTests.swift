import Foundation
import StratusMetrics
import Testing

/// kill -9 a writer mid-ingest (`stratus crash-writer`) and check that every round it reported
/// committed is back with its exact values, that uncommitted rounds are all-or-nothing, and that
/// the store takes new writes.
@Suite(.serialized) struct CrashRecoveryTests {
    /// The writer's value formula (CrashWriterCommand.value), repeated here on purpose.
    static func value(series s: Int, round r: Int) -> Double { Double(s * 100_003 + r * 7) / 100 }

    struct KillPoint: Sendable, CustomStringConvertible {
        var series: Int
        var killAfter: Int
        var checkpointEvery: Int
        /// The writer appends without waiting and reports rounds from the WAL's group commit.
        var deferred = false
        var description: String { "\(series) series, kill after round \(killAfter), checkpoint every \(checkpointEvery)\(deferred ? ", deferred sync" : "")" }
    }

    static let killPoints: [KillPoint] = [
        KillPoint(series: 50, killAfter: 3, checkpointEvery: 0),            // early: WAL only
        KillPoint(series: 100, killAfter: 120, checkpointEvery: 1),         // checkpoints all the time: likely mid-checkpoint
        KillPoint(series: 40, killAfter: 200, checkpointEvery: 7),
        KillPoint(series: 200, killAfter: 380, checkpointEvery: 50),        // past the first hour: chunks cut
        KillPoint(series: 5_000, killAfter: 362, checkpointEvery: 0),       // just past the hour: sealed heads pending or being written
        KillPoint(series: 20, killAfter: 800, checkpointEvery: 0),          // late: two hours of WAL, cuts, no checkpoint
        KillPoint(series: 100, killAfter: 300, checkpointEvery: 40, deferred: true),  // the push path: acks from the group commit
    ]

    @Test(arguments: killPoints)
    func everyCommittedRoundSurvivesKill9(point: KillPoint) async throws {
        let dir = StratusProcess.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("metrics").path
        let (process, out, _) = try StratusProcess.start([
            "crash-writer", "--path", path, "--series", "\(point.series)", "--rounds", "\(point.killAfter + 100_000)",
            "--checkpoint-every", "\(point.checkpointEvery)",
        ] + (point.deferred ? ["--deferred"] : []))
        var text = ""
        var last = -1
        let fd = out.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(120)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while last < point.killAfter && Date() < deadline && process.isRunning {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            text += String(decoding: buffer[0..<n], as: UTF8.self)
            last = Self.lastCommitted(text)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // Lines printed before the kill are committed too.
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 0) > 0 else { break }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            text += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        last = Self.lastCommitted(text)
        #expect(last >= point.killAfter, "the writer committed only up to round \(last)")

        var options = TSDBOptions()
        options.retention = .max
        let store = try RocksMetricStore(path: path, options: options)
        defer { store.close() }
        let got = try await store.select([.equal("__name__", "crash_test")], from: 0, to: .max)
        #expect(got.count == point.series)
        var roundsPresent: [Int: Int] = [:]
        for s in got {
            let series = Int(s.labels["series"]!)!
            var expectedRound = 0
            for p in s.points {
                #expect(p.timestamp % 10_000 == 0, "off-grid sample \(p)")
                let r = Int(p.timestamp / 10_000)
                #expect(p.value.bitPattern == Self.value(series: series, round: r).bitPattern, "series \(series) round \(r): \(p.value)")
                if r <= last { #expect(r == expectedRound, "series \(series) is missing round \(expectedRound)") }
                expectedRound = r + 1
                roundsPresent[r, default: 0] += 1
            }
            #expect(s.points.count >= last + 1, "series \(series) has \(s.points.count) points, \(last + 1) committed")
        }
        // A round is one WAL record: present for every series or for none.
        for (r, n) in roundsPresent where r > last { #expect(n == point.series, "round \(r) is in \(n) of \(point.series) series") }

        // The recovered store takes new writes.
        let ref = try store.seriesRef(for: Labels(["__name__": "crash_test", "series": "0"]))
        var batch = SampleBatch()
        batch.append(ref, Int64(last + 1_000) * 10_000, 42)
        #expect(try store.append(batch).accepted == 1)
        let after = try await store.select([.equal("series", "0")], from: Int64(last + 1_000) * 10_000, to: .max)
        #expect(after.first?.points == [StratusMetrics.Point(timestamp: Int64(last + 1_000) * 10_000, value: 42)])
    }

    /// The highest N of complete "committed N" lines.
    static func lastCommitted(_ text: String) -> Int {
        var last = -1
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where text.hasSuffix("\n") || line != text.split(separator: "\n").last {
            if line.hasPrefix("committed "), let n = Int(line.dropFirst(10)) { last = max(last, n) }
        }
        return last
    }
}
