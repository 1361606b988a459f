import NIOCore
import NIOPosix
import Synchronization

/// Why the manager refused a whole push.
public enum AgentIngestError: Error, Equatable, CustomStringConvertible {
    /// A sample's `HostUuid` label names another host than the one the agent's token belongs to.
    case foreignHost(series: String, labelHost: String?, tokenHost: String)

    public var description: String {
        switch self {
        case let .foreignHost(series, label, token):
            "series \(series) has HostUuid=\(label.map { "'\($0)'" } ?? "(none)"), but the token belongs to host '\(token)': an agent may only push its own host's series; nothing of this batch was stored"
        }
    }
}

/// Totals since the manager started, and the ingest lag over the recent window.
public struct AgentIngestStats: Codable, Sendable, Equatable {
    /// Pushes handled (stored, fully or partly).
    public var batches: Int
    /// Samples stored.
    public var samples: Int
    /// Samples refused (bad lines, refused labels, too old, past retention).
    public var rejected: Int
    /// Request body bytes received (as sent, i.e. compressed).
    public var bytes: Int
    /// Sample time → durable and queryable on the manager, over the window.
    public var lagP50Ms: Int64
    public var lagP99Ms: Int64
    public var lagMaxMs: Int64
    /// Sample time → the push carrying it was received whole and handed to ingest: how late
    /// agents deliver, plus the manager's HTTP queueing. `lag` minus this is the manager's
    /// storing (pool queue, parsing, the store's lock, fsync).
    public var arrivalLagP50Ms: Int64
    public var arrivalLagP99Ms: Int64
    public var arrivalLagMaxMs: Int64
    public var windowSeconds: Int64
    /// Agent hosts that pushed within their liveness threshold.
    public var agentsConnected: Int

    public init(batches: Int, samples: Int, rejected: Int, bytes: Int, lagP50Ms: Int64, lagP99Ms: Int64, lagMaxMs: Int64,
                arrivalLagP50Ms: Int64 = 0, arrivalLagP99Ms: Int64 = 0, arrivalLagMaxMs: Int64 = 0,
                windowSeconds: Int64, agentsConnected: Int) {
        self.batches = batches
        self.samples = samples
        self.rejected = rejected
        self.bytes = bytes
        self.lagP50Ms = lagP50Ms
        self.lagP99Ms = lagP99Ms
        self.lagMaxMs = lagMaxMs
        self.arrivalLagP50Ms = arrivalLagP50Ms
        self.arrivalLagP99Ms = arrivalLagP99Ms
        self.arrivalLagMaxMs = arrivalLagMaxMs
        self.windowSeconds = windowSeconds
        self.agentsConnected = agentsConnected
    }
}

/// The manager's side of `POST AgentProtocol.metricsPath`: inflate, parse the Prometheus text,
/// resolve each series text through a shared `SeriesKeyCache` (labels are parsed only for a series
/// never seen), check that every sample belongs to the pushing host, and append the batch by
/// reference. Replays are harmless: the store replaces a sample with the same series and timestamp.
///
/// `ingest` blocks (gzip, the store's durable append): call it on `NIOThreadPool`.
public final class AgentIngest: Sendable {
    private let store: any BulkAppendingStore
    private let clock: any WallClock
    private let parser = PrometheusTextParser()
    private let cache: Mutex<SeriesKeyCache>
    /// Host uuid → the small number kept as the owner of its cache entries.
    private let owners = Mutex<[String: UInt32]>([:])
    private let totals = Mutex<(batches: Int, samples: Int, rejected: Int, bytes: Int)>((0, 0, 0, 0))
    private let lag: Mutex<IngestLagStats>
    /// Sample time → push received, over the same window.
    private let arrivalLag: Mutex<IngestLagStats>
    /// How many rejections a reply lists.
    static let rejectionsShown = 5

    /// - Parameters:
    ///   - lagWindow: the sliding window of the lag histogram, in ms.
    ///   - cacheLimit: series texts remembered (see `SeriesKeyCache`).
    public init(store: any BulkAppendingStore, clock: any WallClock, lagWindow: Int64 = 60_000, cacheLimit: Int = 1 << 23) {
        self.store = store
        self.clock = clock
        self.cache = Mutex(SeriesKeyCache(initialCapacity: 1 << 16, limit: cacheLimit))
        self.lag = Mutex(IngestLagStats(window: lagWindow))
        self.arrivalLag = Mutex(IngestLagStats(window: lagWindow))
    }

    /// Stores one push from the agent of `hostUuid`. `gzipped` says whether `body` is gzip
    /// (`Content-Encoding: gzip`) or plain text. Throws `MetricsError.invalidSample` for a body that
    /// does not inflate, `AgentIngestError.foreignHost` (nothing stored) for another host's series,
    /// and store failures; bad lines and refused samples are counted in the reply.
    public func ingest(_ body: ByteBuffer, gzipped: Bool, hostUuid: String) throws -> AgentPushReply {
        let arrived = clock.now()
        return finish(try stage(body, gzipped: gzipped, hostUuid: hostUuid, deferSync: false), arrived: arrived)
    }

    /// `ingest` for a server: the CPU work (inflate, parse, resolve, append) runs on `pool`, then
    /// the call suspends without holding a thread until the store's group commit makes the push
    /// durable. Throws like `ingest`; the reply means the samples survive a crash.
    public func ingest(_ body: ByteBuffer, gzipped: Bool, hostUuid: String, on pool: NIOThreadPool) async throws -> AgentPushReply {
        let arrived = clock.now()
        let staged = try await pool.runIfActive { try self.stage(body, gzipped: gzipped, hostUuid: hostUuid, deferSync: true) }
        try await store.waitDurable(staged.ticket)
        return finish(staged, arrived: arrived)
    }

    /// A push applied to the store, not yet known durable.
    struct Staged: Sendable {
        var reply: AgentPushReply
        var ticket: DurabilityTicket
        var timestamps: [Int64]
        var compressedBytes: Int
    }

    /// Inflates, parses, resolves and appends; with `deferSync` the append returns before its
    /// fsync (wait for `ticket`), else it is durable already.
    func stage(_ body: ByteBuffer, gzipped: Bool, hostUuid: String, deferSync: Bool) throws -> Staged {
        let compressedBytes = body.readableBytes
        let text = gzipped ? try AgentBatchDecoder.gunzip(body) : Array(body.readableBytesView)
        let owner = ownerIndex(hostUuid)
        var reply = AgentPushReply(accepted: 0, rejected: 0, rejections: [])
        func reject(_ count: Int, _ message: @autoclosure () -> String) {
            reply.rejected += count
            if reply.rejections.count < Self.rejectionsShown { reply.rejections.append(message()) }
        }

        let batch: SampleBatch = try text.withUnsafeBufferPointer { all in
            // 1. Parse every line; keep where its series text is, and its hash.
            var starts: [Int] = [], ends: [Int] = [], keys: [SeriesKeyCache.Key] = []
            var timestamps: [Int64] = [], values: [Double] = []
            // Agent lines are ~100–200 bytes: reserve once instead of regrowing five arrays.
            let expected = all.count / 96 + 16
            starts.reserveCapacity(expected); ends.reserveCapacity(expected); keys.reserveCapacity(expected)
            timestamps.reserveCapacity(expected); values.reserveCapacity(expected)
            var line = ImportedLine()
            var lineNumber = 0
            var i = 0
            let n = all.count
            while i < n {
                var j = i
                while j < n && all[j] != 0x0A { j += 1 }
                lineNumber += 1
                var end = j
                if end > i && all[end - 1] == 0x0D { end -= 1 }
                let bytes = UnsafeBufferPointer(rebasing: all[i..<end])
                do {
                    if try parser.parse(bytes, lineNumber: lineNumber, into: &line) {
                        let s = i + line.seriesKey.lowerBound, e = i + line.seriesKey.upperBound
                        starts.append(s)
                        ends.append(e)
                        keys.append(SeriesKeyCache.key(UnsafeBufferPointer(rebasing: all[s..<e])))
                        timestamps.append(line.timestamps[0])
                        values.append(line.values[0])
                    }
                } catch {
                    reject(1, "\(error)")
                }
                i = j + 1
            }

            // 2. Known series, under one lock for the whole batch.
            let count = keys.count
            var refs = [UInt64](repeating: 0, count: count)   // 0: unresolved (store ids start at 1)
            var misses: [Int] = []
            try cache.withLock { c in
                for k in 0..<count {
                    if let hit = c.lookup(keys[k]) {
                        guard hit.owner == owner else {
                            let text = UnsafeBufferPointer(rebasing: all[starts[k]..<ends[k]])
                            let labels = try? parser.labels(text, lineNumber: k + 1)
                            throw AgentIngestError.foreignHost(
                                series: labels?.description ?? String(decoding: text, as: UTF8.self),
                                labelHost: labels?["HostUuid"], tokenHost: hostUuid)
                        }
                        refs[k] = hit.ref.id
                    } else {
                        misses.append(k)
                    }
                }
            }

            // 3. New series: parse the labels once per distinct text, check the host, then create
            //    them all in one store call (one lock, one WAL write, one RocksDB batch).
            if !misses.isEmpty {
                var resolved: [SeriesKeyCache.Key: UInt64] = [:]   // 0: refused
                var pending: [SeriesKeyCache.Key: Int] = [:]       // key → index in newLabels
                var newLabels: [Labels] = [], newKeys: [SeriesKeyCache.Key] = []
                var waiting: [(k: Int, slot: Int)] = []
                for k in misses {
                    if let known = resolved[keys[k]] {
                        refs[k] = known
                        if known == 0 { reject(1, "line with series of an earlier refusal") }
                        continue
                    }
                    if let slot = pending[keys[k]] {
                        waiting.append((k, slot))
                        continue
                    }
                    let seriesText = UnsafeBufferPointer(rebasing: all[starts[k]..<ends[k]])
                    let labels: Labels
                    do {
                        labels = try parser.labels(seriesText, lineNumber: k + 1)
                    } catch {
                        resolved[keys[k]] = 0
                        reject(1, (error as? ImportRejection)?.reason ?? "\(error)")
                        continue
                    }
                    guard labels["HostUuid"] == hostUuid else {
                        throw AgentIngestError.foreignHost(series: labels.description, labelHost: labels["HostUuid"], tokenHost: hostUuid)
                    }
                    pending[keys[k]] = newLabels.count
                    waiting.append((k, newLabels.count))
                    newLabels.append(labels)
                    newKeys.append(keys[k])
                }
                if !newLabels.isEmpty {
                    let created = try store.seriesRefs(for: newLabels)
                    var refused = [Bool](repeating: false, count: created.count)
                    for (slot, r) in created.enumerated() {
                        switch r {
                        case let .success(ref): resolved[newKeys[slot]] = ref.id
                        case .failure: resolved[newKeys[slot]] = 0
                        }
                    }
                    for (k, slot) in waiting {
                        switch created[slot] {
                        case let .success(ref):
                            refs[k] = ref.id
                        case let .failure(e):
                            reject(1, refused[slot] ? "line with series of an earlier refusal" : e.description)
                            refused[slot] = true
                        }
                    }
                }
                cache.withLock { c in
                    for (key, id) in resolved where id != 0 { c.insert(key, SeriesRef(id: id), owner: owner) }
                }
            }

            var batch = SampleBatch(capacity: count)
            for k in 0..<count where refs[k] != 0 { batch.append(SeriesRef(id: refs[k]), timestamps[k], values[k]) }
            // The WAL record is encoded here, in parallel with other pushes, so the append only
            // writes it while it holds the store's lock.
            batch.prepareLog()
            return batch
        }

        // 4. Store (durable later: see `finish`).
        let (report, ticket) = try deferSync ? store.appendDeferringSync(batch) : (store.append(batch), DurabilityTicket.durable)
        reply.accepted = report.accepted
        for r in report.rejected { reject(1, r.message) }
        return Staged(reply: reply, ticket: ticket, timestamps: batch.timestamps, compressedBytes: compressedBytes)
    }

    /// Once the push is durable: measures how late its samples arrived (`arrived`, when the push
    /// was received) and became queryable and durable (now), and counts it.
    func finish(_ staged: Staged, arrived: Int64) -> AgentPushReply {
        let reply = staged.reply
        let now = clock.now()
        var buckets = [UInt64](repeating: 0, count: IngestLagStats.bucketCount)
        var arrivalBuckets = [UInt64](repeating: 0, count: IngestLagStats.bucketCount)
        var maxLag: Int64 = 0, maxArrival: Int64 = 0
        for t in staged.timestamps {
            let l = now - t, a = arrived - t
            buckets[IngestLagStats.bucket(l)] += 1
            arrivalBuckets[IngestLagStats.bucket(a)] += 1
            if l > maxLag { maxLag = l }
            if a > maxArrival { maxArrival = a }
        }
        lag.withLock { $0.record(buckets: buckets, max: maxLag, at: now) }
        arrivalLag.withLock { $0.record(buckets: arrivalBuckets, max: maxArrival, at: now) }
        totals.withLock {
            $0.batches += 1
            $0.samples += reply.accepted
            $0.rejected += reply.rejected
            $0.bytes += staged.compressedBytes
        }
        return reply
    }

    /// Convenience for callers holding bytes.
    public func ingest(_ body: [UInt8], gzipped: Bool, hostUuid: String) throws -> AgentPushReply {
        try ingest(ByteBuffer(bytes: body), gzipped: gzipped, hostUuid: hostUuid)
    }

    /// The counters and the lag quantiles now; `agentsConnected` comes from whoever tracks agents.
    public func stats(agentsConnected: Int = 0) -> AgentIngestStats {
        let now = clock.now()
        let t = totals.withLock { $0 }
        let (lag, window) = lag.withLock { ($0.summary(at: now), $0.window) }
        let arrival = arrivalLag.withLock { $0.summary(at: now) }
        return AgentIngestStats(batches: t.batches, samples: t.samples, rejected: t.rejected, bytes: t.bytes,
                                lagP50Ms: lag.p50, lagP99Ms: lag.p99, lagMaxMs: lag.max,
                                arrivalLagP50Ms: arrival.p50, arrivalLagP99Ms: arrival.p99, arrivalLagMaxMs: arrival.max,
                                windowSeconds: window / 1000, agentsConnected: agentsConnected)
    }

    private func ownerIndex(_ hostUuid: String) -> UInt32 {
        owners.withLock { o in
            if let i = o[hostUuid] { return i }
            let i = UInt32(o.count + 1)
            o[hostUuid] = i
            return i
        }
    }
}
