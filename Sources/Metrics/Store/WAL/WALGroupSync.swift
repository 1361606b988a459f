import Foundation

/// Group commit without a thread per waiter: a writer registers "call me when the WAL is on disk
/// through offset X" and gets its thread back at once; one dedicated thread fsyncs back to back
/// while anyone waits, and each fsync answers every waiter whose record it covers.
///
/// With a blocking `sync(through:)` each push held a pool thread for ~1.5 fsyncs (6 ms each on
/// this machine's disk), so the pool size over the fsync time capped the pushes per second no
/// matter how idle the CPU was.
// @unchecked Sendable: every mutable field is guarded by `condition` (an NSCondition lock).
final class WALGroupSync: @unchecked Sendable {
    typealias Done = @Sendable (Result<Void, any Error>) -> Void
    /// Makes the log durable through the offset (or throws); runs on the sync thread.
    typealias Sync = @Sendable (Int) throws -> Void

    private let condition = NSCondition()
    private var waiting: [(offset: Int, done: Done)] = []
    private var started = false
    private var stopped = false
    private var finished = false
    private let name: String
    private let sync: Sync

    init(name: String, sync: @escaping Sync) {
        self.name = name
        self.sync = sync
    }

    /// Calls `done` (on the sync thread, or inline once stopped) when everything up to `offset`
    /// is on disk, or with the error the fsync failed with.
    func whenDurable(through offset: Int, _ done: @escaping Done) {
        condition.lock()
        if stopped {
            condition.unlock()
            done(Result { try sync(offset) })
            return
        }
        waiting.append((offset, done))
        if !started {
            started = true
            let thread = Thread { [self] in run() }
            thread.name = name
            thread.stackSize = 1 << 20
            thread.start()
        }
        condition.signal()
        condition.unlock()
    }

    /// Answers everyone still waiting (one last fsync), then ends the thread; later calls sync inline.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while started && !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while waiting.isEmpty && !stopped { condition.wait() }
            if waiting.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = waiting
            waiting.removeAll(keepingCapacity: true)
            condition.unlock()
            var through = 0
            for w in batch where w.offset > through { through = w.offset }
            let result = Result { try sync(through) }
            for w in batch { w.done(result) }
        }
    }
}
