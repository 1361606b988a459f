import Agent
import Control
import Foundation
import Synchronization
import Testing

/// The simulator's plumbing: the bounded send pool, its options and durations.
@Suite struct SimulatorPoolTests {
    @Test func aFullBulkLaneDropsTheOldestAndCountsIt() {
        let pool = CurlWorkerPool(workers: 1, bulkCapacity: 3)
        defer { pool.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let ran = Mutex<[Int]>([])
        pool.submit { _ in started.signal(); gate.wait() }  // holds the only worker
        started.wait()
        var drops = 0
        for i in 0..<5 where pool.submit({ _ in ran.withLock { $0.append(i) } }) { drops += 1 }
        pool.submit(urgent: true) { _ in ran.withLock { $0.append(100) } }
        #expect(drops == 2)
        #expect(pool.dropped == 2)
        #expect(pool.waiting == 4)
        gate.signal()
        #expect(pool.waitIdle(timeout: 10))
        // Urgent first, never dropped; then the newest three bulk jobs in order.
        #expect(ran.withLock { $0 } == [100, 2, 3, 4])
    }

    @Test func aRefusedConnectionIsATransportError() throws {
        let pool = CurlWorkerPool(workers: 2, bulkCapacity: 10)
        defer { pool.shutdown() }
        // Port 1 on loopback: nothing listens there.
        #expect(throws: OutboundHTTPError.self) {
            try pool.perform(OutboundRequest(method: "GET", url: "http://127.0.0.1:1/", connectTimeout: 2_000))
        }
    }

    @Test func durationsParse() {
        #expect(SimDuration.parse("10s") == 10_000)
        #expect(SimDuration.parse("500ms") == 500)
        #expect(SimDuration.parse("10m") == 600_000)
        #expect(SimDuration.parse("1h") == 3_600_000)
        #expect(SimDuration.parse("2.5") == 2_500)
        #expect(SimDuration.parse("ten") == nil)
        #expect(SimDuration.parse("-1s") == nil)
    }

    @Test func badOptionsNameTheFlag() {
        /// The refusal's text, or nil when the options pass.
        func refusal(_ o: SimulatorOptions) -> String? {
            do { try o.validate(); return nil } catch { return error.description }
        }
        var o = SimulatorOptions(manager: "http://127.0.0.1:8080", hosts: 3, vms: 12, adminPassword: "pw")
        #expect(refusal(o) == nil)
        o.hosts = 0
        #expect(refusal(o)?.contains("--hosts") == true)
        o.hosts = 3
        o.adminPassword = ""
        #expect(refusal(o)?.contains("STRATUS_ADMIN_PASSWORD") == true)
        o.adminPassword = "pw"
        o.manager = "127.0.0.1:8080"
        #expect(refusal(o)?.contains("--manager") == true)
        o.manager = "http://x"
        o.duration = 500
        #expect(refusal(o)?.contains("--duration") == true)
        o.duration = nil
        o.bufferRounds = 0
        #expect(refusal(o)?.contains("--buffer-rounds") == true)
        o.bufferRounds = 61
        #expect(refusal(o)?.contains("--buffer-rounds") == true)
        o.bufferRounds = 60
        #expect(refusal(o) == nil)
    }
}
