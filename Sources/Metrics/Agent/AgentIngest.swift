import NIOCore
import NIOPosix
import Synchronization

/// How a push's body is written (its `Content-Type`).
public enum AgentBatchFormat: Sendable, Equatable {
    /// `AgentProtocol.contentType`: Prometheus text lines with ms timestamps.
    case prometheusText
    /// `AgentProtocol.refBatchContentType`: `AgentRefBatchEncoder`'s compact entries.
    case refBatch
}

/// Why the manager refused a whole push.
public enum AgentIngestError: Error, Equatable, CustomStringConvertible {
    /// A sample's `HostUuid` label names another host than the one the agent's token belongs to.
    case foreignHost(series: String, labelHost: String?, tokenHost: String)
    /// A compact batch names a series ref this manager never gave the pushing host (it restarted,
    /// or the ref is another host's): nothing was stored; resend with every series as text.
    case unknownRef(ref: UInt64, tokenHost: String)

    public var description: String {
        switch self {
        case let .unknownRef(ref, token):
            "series ref \(ref) is not one this manager gave host '\(token)' (the manager may have restarted); nothing of this batch was stored: resend it with every series as text (ref 0)"
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

/// The manager's side of `POST AgentProtocol.metricsPath`: inflate, parse the Prometheus text (or
/// read the compact batch), resolve each series text through a shared `SeriesKeyCache` (labels
/// are parsed only for a series never seen) and each ref through the refs answered to the host,
/// check that every sample belongs to the pushing host, and append the batch by reference.
/// Replays are harmless: the store replaces a sample with the same series and timestamp.
///
/// `ingest` blocks (gzip, the store's durable append): call it on `NIOThreadPool`.
public final class AgentIngest: Sendable {
    private let store: any BulkAppendingStore
    private let clock: any WallClock
    private let parser = PrometheusTextParser()
    private let cache: PlainMutex<SeriesKeyCache>
    /// Host uuid → the small number kept as the owner of its cache entries.
    private let owners = PlainMutex<[String: UInt32]>([:])
    /// Series ref → the owner index of the host it was answered to in a compact push's reply (0:
    /// none). Compact pushes may name only their host's refs; empty after a restart, so agents
    /// send texts again once (409).
    private let refOwners = PlainMutex<[UInt32]>([])
    private let totals = PlainMutex<(batches: Int, samples: Int, rejected: Int, bytes: Int)>((0, 0, 0, 0))
    private let lag: PlainMutex<IngestLagStats>
    /// Sample time → push received, over the same window.
    private let arrivalLag: PlainMutex<IngestLagStats>
    /// How many rejections a reply lists.
    static let rejectionsShown = 5

    /// - Parameters:
    ///   - lagWindow: the sliding window of the lag histogram, in ms.
    ///   - cacheLimit: series texts remembered (see `SeriesKeyCache`).
    public init(store: any BulkAppendingStore, clock: any WallClock, lagWindow: Int64 = 60_000, cacheLimit: Int = 1 << 23) {
        self.store = store
        self.clock = clock
        self.cache = PlainMutex(SeriesKeyCache(initialCapacity: 1 << 16, limit: cacheLimit))
        self.lag = PlainMutex(IngestLagStats(window: lagWindow))
        self.arrivalLag = PlainMutex(IngestLagStats(window: lagWindow))
    }

    /// Stores one push from the agent of `hostUuid`. `gzipped` says whether `body` is gzip
    /// (`Content-Encoding: gzip`) or plain text. Throws `MetricsError.invalidSample` for a body that
    /// does not inflate, `AgentIngestError.foreignHost` (nothing stored) for another host's series,
    /// and store failures; bad lines and refused samples are counted in the reply.
    public func ingest(_ body: ByteBuffer, gzipped: Bool, format: AgentBatchFormat = .prometheusText,
                       hostUuid: String) throws -> AgentPushReply {
        let arrived = clock.now()
        return finish(try stage(body, gzipped: gzipped, format: format, hostUuid: hostUuid, deferSync: false), arrived: arrived)
    }

    /// `ingest` for a server: the CPU work (inflate, parse, resolve, append) runs on `pool`, then
    /// the call suspends without holding a thread until the store's group commit makes the push
    /// durable. Throws like `ingest`; the reply means the samples survive a crash.
    public func ingest(_ body: ByteBuffer, gzipped: Bool, format: AgentBatchFormat = .prometheusText,
                       hostUuid: String, on pool: NIOThreadPool) async throws -> AgentPushReply {
        let arrived = clock.now()
        let staged = try await pool.runIfActive { try self.stage(body, gzipped: gzipped, format: format, hostUuid: hostUuid, deferSync: true) }
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
    func stage(_ body: ByteBuffer, gzipped: Bool, format: AgentBatchFormat, hostUuid: String, deferSync: Bool) throws -> Staged {
        let compressedBytes = body.readableBytes
        let owner = ownerIndex(hostUuid)
        var rejections = Rejections()
        var textRefs: [UInt64]?
        func decode(_ all: UnsafeBufferPointer<UInt8>) throws -> SampleBatch {
            switch format {
            case .prometheusText:
                return try textBatch(all, owner: owner, hostUuid: hostUuid, &rejections)
            case .refBatch:
                let (batch, refs) = try refBatch(all, owner: owner, hostUuid: hostUuid, &rejections)
                textRefs = refs.isEmpty ? nil : refs
                return batch
            }
        }
        // An uncompressed body is decoded where it lies: copying it into an array first was one
        // more multi-KB allocation per push (~5 % of the ingest threads' time went to malloc's
        // slow path for such sizes at 10,000 hosts).
        let batch = gzipped ? try AgentBatchDecoder.gunzip(body).withUnsafeBufferPointer(decode)
                            : try body.withUnsafeReadableBytes { try decode($0.assumingMemoryBound(to: UInt8.self)) }

        // Store (durable later: see `finish`).
        let (report, ticket) = try deferSync ? store.appendDeferringSync(batch) : (store.append(batch), DurabilityTicket.durable)
        for r in report.rejected { rejections.add(r.message) }
        let reply = AgentPushReply(accepted: report.accepted, rejected: rejections.count, rejections: rejections.shown, refs: textRefs)
        return Staged(reply: reply, ticket: ticket, timestamps: batch.timestamps, compressedBytes: compressedBytes)
    }

    /// Refused samples: counted, the first few kept in words.
    struct Rejections {
        var count = 0
        var shown: [String] = []
        mutating func add(_ message: @autoclosure () -> String) {
            count += 1
            if shown.count < AgentIngest.rejectionsShown { shown.append(message()) }
        }
    }

    /// A Prometheus text push: parses every line, resolves each series text, and builds the batch.
    private func textBatch(_ all: UnsafeBufferPointer<UInt8>, owner: UInt32, hostUuid: String,
                           _ rejections: inout Rejections) throws -> SampleBatch {
        // Parse every line; keep where its series text is, and its hash.
        var ranges: [Range<Int>] = [], keys: [SeriesKeyCache.Key] = []
        var timestamps: [Int64] = [], values: [Double] = []
        // Agent lines are ~100–200 bytes: reserve once instead of regrowing four arrays.
        let expected = all.count / 96 + 16
        ranges.reserveCapacity(expected); keys.reserveCapacity(expected)
        timestamps.reserveCapacity(expected); values.reserveCapacity(expected)
        var line = ImportedLine()
        _ = PrometheusTextParser.forEachLine(all) { bytes, start, number in
            do {
                if try parser.parse(bytes, lineNumber: number, into: &line) {
                    let range = (start + line.seriesKey.lowerBound)..<(start + line.seriesKey.upperBound)
                    ranges.append(range)
                    keys.append(SeriesKeyCache.key(UnsafeBufferPointer(rebasing: all[range])))
                    timestamps.append(line.timestamps[0])
                    values.append(line.values[0])
                }
            } catch {
                rejections.add("\(error)")
            }
            return true
        }
        let refs = try resolve(all, ranges, keys: keys, owner: owner, hostUuid: hostUuid, &rejections)
        return Self.sampleBatch(refs, timestamps, values)
    }

    /// A compact push: checks every ref belongs to the host (else nothing is stored), resolves the
    /// series sent as text and remembers their refs as the host's, and builds the batch. Returns it
    /// with the text entries' refs for the reply.
    private func refBatch(_ all: UnsafeBufferPointer<UInt8>, owner: UInt32, hostUuid: String,
                          _ rejections: inout Rejections) throws -> (SampleBatch, [UInt64]) {
        var decoded = try AgentRefBatch.decode(all)
        try refOwners.withLock { o in
            for ref in decoded.refs where ref != 0 {
                guard ref < UInt64(o.count), o[Int(ref)] == owner else { throw AgentIngestError.unknownRef(ref: ref, tokenHost: hostUuid) }
            }
        }
        var textRefs: [UInt64] = []
        if !decoded.textRanges.isEmpty {
            let keys = decoded.textRanges.map { SeriesKeyCache.key(UnsafeBufferPointer(rebasing: all[$0])) }
            textRefs = try resolve(all, decoded.textRanges, keys: keys, owner: owner, hostUuid: hostUuid, &rejections)
            for (k, entry) in decoded.textEntries.enumerated() { decoded.refs[entry] = textRefs[k] }
            refOwners.withLock { o in
                for ref in textRefs where ref != 0 {
                    if ref >= UInt64(o.count) { o.append(contentsOf: repeatElement(0, count: max(Int(ref) + 1 - o.count, o.count / 2))) }
                    o[Int(ref)] = owner
                }
            }
        }
        return (Self.sampleBatch(decoded.refs, decoded.timestamps, decoded.values), textRefs)
    }

    /// The store refs of the series texts at `ranges` of `all` (hashes `keys`); 0 = refused (counted
    /// in `rejections`). Known texts resolve through the cache under one lock; new ones have their
    /// labels parsed once per distinct text and checked to be the host's, then are created in one
    /// store call (one lock, one WAL write, one RocksDB batch). Throws `foreignHost` (nothing stored)
    /// for another host's series.
    private func resolve(_ all: UnsafeBufferPointer<UInt8>, _ ranges: [Range<Int>], keys: [SeriesKeyCache.Key],
                         owner: UInt32, hostUuid: String, _ rejections: inout Rejections) throws -> [UInt64] {
        let count = keys.count
        var refs = [UInt64](repeating: 0, count: count)   // 0: unresolved (store ids start at 1)
        var misses: [Int] = []
        try cache.withLock { c in
            for k in 0..<count {
                if let hit = c.lookup(keys[k]) {
                    guard hit.owner == owner else {
                        let text = UnsafeBufferPointer(rebasing: all[ranges[k]])
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
        guard !misses.isEmpty else { return refs }

        var resolved: [SeriesKeyCache.Key: UInt64] = [:]   // 0: refused
        var pending: [SeriesKeyCache.Key: Int] = [:]       // key → index in newLabels
        var newLabels: [Labels] = [], newKeys: [SeriesKeyCache.Key] = []
        var waiting: [(k: Int, slot: Int)] = []
        for k in misses {
            if let known = resolved[keys[k]] {
                refs[k] = known
                if known == 0 { rejections.add("line with series of an earlier refusal") }
                continue
            }
            if let slot = pending[keys[k]] {
                waiting.append((k, slot))
                continue
            }
            let seriesText = UnsafeBufferPointer(rebasing: all[ranges[k]])
            let labels: Labels
            do {
                labels = try parser.labels(seriesText, lineNumber: k + 1)
            } catch {
                resolved[keys[k]] = 0
                rejections.add(error.reason)
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
                    rejections.add(refused[slot] ? "line with series of an earlier refusal" : e.description)
                    refused[slot] = true
                }
            }
        }
        cache.withLock { c in
            for (key, id) in resolved where id != 0 { c.insert(key, SeriesRef(id: id), owner: owner) }
        }
        return refs
    }

    /// The samples whose ref resolved, with their WAL record encoded here, in parallel with other
    /// pushes, so the append only writes it while it holds the store's lock.
    private static func sampleBatch(_ refs: [UInt64], _ timestamps: [Int64], _ values: [Double]) -> SampleBatch {
        var batch: SampleBatch
        if !refs.contains(0) {
            // Every ref resolved (the usual push): the decoded arrays become the batch.
            batch = SampleBatch(refs: refs.map { SeriesRef(id: $0) }, timestamps: timestamps, values: values)
        } else {
            batch = SampleBatch(capacity: refs.count)
            for k in refs.indices where refs[k] != 0 { batch.append(SeriesRef(id: refs[k]), timestamps[k], values[k]) }
        }
        batch.prepareLog()
        return batch
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
    public func ingest(_ body: [UInt8], gzipped: Bool, format: AgentBatchFormat = .prometheusText, hostUuid: String) throws -> AgentPushReply {
        try ingest(ByteBuffer(bytes: body), gzipped: gzipped, format: format, hostUuid: hostUuid)
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
