import ArgumentParser
import Foundation
import StratusMetrics
import Synchronization

/// `StratusBench lock-contention`: the store's lock under an agent push burst, with Swift's
/// `Synchronization.Mutex` (on Linux a priority-inheritance futex that hands a contended lock to a
/// waiter before it runs) against `PlainMutex` (a pthread mutex), on the same work in one run.
///
/// `--threads` workers (the ingest pool) each loop: `--outside-us` of work without the lock (a
/// push's decode), then `--inside-us` holding it (its appends). `--hogs` threads spin beside them
/// (the simulator, the event loops: on a 2-core manager the cores are never free for long). One
/// JSON line per lock: critical sections per second and the p50 / p99 / max wait for the lock.
struct LockContention: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lock-contention",
                                                    abstract: "Mutex vs PlainMutex under an ingest-like burst (one JSON line each).")

    @Option(help: "Worker threads taking the lock.") var threads = 4
    @Option(help: "Microseconds of work each iteration does without the lock.") var outsideUs = 100
    @Option(help: "Microseconds of work each iteration does holding the lock.") var insideUs = 250
    @Option(help: "Busy threads beside the workers.") var hogs = 1
    @Option(help: "Seconds per lock.") var seconds = 5.0

    struct Figures: Codable {
        var lock: String
        var threads: Int
        var hogs: Int
        var insideUs: Int
        var outsideUs: Int
        var sectionsPerSecond: Double
        /// Share of the wall time the lock was held (1.0: the lock was the bottleneck and never idle).
        var lockBusy: Double
        var waitP50Us: Double
        var waitP99Us: Double
        var waitMaxUs: Double
    }

    /// What the threads of one measurement share.
    final class Shared: Sendable {
        let stop = Atomic<Bool>(false)
        /// Nanoseconds the lock was held, in all.
        let held = Atomic<UInt64>(0)
        /// Every wait for the lock (ns).
        let waits = Mutex<[UInt64]>([])
    }

    final class SwiftMutex: Sendable { let mutex = Mutex<Int>(0) }

    typealias Lock = @Sendable (() -> Void) -> Void

    func run() throws {
        let swift = SwiftMutex(), plain = PlainMutex<Int>(0)
        let locks: [(String, Lock)] = [("Synchronization.Mutex", { body in swift.mutex.withLock { _ in body() } }),
                                       ("PlainMutex", { body in plain.withLock { _ in body() } })]
        for (name, lock) in locks {
            let json = try JSONEncoder().encode(measure(name, lock))
            print(String(decoding: json, as: UTF8.self))
        }
    }

    /// Runs the workers and hogs for `seconds` with `lock` and collects the figures.
    private func measure(_ name: String, _ lock: @escaping Lock) -> Figures {
        let shared = Shared()
        let group = DispatchGroup()
        let inside = UInt64(insideUs) * 1_000, outside = UInt64(outsideUs) * 1_000
        for _ in 0..<hogs {
            group.enter()
            Thread {
                while !shared.stop.load(ordering: .relaxed) { Self.spin(1_000_000) }
                group.leave()
            }.start()
        }
        let start = Self.now()
        for _ in 0..<threads {
            group.enter()
            Thread {
                var mine: [UInt64] = []
                mine.reserveCapacity(100_000)
                while !shared.stop.load(ordering: .relaxed) {
                    Self.spin(outside)
                    let asked = Self.now()
                    lock {
                        let got = Self.now()
                        mine.append(got - asked)
                        Self.spin(inside)
                        shared.held.add(Self.now() - got, ordering: .relaxed)
                    }
                }
                shared.waits.withLock { $0 += mine }
                group.leave()
            }.start()
        }
        Thread.sleep(forTimeInterval: seconds)
        shared.stop.store(true, ordering: .relaxed)
        group.wait()
        let wall = Double(Self.now() - start)
        let sorted = shared.waits.withLock { $0 }.sorted()
        func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1_000 }
        return Figures(lock: name, threads: threads, hogs: hogs, insideUs: insideUs, outsideUs: outsideUs,
                       sectionsPerSecond: Double(sorted.count) / (wall / 1e9), lockBusy: Double(shared.held.load(ordering: .relaxed)) / wall,
                       waitP50Us: pct(0.5), waitP99Us: pct(0.99), waitMaxUs: Double(sorted.last ?? 0) / 1_000)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Busy work for `ns` nanoseconds (reads the clock every 64 steps).
    static func spin(_ ns: UInt64) {
        let end = now() + ns
        var x: UInt64 = 1
        while true {
            for _ in 0..<64 { x = x &* 6364136223846793005 &+ 1442695040888963407 }
            if now() >= end { break }
        }
        if x == 0 { print("") }  // keeps the loop
    }
}
