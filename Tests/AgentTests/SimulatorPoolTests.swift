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
        var o = SimulatorOptions(manager: "http://127.0.0.1:8080", hosts: 3, vms: 12, adminPassword: "pw")
        #expect(throws: Never.self) { try o.validate() }
        o.hosts = 0
        #expect(throws: SimulatorError.self) { try o.validate() }
        do { try o.validate() } catch { #expect(error.description.contains("--hosts")) }
        o.hosts = 3
        o.adminPassword = ""
        do { try o.validate() } catch { #expect(error.description.contains("STRATUS_ADMIN_PASSWORD")) }
        o.adminPassword = "pw"
        o.manager = "127.0.0.1:8080"
        do { try o.validate() } catch { #expect(error.description.contains("--manager")) }
        o.manager = "http://x"
        o.duration = 500
        do { try o.validate() } catch { #expect(error.description.contains("--duration")) }
    }
}
