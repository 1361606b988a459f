/// A head closed at an hour boundary and kept in memory until `TSDBOptions.sealedHold` of sample
/// time past its last sample, then written as its `C` key and dropped from memory. An interval cut
/// (`TSDBOptions.headCutInterval`) is written at once, with the batch that cuts it (a few
/// thousand per round, spread over the hour), and kept in memory as `.stored` for the same hold.
///
/// At an hour boundary every series crosses into a new partition within one collection round.
/// Writing all those chunks at once (4 M at 10,000 hosts, ~30 s of RocksDB writes under the store
/// lock) stalled every push for that long; a sealed head is a pointer move instead, and
/// `RocksMetricStore.writeSealedSlice` writes them in small paced slices once the hold has passed.
/// Until then reads of the last minutes (every alarm round's window) find them here instead of
/// seeking RocksDB once per series. Writing only then costs no memory beyond the heads the
/// process already held: keeping a re-encoded tail of each written head for the hold instead
/// added ~300 MiB per million series at the boundary (`StratusBench hour-cut`).
///
/// Invariant (kept by `RocksMetricStore.dropSealed`): while a series has a sealed head, it also
/// has a head, and no stored chunk holds a sample at or after the sealed head's first, other than
/// the sealed head's own `C` key.
enum SealedHead: Sendable {
    /// Not in RocksDB yet: its samples are durable in the WAL (and the last checkpoint's `H`).
    case pending(PendingChunk)
    /// Written as its `C` key before its hold passed (a checkpoint writes what is pending): the
    /// chunk written, kept for reads until the hold passes.
    case stored(StoredChunk)

    var minT: Int64 {
        switch self {
        case .pending(let p): p.builder.minT
        case .stored(let s): s.chunk.header.minT
        }
    }

    var maxT: Int64 {
        switch self {
        case .pending(let p): p.builder.maxT
        case .stored(let s): s.chunk.header.maxT
        }
    }

    /// count, sum, min, max, last of its samples.
    var aggregate: WindowAggregate? {
        switch self {
        case .pending(let p): p.builder.aggregate
        case .stored(let s): s.chunk.header.count > 0 ? s.chunk.header.aggregate : nil
        }
    }

    /// The chunk (encoded now when still pending).
    func chunk() throws -> Chunk {
        switch self {
        case .pending(let p): try Chunk(p.builder.bytes())
        case .stored(let s): s.chunk
        }
    }

    /// The bytes the heap holds for it.
    var memoryFootprint: Int {
        switch self {
        case .pending(let p): 64 + p.builder.memoryFootprint
        case .stored(let s): 64 + s.chunk.encoded.capacity
        }
    }
}

/// A sealed head not yet written (a box, so `HeadSeries` grows by one pointer, not a builder).
final class PendingChunk: Sendable {
    let builder: ChunkBuilder
    /// Its write puts its hour's `Q` entry (false for an interval cut: its hour is still open).
    let queue: Bool
    /// Its seal-queue entry's number (`SealQueue.seqs`).
    let seq: UInt32
    init(_ builder: consuming ChunkBuilder, queue: Bool = true, seq: UInt32 = 0) {
        self.builder = builder
        self.queue = queue
        self.seq = seq
    }
}

/// A sealed head written to RocksDB: the chunk it was written as.
final class StoredChunk: Sendable {
    let chunk: Chunk
    /// Its seal-queue entry's number (`SealQueue.seqs`): only that entry releases it.
    let seq: UInt32
    init(_ chunk: Chunk, seq: UInt32) {
        self.chunk = chunk
        self.seq = seq
    }
}

/// The sealed heads in the order they were sealed, and how far writing and releasing have got.
/// Both cursors move only under `RocksMetricStore.maintenanceLock` (and the state lock).
struct SealQueue {
    /// Series ids; a series sealed again later appears again. An entry writes the series' pending
    /// sealed head only when it is the one the entry sealed (`seqs`); releases act on what the
    /// series holds when reached.
    var ids: [UInt32] = []
    /// Each entry's seal number (`PendingChunk.seq`), beside `ids`.
    var seqs: [UInt32] = []
    /// The next seal's number (wraps; compared for equality only).
    var nextSeq: UInt32 = 0
    /// Entries before it were written (or found already written or dropped).
    var written = 0
    /// Entries before it were released (or found already dropped).
    var released = 0
    /// Pending sealed heads (not yet written), for stats.
    var pending = 0
    /// When the oldest written entry's hold ends, in sample time (`.min` = not known: look; `.max`
    /// = nothing written to release).
    var releaseDue: Int64 = .max
    /// When (sample time) the oldest pending sealed head is due to be written by the sealing thread:
    /// its hour's end plus `sealedHold` (`.max` = none pending). Until then reads find it in memory.
    var writeDue: Int64 = .max

    /// Forgets the entries already released once they are many and most of the queue: with
    /// interval cuts (`headCutInterval`) heads are sealed every round, so the queue never empties
    /// and would otherwise grow by every seal.
    mutating func dropReleasedPrefix() {
        guard released >= 65_536, released * 2 >= ids.count else { return }
        ids.removeFirst(released)
        seqs.removeFirst(released)
        written -= released
        released = 0
    }

    /// Appends an entry for series `id` and returns its seal number.
    mutating func enqueue(_ id: UInt64) -> UInt32 {
        let seq = nextSeq
        ids.append(UInt32(id))
        seqs.append(seq)
        nextSeq &+= 1
        return seq
    }

    /// Whether pending sealed heads are due to be written at `clock` (not entries of heads dropped
    /// meanwhile, which the writer only steps over).
    func writesDue(clock: Int64) -> Bool { pending > 0 && written < ids.count && clock >= writeDue }

    /// Whether the sealing thread has work at `clock`: a write or a release that is due.
    func hasWork(clock: Int64) -> Bool {
        (written < ids.count && clock >= writeDue) || (released < written && clock >= releaseDue)
    }
}
