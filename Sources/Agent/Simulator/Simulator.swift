import Control
import Foundation
import StratusMetrics
import Synchronization

/// `stratus simulate`: N hosts and M VMs registered through the manager's real API, each host
/// pushing its and its VMs' whole ZWatch catalog every interval, on the grid, as a real agent would.
///
/// One thread runs the rounds: at each grid time it walks the hosts in order of their send jitter
/// (≤ `sendJitterFraction` × interval, random per host and round), generates the host's batch at
/// its send time (values stamped on the grid) and queues it; a `CurlWorkerPool` encodes it as a
/// compact batch (`AgentRefBatchEncoder`, series by the refs the manager answered) and sends it.
/// The queue is bounded at `bufferRounds` rounds of batches (as an agent's spool is bounded):
/// when the manager falls behind for longer, the oldest waiting batch is dropped and counted rather
/// than piling up. A progress line prints every round.
///
/// ```swift
/// let summary = try Simulator(options: opts).run()
/// ```
public final class Simulator {
    public let options: SimulatorOptions
    private let output: @Sendable (String) -> Void
    private let client: SimManagerClient

    /// Set from a signal handler to end the run after the current host (the summary still prints).
    public static let stopRequested = Atomic<Bool>(false)

    public init(options: SimulatorOptions, output: @escaping @Sendable (String) -> Void = { line in
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }) {
        self.options = options
        self.output = output
        client = SimManagerClient(manager: options.manager)
    }

    /// Registers, reports, then streams until the duration ends (or a stop is requested).
    public func run() throws(SimulatorError) -> SimulatorSummary {
        try options.validate()
        let setupStart = Date()
        let fleet = SimFleet(seed: options.seed, hosts: options.hosts, vms: options.vms, namePrefix: options.namePrefix)
        let pool = CurlWorkerPool(workers: options.connections, bulkCapacity: options.hosts * options.bufferRounds)
        defer { pool.shutdown() }
        let stats = SimStats()

        // Login and registration.
        let session: String
        do {
            session = try client.session(from: try pool.perform(client.loginRequest(password: options.adminPassword)))
        } catch let e as SimulatorError {
            throw e
        } catch {
            throw .unreachable("login at \(client.base): \(error)")
        }
        let registered = try register(fleet, session: session, pool: pool)
        output("registered \(fleet.hosts.count) hosts in \(Self.seconds(since: setupStart)) s")

        // Series tables (the texts every round reuses), built on all cores.
        let tables = Self.buildTables(fleet, uuids: registered.map(\.uuid))
        var model = SimValueModel(fleet: fleet, interval: options.interval)
        let tokens = registered.map(\.token)
        let refs = tables.map { SimHostRefs(count: $0.series.count) }

        // Every host's VM list, once.
        let now0 = Self.nowMs()
        for h in fleet.hosts.indices {
            let request = client.vmReportRequest(token: tokens[h], report: model.vmReport(host: h, time: now0))
            let name = fleet.hosts[h].name
            pool.submit(urgent: true) { conn in Self.send(request, on: conn, stats: stats, what: "VM report of \(name)") { _ in stats.reportedVMs() } }
        }
        pool.waitIdle(timeout: 600)
        var summary = SimulatorSummary()
        summary.hosts = fleet.hosts.count
        summary.vms = fleet.vms.count
        summary.setupSeconds = Date().timeIntervalSince(setupStart)
        let initial = stats.snapshot
        if initial.errors > 0 {
            output("warning: \(initial.errors) VM reports failed; last: \(stats.takeLastError() ?? "?")")
        }
        output("reported \(fleet.vms.count) VMs (\(model.runningCount) running) in \(Self.seconds(since: setupStart)) s; "
               + "streaming every \(Double(options.interval) / 1000) s")

        // Rounds.
        let interval = options.interval
        let runStart = Self.nowMs()
        let end = options.duration.map { runStart + $0 }
        var stamp = (runStart / interval + 1) * interval
        var sequences = [Int64](repeating: 0, count: fleet.hosts.count)
        var order = Array(fleet.hosts.indices)
        var jitter = [Int64](repeating: 0, count: fleet.hosts.count)
        var previous = stats.snapshot
        var backlogs: [Int] = []
        while !Self.stopRequested.load(ordering: .relaxed) {
            if let end, stamp > end { break }
            Self.sleep(until: stamp)
            if Self.stopRequested.load(ordering: .relaxed) { break }
            let backlog = pool.waiting + pool.running
            backlogs.append(backlog)
            let current = stats.snapshot
            progress(round: summary.rounds, stats: current, previous: previous, backlog: backlog, dropped: pool.dropped,
                     running: model.runningCount, changes: summary.stateChanges, slowest: stats.takeSlowest(), error: stats.takeLastError())
            previous = current

            let k = stamp / interval
            for h in fleet.hosts.indices {
                jitter[h] = Int64(SimNoise.unit(options.seed, SimNoise.key(h, 77), k) * options.sendJitterFraction * Double(interval))
            }
            order.sort { jitter[$0] < jitter[$1] }
            for h in order {
                if Self.stopRequested.load(ordering: .relaxed) { break }
                Self.sleep(until: stamp + jitter[h])
                var values = SimRoundValues(capacity: tables[h].series.count)
                let changes = model.round(host: h, stamp: stamp, table: tables[h], into: &values)
                let token = tokens[h]
                if !changes.isEmpty {
                    summary.stateChanges += changes.count
                    let request = client.vmReportRequest(token: token, report: model.vmReport(host: h, time: Self.nowMs()))
                    let name = fleet.hosts[h].name
                    pool.submit(urgent: true) { conn in
                        Self.send(request, on: conn, stats: stats, what: "VM report of \(name)") { _ in stats.reportedVMs() }
                    }
                }
                sequences[h] += 1
                let sequence = sequences[h], client = self.client, table = tables[h], hostRefs = refs[h], round = values
                pool.submit { conn in
                    Self.push(round, table: table, refs: hostRefs, token: token, sequence: sequence, client: client, on: conn, stats: stats)
                }
            }
            summary.rounds += 1
            var next = stamp + interval
            let now = Self.nowMs()
            if now >= next + interval {
                let skip = Int((now - next) / interval)
                summary.skippedRounds += skip
                next += Int64(skip) * interval
            }
            stamp = next
        }

        // Let the last round go out, then the final line.
        pool.waitIdle(timeout: max(5, Double(interval) / 1000 * 2))
        let last = stats.snapshot
        progress(round: summary.rounds, stats: last, previous: previous, backlog: pool.waiting + pool.running,
                 dropped: pool.dropped, running: model.runningCount, changes: summary.stateChanges, slowest: stats.takeSlowest(), error: stats.takeLastError())
        summary.runningVMs = model.runningCount
        summary.batches = last.batches
        summary.samples = last.samples
        summary.rejected = last.rejected
        summary.errors = last.errors
        summary.dropped = pool.dropped
        summary.vmReports = last.vmReports
        summary.slowestPushMs = last.slowestEverMs
        summary.backlogStart = backlogs.count > 1 ? backlogs[1] : (backlogs.first ?? 0)
        summary.backlogEnd = backlogs.last ?? 0
        summary.backlogMax = backlogs.max() ?? 0
        summary.runSeconds = Double(Self.nowMs() - runStart) / 1000
        if let json = try? JSONEncoder().encode(summary) {
            output("summary " + String(decoding: json, as: UTF8.self))
        }
        return summary
    }

    // MARK: - Pieces

    /// Registers every host (concurrently); their uuids and tokens by host index.
    private func register(_ fleet: SimFleet, session: String, pool: CurlWorkerPool) throws(SimulatorError) -> [(uuid: String, token: String)] {
        let results = Mutex<[Int: Result<(uuid: String, token: String), SimulatorError>]>([:])
        let client = self.client
        for host in fleet.hosts {
            let request = client.registerRequest(session: session, host: host)
            pool.submit(urgent: true) { conn in
                let r: Result<(uuid: String, token: String), SimulatorError>
                do {
                    r = .success(try client.registration(from: try conn.perform(request), host: host.name))
                } catch let e as SimulatorError {
                    r = .failure(e)
                } catch {
                    r = .failure(.unreachable("register host \(host.name): \(error)"))
                }
                results.withLock { $0[host.index] = r }
            }
        }
        pool.waitIdle(timeout: 3_600)
        return try results.withLock { all throws(SimulatorError) in
            var out: [(uuid: String, token: String)] = []
            for h in fleet.hosts.indices {
                guard let r = all[h] else { throw .unreachable("register host \(fleet.hosts[h].name): no answer") }
                out.append(try r.get())
            }
            return out
        }
    }

    static func buildTables(_ fleet: SimFleet, uuids: [String]) -> [SimHostSeries] {
        let built = Mutex<[SimHostSeries?]>(Array(repeating: nil, count: fleet.hosts.count))
        let chunks = max(1, min(fleet.hosts.count, ProcessInfo.processInfo.activeProcessorCount * 4))
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            var local: [(Int, SimHostSeries)] = []
            for h in stride(from: c, to: fleet.hosts.count, by: chunks) {
                local.append((h, SimHostSeries(host: fleet.hosts[h], fleet: fleet, hostUuid: uuids[h])))
            }
            built.withLock { for (h, t) in local { $0[h] = t } }
        }
        return built.withLock { $0.map { $0! } }
    }

    /// Sends one host's round as a compact batch (series the manager answered refs for by ref, the
    /// rest by text), remembers the refs the reply answers, and after a 409 (the manager forgot the
    /// refs) sends it once more with every series as text.
    static func push(_ round: SimRoundValues, table: SimHostSeries, refs: SimHostRefs, token: String, sequence: Int64,
                     client: SimManagerClient, on conn: CurlConnection, stats: SimStats) {
        let started = nowMs()
        for attempt in 0..<2 {
            let (body, texts) = refs.encode(round, table: table)
            let r: CurlReply
            do {
                r = try conn.perform(client.pushRequest(token: token, body: body, sequence: sequence))
            } catch {
                stats.failed("push: \(error)")
                return
            }
            if r.status == 409 && attempt == 0 {
                refs.forget()
                continue
            }
            guard (200..<300).contains(r.status) else {
                stats.failed("push: HTTP \(r.status) \(r.text.prefix(200))")
                return
            }
            let reply = try? JSONDecoder().decode(AgentPushReply.self, from: Data(r.body))
            refs.learn(texts, refs: reply?.refs)
            stats.pushed(samples: reply?.accepted ?? round.count, rejected: reply?.rejected ?? 0, ms: nowMs() - started)
            return
        }
    }

    /// Performs a request on a worker, counting a failure (transport or non-2xx) in `stats`.
    static func send(_ request: OutboundRequest, on conn: CurlConnection, stats: SimStats, what: String,
                     ok: (CurlReply) -> Void) {
        do {
            let r = try conn.perform(request)
            if (200..<300).contains(r.status) {
                ok(r)
            } else {
                stats.failed("\(what): HTTP \(r.status) \(r.text.prefix(200))")
            }
        } catch {
            stats.failed("\(what): \(error)")
        }
    }

    private func progress(round: Int, stats s: SimStats.Counters, previous p: SimStats.Counters, backlog: Int, dropped: Int,
                          running: Int, changes: Int, slowest: Int64, error: String?) {
        var line = "round \(round): samples \(s.samples) (+\(s.samples - p.samples)), batches \(s.batches) (+\(s.batches - p.batches)), "
            + "backlog \(backlog), dropped \(dropped), errors \(s.errors), rejected \(s.rejected), "
            + "slowest push \(slowest) ms, running VMs \(running), state changes \(changes)"
        if let error { line += "; last error: \(error)" }
        output(line)
    }

    static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    static func seconds(since d: Date) -> String { String(format: "%.1f", Date().timeIntervalSince(d)) }

    /// Sleeps until the wall clock reaches `ms` (in slices, so a stop request is seen soon).
    static func sleep(until ms: Int64) {
        while !stopRequested.load(ordering: .relaxed) {
            let left = ms - nowMs()
            if left <= 0 { return }
            usleep(UInt32(min(left, 200) * 1000))
        }
    }
}
