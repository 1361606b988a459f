import Foundation
import Testing
@testable import StratusMetrics

/// `PlainMutex`: mutual exclusion across threads, and a throwing body releases the lock.
@Suite struct PlainMutexTests {
    @Test func concurrentIncrementsAreNeverLost() {
        let counter = PlainMutex((value: 0, inside: 0, overlaps: 0))
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                for _ in 0..<20_000 {
                    counter.withLock { c in
                        c.inside += 1
                        if c.inside > 1 { c.overlaps += 1 }
                        c.value += 1
                        c.inside -= 1
                    }
                }
                group.leave()
            }.start()
        }
        group.wait()
        let end = counter.withLock { $0 }
        #expect(end.value == 80_000, "every increment of four threads counted")
        #expect(end.overlaps == 0, "no two bodies ran at once")
    }

    struct Refused: Error, Equatable { let reason: String }

    @Test func aTypedThrowLeavesTheValueAsTheBodyLeftItAndReleasesTheLock() throws {
        let box = PlainMutex([1, 2])
        #expect(throws: Refused(reason: "full")) {
            try box.withLock { (v: inout [Int]) throws(Refused) in
                v.append(3)
                throw Refused(reason: "full")
            }
        }
        // Not held any more: another thread takes it at once.
        let taken = DispatchSemaphore(value: 0)
        Thread {
            box.withLock { $0.append(4) }
            taken.signal()
        }.start()
        #expect(taken.wait(timeout: .now() + 30) == .success, "the lock was released by the throw")
        #expect(box.withLock { $0 } == [1, 2, 3, 4])
    }
}
