import Foundation

// Sealed heads (see `SealedHead`): sealing at an hour boundary, the paced writer, the release
// after the hold, and dropping one when a series' stored chunks change under it.
extension RocksMetricStore {
    /// Sealed heads written per slice (each slice holds the state lock for its RocksDB write only).
    static let sealSlice = 2_048
    /// Sealed heads released per hold of the state lock.
    static let releaseSlice = 65_536
    /// The sealing thread rests this many times as long as each slice took (~1/4 of a core).
    static let sealRestFactor = 3.0
    /// The longest rest between two slices (seconds).
    static let sealRestLimit = 2.0
    /// Seconds without a new seal before the sealing thread starts writing, and the most it waits.
    static let sealSettle = 1.0
    static let sealSettleLimit = 30.0

    /// Seals head `b` of series `id` (crossing into a new partition, or an interval cut; the caller
    /// starts the new head). `clean`: no stored chunk lies in `b`'s partition. `queue`: its write
    /// puts its hour's `Q` entry (not for an interval cut, whose hour is still open).
    func seal(_ id: UInt64, _ b: consuming ChunkBuilder, clean: Bool, queue: Bool = true, _ s: inout EngineState, _ ctx: inout IngestContext) {
        let slot = Int(id) - 1
        dropSealed(id, &s, &ctx)
        let pending = PendingChunk(b, queue: queue, seq: s.seals.enqueue(id))
        s.heads[slot].sealed = .pending(pending)
        s.heads[slot].sealedClean = clean
        s.seals.pending += 1
        s.seals.writeDue = min(s.seals.writeDue, writeDue(pending))
    }

    /// Closes head `b` of series `id` at its interval cut (the caller starts the new head): its
    /// chunk goes out with the batch's writes, and stays in memory as `.stored` until the hold
    /// passes, so windows reaching back over the cut still read memory. The caller makes sure the
    /// series holds no unwritten sealed head (`HeadSeries.sealedUnwritten`).
    ///
    /// Written at once rather than held as pending for the sealing thread: ~3,000 cuts a second at
    /// 10,000 hosts are a few puts in each batch, where the paced writer lagged behind them and
    /// every pending cut still held at the hour's end was written inside the boundary round.
    func sealCut(_ id: UInt64, _ b: consuming ChunkBuilder, clean: Bool, _ s: inout EngineState, _ ctx: inout IngestContext) {
        let slot = Int(id) - 1
        // Our own encoder's bytes always parse; were they not, the pending path still keeps every sample.
        guard let chunk = try? Self.exactCopy(Chunk(b.bytes())) else {
            seal(id, b, clean: clean, queue: false, &s, &ctx)
            return
        }
        dropSealed(id, &s, &ctx)
        let partition = MetricKey.partition(chunk.header.maxT)
        ctx.chunkPuts.append((MetricKey.chunk(id, maxT: chunk.header.maxT), chunk.encoded))
        // In the queue only for its release; with nothing unwritten before it, it counts as written.
        let nothingUnwritten = s.seals.written == s.seals.ids.count
        s.heads[slot].sealed = .stored(StoredChunk(chunk, seq: s.seals.enqueue(id)))
        s.heads[slot].sealedClean = clean
        s.headClosed(partition: partition)
        if nothingUnwritten { s.seals.written += 1 }
        s.seals.releaseDue = min(s.seals.releaseDue, chunk.header.maxT + options.sealedHold)
    }

    /// Removes series `id`'s sealed head; a pending one is queued in `ctx` as a closed chunk first.
    /// Called before anything changes the series' stored chunks or its head's place (a merge, a
    /// split, a size cut, a new seal), which would break `SealedHead`'s invariant.
    func dropSealed(_ id: UInt64, _ s: inout EngineState, _ ctx: inout IngestContext) {
        let slot = Int(id) - 1
        guard let sealed = s.heads[slot].sealed else { return }
        s.heads[slot].forgetSealed()
        guard case .pending(let p) = sealed else { return }
        let partition = MetricKey.partition(p.builder.maxT)
        ctx.chunkPuts.append((MetricKey.chunk(id, maxT: p.builder.maxT), p.builder.bytes()))
        if p.queue { ctx.queueKeys.append(MetricKey.queue(hour: partition, id: id)) }
        s.heads[slot].chunkStored(inPartition: partition)
        s.headClosed(partition: partition)
        s.seals.pending -= 1
    }

    /// Writes up to `limit` pending sealed heads as `C` (+ `Q`) keys, oldest sealed first; returns
    /// how many queue entries it went through (0 = nothing left to write, or with `dueOnly` nothing
    /// due yet: `sealedHold` past a head's last sample). The caller holds `maintenanceLock`. Heads are copied under
    /// the state lock, encoded outside it, and written under it (only those still pending, so a drop
    /// meanwhile wins).
    ///
    /// A head written once its hold has passed (the sealing thread's case) leaves memory at once. One
    /// written sooner (a checkpoint in the first minutes of the hour) stays until then as the chunk
    /// just written, in an array of its exact size, so reads keep finding it in memory.
    @discardableResult
    func writeSealedSlice(limit: Int, dueOnly: Bool = false) throws -> Int {
        let (taken, start, end) = state.withLock { s -> ([(UInt64, PendingChunk)], Int, Int) in
            var taken: [(UInt64, PendingChunk)] = []
            if dueOnly && s.seals.writeDue > s.dataClock { return (taken, s.seals.written, s.seals.written) }
            var i = s.seals.written
            while i < s.seals.ids.count && taken.count < limit {
                let id = UInt64(s.seals.ids[i])
                // Only the head this entry sealed: one sealed again since has a later entry of its
                // own, and stopping here at its later due time held every entry behind it back.
                if let p = s.pendingSealed(entry: i) {
                    // Entries are in sealing order, so the due times mostly ascend: stop at the first not due.
                    if dueOnly && writeDue(p) > s.dataClock {
                        s.seals.writeDue = writeDue(p)
                        break
                    }
                    taken.append((id, p))
                }
                i += 1
            }
            return (taken, s.seals.written, i)
        }
        guard end > start else { return 0 }
        let encoded = try taken.map { id, p in (id, p, try Chunk(p.builder.bytes())) }
        try state.withLock { s in
            let batch = RocksWriteBatch()
            var written: [Int] = []
            for (k, (id, p, chunk)) in encoded.enumerated() {
                guard case .pending(let now) = s.heads[Int(id) - 1].sealed, now === p else { continue }
                batch.put(MetricKey.chunk(id, maxT: chunk.header.maxT), chunk.encoded)
                written.append(k)
            }
            for k in written where encoded[k].1.queue {
                let (id, _, chunk) = encoded[k]
                batch.put(MetricKey.queue(hour: MetricKey.partition(chunk.header.maxT), id: id), RollupKeys.queueStamp())
            }
            if !written.isEmpty { try db.write(batch, sync: false) }
            for k in written {
                let (id, p, chunk) = encoded[k]
                let partition = MetricKey.partition(chunk.header.maxT)
                s.heads[Int(id) - 1].chunkStored(inPartition: partition)
                if chunk.header.maxT + options.sealedHold <= s.dataClock {
                    s.heads[Int(id) - 1].forgetSealed()
                } else {
                    // Its own `C` key now holds exactly what memory does, so `sealedClean` stands.
                    s.heads[Int(id) - 1].sealed = .stored(StoredChunk(try Self.exactCopy(chunk), seq: p.seq))
                }
                s.headClosed(partition: partition)
                s.seals.pending -= 1
            }
            s.seals.releaseDue = .min
            // Past every entry with nothing to write (written, dropped, or an interval cut written
            // at once) up to the next pending one, and that one's due time.
            s.seals.writeDue = .max
            var next = end
            while next < s.seals.ids.count {
                if let p = s.pendingSealed(entry: next) {
                    s.seals.writeDue = writeDue(p)
                    break
                }
                next += 1
            }
            s.seals.written = next
        }
        return end - start
    }

    /// When (sample time) pending sealed head `p` is due to be written: `sealedHold` past its last sample.
    func writeDue(_ p: PendingChunk) -> Int64 { p.builder.maxT + options.sealedHold }

    /// `chunk` in an array of its exact size (an encoder's reserve would otherwise stay allocated).
    static func exactCopy(_ chunk: Chunk) throws -> Chunk {
        let bytes = chunk.encoded
        return try Chunk([UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, count in
            count = buffer.initialize(fromContentsOf: bytes)
        })
    }

    /// Releases written sealed heads whose hold has passed at the newest sample time, up to
    /// `limit`, oldest first; returns whether it went through any entry. Records when the next
    /// release is due. The caller holds `maintenanceLock`.
    @discardableResult
    func releaseSealedSlice(limit: Int) -> Bool {
        state.withLock { s in
            var n = 0
            while s.seals.released < s.seals.written && n < limit {
                let id = Int(s.seals.ids[s.seals.released])
                if case .stored(let c) = s.heads[id - 1].sealed, c.seq == s.seals.seqs[s.seals.released] {
                    let due = c.chunk.header.maxT + options.sealedHold
                    guard due <= s.dataClock else {
                        s.seals.releaseDue = due
                        return n > 0
                    }
                    s.heads[id - 1].forgetSealed()
                }
                // Else dropped already, or sealed again later (its own later entry releases that one).
                s.seals.released += 1
                n += 1
            }
            if s.seals.released == s.seals.ids.count {
                s.seals = SealQueue(nextSeq: s.seals.nextSeq, pending: s.seals.pending)
            } else if s.seals.released == s.seals.written {
                s.seals.releaseDue = .max
            }
            s.seals.dropReleasedPrefix()
            return n > 0
        }
    }

    /// Starts the sealing thread unless it runs: it waits until sealing settles (`sealSettle`),
    /// writes the pending sealed heads in paced slices, releases those whose hold passed, and ends
    /// when neither has work. It holds the store only while it works, never while it sleeps, so a
    /// store dropped without `close` still goes away.
    func scheduleSealing() {
        guard sealingPending.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        let quiet = self.quiet
        let thread = Thread { [weak self] in
            var phase = SealingPhase.settling(since: DispatchTime.now().uptimeNanoseconds, seals: -1)
            while true {
                let pause: Double? = {
                    guard let store = self else { return nil }
                    return store.sealingStep(&phase)
                }()
                guard let pause else { return }
                if pause > 0 {
                    // Rest, then write between ingest bursts (`IngestQuiet`); neither holds the store.
                    Thread.sleep(forTimeInterval: pause)
                    if case .working = phase { quiet.wait { self == nil } }
                }
            }
        }
        thread.name = "stratus-seal"
        thread.start()
    }

    /// Where the sealing thread is.
    enum SealingPhase {
        /// Waiting until no head was sealed for `sealSettle` (at an hour boundary every series
        /// seals within the first collection round; writing alongside it only made both contend
        /// for the state lock), at most `sealSettleLimit`.
        case settling(since: UInt64, seals: Int)
        case working
    }

    /// One step of the sealing thread; returns how long to sleep before the next, or nil when it
    /// ends. A failed write ends it with the heads still pending: the next append starts it again,
    /// and the next checkpoint writes them (or fails and keeps the WAL).
    private func sealingStep(_ phase: inout SealingPhase) -> Double? {
        switch phase {
        case .settling(let since, let seen):
            let (count, closed) = state.withLock { ($0.seals.ids.count, $0.closed) }
            if closed { return finishSealing() }
            if count == seen || Double(DispatchTime.now().uptimeNanoseconds - since) / 1e9 >= Self.sealSettleLimit {
                phase = .working
                return 0
            }
            phase = .settling(since: since, seals: count)
            return Self.sealSettle
        case .working:
            // Timed from when the lock is held: a wait for a checkpoint (minutes at 4 M series)
            // counted as work made the thread rest three times as long, with the hour's sealed
            // heads due and no other sealing thread allowed to start (scale run N, 23:05).
            var sliceStart: UInt64 = 0
            let progressed = (try? maintenanceLock.withLock { _ -> Bool in
                sliceStart = DispatchTime.now().uptimeNanoseconds
                // `close` sets `closed` before its checkpoint (which writes what is pending), so
                // once it is set the database may be gone: touch nothing.
                guard !state.withLock({ $0.closed }) else { return false }
                if try writeSealedSlice(limit: Self.sealSlice, dueOnly: true) > 0 { return true }
                return releaseSealedSlice(limit: Self.releaseSlice)
            }) ?? false
            guard progressed else { return finishSealing() }
            return min(Double(DispatchTime.now().uptimeNanoseconds - sliceStart) / 1e9 * Self.sealRestFactor, Self.sealRestLimit)
        }
    }

    /// Clears `sealingPending`; nil (end), unless work arrived meanwhile and this thread took the
    /// flag back (an append that saw the flag set did not start a thread).
    private func finishSealing() -> Double? {
        sealingPending.store(false, ordering: .releasing)
        let more = state.withLock { !$0.closed && $0.seals.hasWork(clock: $0.dataClock) }
        guard more, sealingPending.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return nil }
        return 0
    }

    /// Writes every pending sealed head (a checkpoint, before it lets the WAL go); the caller holds
    /// `maintenanceLock`. `paced` rests between slices like the checkpoint's head pass.
    func writeAllSealed(paced: Bool) throws {
        while true {
            let sliceStart = DispatchTime.now().uptimeNanoseconds
            guard try writeSealedSlice(limit: Self.checkpointSlice) > 0 else { return }
            if paced, !state.withLock({ $0.closed }) { pace(since: sliceStart, factor: Self.checkpointRestFactor) { state.withLock { $0.closed } } }
        }
    }
}
