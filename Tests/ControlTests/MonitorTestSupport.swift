import Control
import Foundation
import Libvirt
import Synchronization

/// A clock that moves only when a test calls `advance(to:)`; sleepers wake as their deadline
/// passes, and a cancelled sleeper throws `CancellationError` at once.
final class ManualControlClock: ControlClock {
    private struct Sleeper {
        let id: Int
        let deadline: Int64
        let continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var now: Int64
        var nextID = 0
        var sleepers: [Sleeper] = []
    }
    private let state: Mutex<State>

    init(start: Int64) { state = Mutex(State(now: start)) }

    func now() -> Int64 { state.withLock { $0.now } }
    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    func sleep(until deadline: Int64) async throws {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.now >= deadline { return true }
                    s.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: c))
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                guard let i = s.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.sleepers.remove(at: i).continuation
            }
            c?.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    func advance(to time: Int64) {
        let due = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.now = max(s.now, time)
            let due = s.sleepers.filter { $0.deadline <= s.now }
            s.sleepers.removeAll { $0.deadline <= s.now }
            return due.map(\.continuation)
        }
        for c in due { c.resume() }
    }
}

/// A hypervisor whose reachability, VMs and events a test controls.
final class FakeHypervisor: Hypervisor {
    struct State {
        var reachable = true
        /// isAlive never returns (until `release()`), like a peer that stopped answering mid-call.
        var hang = false
        var vms: [ReportedVM] = []
        var pings = 0
        var reconnects = 0
        var subscriptions = 0
    }
    let uri = "fake://host"
    let state = Mutex(State())
    private let hung = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let events = Mutex<AsyncStream<VMLifecycleEvent>.Continuation?>(nil)

    func set(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }
    var snapshot: State { state.withLock { $0 } }

    /// Pushes an event to the current subscriber.
    func emit(_ e: VMLifecycleEvent) { _ = events.withLock { $0 }?.yield(e) }
    /// Ends the current event stream, as a hypervisor whose connection dropped would.
    func endEvents() { events.withLock { $0 }?.finish() }
    /// Lets hung calls return (false).
    func release() {
        set { $0.hang = false }
        for c in hung.withLock({ h in defer { h = [] }; return h }) { c.resume() }
    }

    func hostFacts() async throws -> HostFacts { HostFacts(hostname: "fake", cpuNum: 4, memorySize: 1 << 33) }

    func listVMs() async throws -> [ReportedVM] {
        let s = snapshot
        guard s.reachable else { throw ControlError.hypervisor(uri: uri, message: "unreachable") }
        return s.vms
    }

    func isAlive() async -> Bool {
        let s = state.withLock { s -> State in s.pings += 1; return s }
        if s.hang {
            await withCheckedContinuation { c in hung.withLock { $0.append(c) } }
            return false
        }
        return s.reachable
    }

    func reconnect() async throws {
        let s = state.withLock { s -> State in s.reconnects += 1; return s }
        guard s.reachable else { throw ControlError.hypervisor(uri: uri, message: "connection refused") }
    }

    func vmEvents() async throws -> AsyncStream<VMLifecycleEvent> {
        set { $0.subscriptions += 1 }
        let (stream, continuation) = AsyncStream.makeStream(of: VMLifecycleEvent.self)
        events.withLock { $0 = continuation }
        return stream
    }

    func start(vmUuid: String) async throws {}
    func stop(vmUuid: String, force: Bool) async throws {}
    func pause(vmUuid: String) async throws {}
    func resume(vmUuid: String) async throws {}
    func reboot(vmUuid: String) async throws {}
}

/// Waits (up to `seconds`, only to stop waiting: a loaded machine running the whole suite can be
/// slow) until `condition` holds; returns whether it did.
func eventually(seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// A generated test-driver node XML in a temp file, removed when the value is released.
final class NodeFile {
    let path: String
    var uri: String { "test://\(path)" }

    init(domains: [TestDriverNode.DomainSpec]) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-ctl-\(UUID().uuidString).xml").path
        try TestDriverNode.xml(hostName: "node", cpus: 4, memoryMiB: 8192, domains: domains)
            .write(toFile: path, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
