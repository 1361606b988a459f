import CLibvirt
import Foundation
import Libvirt
import Synchronization
import Testing

/// Collects events delivered on libvirt's event thread and waits for them with a deadline.
final class EventRecorder: Sendable {
    private let events = Mutex<[DomainLifecycleEvent]>([])

    func record(_ e: DomainLifecycleEvent) { events.withLock { $0.append(e) } }
    var all: [DomainLifecycleEvent] { events.withLock { $0 } }

    /// Waits (up to `seconds`, only to stop waiting) until `count` events have arrived; returns them all.
    func wait(for count: Int, seconds: Double = 10) async throws -> [DomainLifecycleEvent] {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while all.count < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        return all
    }
}

/// Lifecycle events from libvirt's test driver, which emits them for changes made through the same
/// connection. Each test uses its own node file (test:///default is shared by the whole process).
@Suite struct DomainEventsTests {
    let uuid = "6695eb01-f6a4-8304-79aa-97f2502e1930"

    func node() throws -> TestDriverFile {
        try TestDriverFile(domains: [.init(name: "ev-vm", uuid: uuid), .init(name: "ev-off", uuid: "6695eb01-f6a4-8304-79aa-97f2502e1931", running: false)])
    }

    @Test func eachStateChangeArrivesAsOneEventInOrder() async throws {
        let file = try node()
        let conn = try LibvirtConnection(uri: file.uri)
        let recorder = EventRecorder()
        let sub = try conn.subscribeLifecycleEvents { recorder.record($0) }
        defer { sub.cancel() }

        try conn.suspend(uuid: uuid)
        try conn.resume(uuid: uuid)
        try conn.destroy(uuid: uuid)
        try conn.start(uuid: uuid)
        let got = try await recorder.wait(for: 4)
        #expect(got.map(\.type) == [.suspended, .resumed, .stopped, .started])
        #expect(got.map(\.detailName) == ["Suspended/Paused", "Resumed/Unpaused", "Stopped/Destroyed", "Started/Booted"])
        #expect(got.allSatisfy { $0.uuid == uuid && $0.name == "ev-vm" })
        #expect(got.allSatisfy { $0.crashReason == nil })
    }

    @Test func theAsyncStreamDeliversEvents() async throws {
        let file = try node()
        let conn = try LibvirtConnection(uri: file.uri)
        let stream = try conn.lifecycleEvents()
        let reader = Task { () -> DomainLifecycleEvent? in
            for await e in stream { return e }
            return nil
        }
        try conn.start(uuid: "6695eb01-f6a4-8304-79aa-97f2502e1931")
        let first = try #require(await reader.value)
        #expect(first.type == .started && first.name == "ev-off")
    }

    @Test func aSubscriptionSurvivesReopenWithoutDuplicates() async throws {
        let file = try node()
        let conn = try LibvirtConnection(uri: file.uri)
        let kept = EventRecorder()
        let sub = try conn.subscribeLifecycleEvents { kept.record($0) }
        defer { sub.cancel() }

        conn.close()
        #expect(!conn.isAlive)
        try conn.reopen()
        #expect(conn.isAlive)
        // A fresh test-driver connection reloads the node file: the domain runs again.
        try conn.suspend(uuid: uuid)
        let got = try await kept.wait(for: 1)
        #expect(got.map(\.type) == [.suspended])

        // Reopen while open: the old registration goes away with the old connection.
        try conn.reopen()
        try conn.suspend(uuid: uuid)
        #expect(try await kept.wait(for: 2).map(\.type) == [.suspended, .suspended])
        // A second subscriber proves the dispatch round is over, so a duplicate would be here by now.
        let witness = EventRecorder()
        let w = try conn.subscribeLifecycleEvents { witness.record($0) }
        defer { w.cancel() }
        try conn.resume(uuid: uuid)
        #expect(try await witness.wait(for: 1).map(\.type) == [.resumed])
        #expect(kept.all.map(\.type) == [.suspended, .suspended, .resumed])
    }

    @Test func aCancelledSubscriptionHearsNothingMore() async throws {
        let file = try node()
        let conn = try LibvirtConnection(uri: file.uri)
        let cancelled = EventRecorder(), witness = EventRecorder()
        let sub = try conn.subscribeLifecycleEvents { cancelled.record($0) }
        let w = try conn.subscribeLifecycleEvents { witness.record($0) }
        defer { w.cancel() }
        try conn.suspend(uuid: uuid)
        #expect(try await cancelled.wait(for: 1).count == 1)
        sub.cancel()
        sub.cancel()
        try conn.resume(uuid: uuid)
        #expect(try await witness.wait(for: 2).map(\.type) == [.suspended, .resumed])
        #expect(cancelled.all.map(\.type) == [.suspended])
    }

    @Test func crashReasonsFollowLibvirtsDetails() {
        func e(_ t: DomainEventType, _ d: Int32) -> DomainLifecycleEvent { .init(uuid: uuid, name: "x", type: t, detail: d) }
        #expect(e(.stopped, Int32(VIR_DOMAIN_EVENT_STOPPED_CRASHED.rawValue)).crashReason == "crashed")
        #expect(e(.stopped, Int32(VIR_DOMAIN_EVENT_STOPPED_DESTROYED.rawValue)).crashReason == nil)
        #expect(e(.stopped, Int32(VIR_DOMAIN_EVENT_STOPPED_FAILED.rawValue)).crashReason == nil)
        #expect(e(.crashed, Int32(VIR_DOMAIN_EVENT_CRASHED_PANICKED.rawValue)).crashReason == "panicked")
        #expect(e(.crashed, Int32(VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED.rawValue)).crashReason == "crashloaded")
        #expect(e(.started, 0).crashReason == nil)
        #expect(e(.stopped, 99).detailName == "Stopped/99")
        #expect(e(.pmSuspended, 0).detailName == "PmSuspended/Memory")
    }

    @Test func keepAliveIsReportedUnsupportedOnTheTestDriver() throws {
        let file = try node()
        let conn = try LibvirtConnection(uri: file.uri)
        #expect(try conn.setKeepAlive(interval: 5, count: 3) == false)
        #expect(LibvirtEventLoop.ensureRunning())
        #expect(LibvirtEventLoop.failure == nil)
    }

    @Test func reopenOfABadURIKeepsTheOldConnection() throws {
        // A node file that disappears makes the next open fail; the open connection must survive.
        let file = try node()
        let conn = try LibvirtConnection(uri: file.uri)
        try FileManager.default.removeItem(atPath: file.path)
        #expect(throws: LibvirtError.self) { try conn.reopen() }
        #expect(conn.isAlive)
        #expect(try conn.domain(uuid: uuid).state == .running)
    }
}
