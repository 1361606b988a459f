import Foundation
import Synchronization
import Testing
@testable import StratusMetrics

/// `IngestQuiet`: background slices wait for a gap between appends, give up on a stream that never
/// pauses, and then stop waiting for the backoff. Bounds are loose (the machine may be busy); each
/// check fails if the behaviour is missing, not if the machine is slow.
@Suite struct IngestQuietTests {
    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Starts a thread that notes an append every 10 ms (a stream that never pauses) until the
    /// returned flag is cleared.
    private static func steadyAppends(_ quiet: IngestQuiet) -> RunningFlag {
        let running = RunningFlag()
        Thread {
            while running.value.load(ordering: .relaxed) {
                quiet.noteAppend()
                Thread.sleep(forTimeInterval: 0.01)
            }
        }.start()
        return running
    }

    @Test func noRecentAppendMeansNoWait() {
        let quiet = IngestQuiet(gap: 0.2, limit: 5, backoff: 60)
        #expect(Self.seconds { quiet.wait() } < 0.15)
    }

    @Test func aWaitEndsOneGapAfterTheLastAppend() {
        let quiet = IngestQuiet(gap: 0.3, limit: 5, backoff: 60)
        quiet.noteAppend()
        let waited = Self.seconds { quiet.wait() }
        #expect(waited >= 0.25 && waited < 2.5, "waited \(waited) s")
    }

    @Test func aStreamThatNeverPausesEndsTheWaitAtTheLimitThenBackoffSkipsWaiting() async throws {
        let quiet = IngestQuiet(gap: 0.2, limit: 0.6, backoff: 60)
        let running = Self.steadyAppends(quiet)
        defer { running.value.store(false, ordering: .relaxed) }
        quiet.noteAppend()
        let first = Self.seconds { quiet.wait() }
        #expect(first >= 0.55 && first < 4, "the first wait ran to the limit: \(first) s")
        #expect(quiet.waitsGivenUp == 1, "the give-up is counted (`TSDBStats.quietWaitsGivenUp`)")
        let second = Self.seconds { quiet.wait() }
        #expect(second < 0.15, "within the backoff the next wait returns at once: \(second) s")
        #expect(quiet.waitsGivenUp == 1, "a wait skipped in the backoff did not give up")
    }

    @Test func anAsyncLullEndsOneGapAfterTheLastAppendOrAtItsLimitWithoutBackingOff() async throws {
        let quiet = IngestQuiet(gap: 0.3, limit: 1, backoff: 60)
        var start = DispatchTime.now().uptimeNanoseconds
        await quiet.lull(limit: 120_000_000_000)
        #expect(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < 0.15, "no recent append: no wait (no sleep at all)")
        quiet.noteAppend()
        start = DispatchTime.now().uptimeNanoseconds
        await quiet.lull(limit: 120_000_000_000)
        let afterGap = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // Loose: in a full test run the cooperative pool is busy and a task's sleep can end tens
        // of seconds late; what matters is that the lull ended long before its 120 s limit.
        #expect(afterGap >= 0.25 && afterGap < 90, "waited \(afterGap) s")
        // Appends every 10 ms never leave a 0.3 s gap: the lull ends at its 0.5 s limit.
        let running = Self.steadyAppends(quiet)
        defer { running.value.store(false, ordering: .relaxed) }
        quiet.noteAppend()
        start = DispatchTime.now().uptimeNanoseconds
        await quiet.lull(limit: 500_000_000)
        let atLimit = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        #expect(atLimit >= 0.45 && atLimit < 90, "ran to the limit: \(atLimit) s")
        #expect(quiet.waitsGivenUp == 0, "a lull's own limit is not a background give-up")
        let slice = Self.seconds { quiet.wait() }
        #expect(slice >= 0.25, "no backoff started: a background slice still waits (\(slice) s)")
    }

    /// Like `steadyAppends`, with each append's newest sample `age` ms old by the wall clock.
    private static func steadyAppends(_ quiet: IngestQuiet, age: Int64) -> RunningFlag {
        let running = RunningFlag()
        Thread {
            while running.value.load(ordering: .relaxed) {
                quiet.noteAppend()
                quiet.noteNewest(RocksMetricStore.wallClock() - age, wallNow: RocksMetricStore.wallClock())
                Thread.sleep(forTimeInterval: 0.01)
            }
        }.start()
        return running
    }

    @Test func onTimeBatchesAreNotABacklogAndAGiveUpStillBacksOff() {
        let quiet = IngestQuiet(gap: 0.2, limit: 0.5, backoff: 60, lateAfter: 10, backlogDeferral: 60)
        let running = Self.steadyAppends(quiet, age: 2_000)
        defer { running.value.store(false, ordering: .relaxed) }
        Thread.sleep(forTimeInterval: 0.05)
        #expect(!quiet.isBehind(), "samples 2 s old are on time")
        _ = Self.seconds { quiet.wait() }
        #expect(quiet.waitsGivenUp == 1 && quiet.waitsDeferredToBacklog == 0)
        #expect(Self.seconds { quiet.wait() } < 0.15, "the backoff skips the next wait")
    }

    @Test func inABacklogAGiveUpStartsNoBackoffUntilTheDeferralRunsOut() {
        let quiet = IngestQuiet(gap: 0.2, limit: 0.5, backoff: 60, lateAfter: 10, backlogDeferral: 1.2)
        let running = Self.steadyAppends(quiet, age: 30_000)
        defer { running.value.store(false, ordering: .relaxed) }
        Thread.sleep(forTimeInterval: 0.05)
        #expect(quiet.isBehind(), "samples 30 s old arrive late")
        let first = Self.seconds { quiet.wait() }
        #expect(first >= 0.45, "the first wait ran to its limit: \(first) s")
        #expect(quiet.waitsDeferredToBacklog == 1 && quiet.waitsGivenUp == 0, "a give-up in a backlog is a deferral")
        let second = Self.seconds { quiet.wait() }
        #expect(second >= 0.45, "no backoff: the next slice waits again (\(second) s)")
        // The deferral (1.2 s from the first give-up) runs out: then the backoff starts as before.
        var waits = 0
        while quiet.waitsGivenUp == 0 && waits < 20 {
            quiet.wait()
            waits += 1
        }
        #expect(quiet.waitsGivenUp == 1, "a backlog outlasting the deferral gets the backoff")
        #expect(Self.seconds { quiet.wait() } < 0.15, "the backoff skips the next wait")
    }

    @Test func stopEndsAWait() {
        let quiet = IngestQuiet(gap: 10, limit: 20, backoff: 60)
        quiet.noteAppend()
        let deadline = DispatchTime.now().uptimeNanoseconds + 200_000_000
        let waited = Self.seconds { quiet.wait { DispatchTime.now().uptimeNanoseconds >= deadline } }
        #expect(waited >= 0.15 && waited < 3, "waited \(waited) s")
    }
}

private final class RunningFlag: Sendable {
    let value = Atomic<Bool>(true)
}
