/// Streams one input (a file descriptor) into a `BulkAppendingStore`: line by line with bounded
/// memory, series resolved once per distinct label text, samples appended in batches (each one
/// durable commit). Blocking: call it from a thread, never from the cooperative pool.
///
/// ```swift
/// let importer = MetricImporter(store: store)
/// let summary = try importer.run(fd: fd, format: .vmJSON, totalBytes: size) { p in draw(p) }
/// ```
public final class MetricImporter {
    private let store: any BulkAppendingStore
    private let batchSize: Int
    private var cache = SeriesKeyCache()

    /// `batchSize` samples go to the store per `append` (one durable commit each).
    public init(store: any BulkAppendingStore, batchSize: Int = 100_000) {
        self.store = store
        self.batchSize = max(1, batchSize)
    }

    /// Reads `fd` to its end in `format` (nil: decided by the first data line, `{` → vm-json,
    /// else prometheus). `progress` is called about every `progressInterval` seconds and once at
    /// the end. Throws only for I/O and storage failures; bad lines and
    /// refused samples are counted in the summary.
    public func run(
        fd: Int32, format: ImportFormat?, totalBytes: Int64? = nil, progressInterval: Double = 0.25,
        progress: (ImportProgress) -> Void = { _ in }
    ) throws -> ImportSummary {
        var parser = format?.parser
        let clock = ContinuousClock()
        let started = clock.now
        var lastReport = started
        var summary = ImportSummary()
        var reader = ImportLineReader(fd: fd)
        var line = ImportedLine()
        var batch = SampleBatch(capacity: batchSize)
        var handed = 0

        func flush() throws {
            guard !batch.isEmpty else { return }
            let report = try store.append(batch)
            handed += batch.count
            summary.accepted += report.accepted
            for r in report.rejected {
                summary.storeRejections[r.reason, default: RejectionTally()].add(line: nil, message: r.message)
            }
            batch.removeAll()
        }
        func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }

        while try reader.next({ bytes, number in
            do {
                if parser == nil {
                    guard let first = bytes.first(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
                    parser = (first == UInt8(ascii: "{") ? ImportFormat.vmJSON : .prometheus).parser
                }
                guard let parser, try parser.parse(bytes, lineNumber: number, into: &line) else { return }
                let key = UnsafeBufferPointer(rebasing: bytes[line.seriesKey])
                let ref: SeriesRef
                if let cached = cache.lookup(key) {
                    ref = cached
                } else {
                    let labels = try parser.labels(key, lineNumber: number)
                    do {
                        ref = try store.seriesRef(for: labels)
                    } catch let e as MetricsError {
                        // The labels passed validation, so a refusal here is the store's limits.
                        if case let .invalidSample(_, reason) = e, reason.contains("series limit") || reason.contains("max series") {
                            summary.storeRejections[.seriesLimit, default: RejectionTally()]
                                .add(count: line.values.count, line: number, message: "line \(number): \(e)")
                            return
                        }
                        throw ImportRejection(line: number, kind: .invalidLabels, reason: e.description)
                    }
                    cache.insert(key, ref)
                }
                for k in 0..<line.values.count {
                    batch.append(ref, line.timestamps[k], line.values[k])
                }
            } catch let r as ImportRejection {
                summary.parseRejections[r.kind, default: RejectionTally()].add(line: r.line, message: r.description)
            }
        }) {
            if batch.count >= batchSize { try flush() }
            if reader.lineNumber & 1023 == 0 {
                let now = clock.now
                if seconds(now - lastReport) >= progressInterval {
                    lastReport = now
                    progress(ImportProgress(bytesRead: reader.bytesRead, totalBytes: totalBytes, samples: handed + batch.count,
                                            elapsed: seconds(now - started), done: false))
                }
            }
        }
        try flush()
        summary.lines = reader.lineNumber
        summary.bytes = reader.bytesRead
        summary.elapsed = seconds(clock.now - started)
        progress(ImportProgress(bytesRead: reader.bytesRead, totalBytes: totalBytes, samples: handed,
                                elapsed: summary.elapsed, done: true))
        return summary
    }
}

/// Series references by the raw bytes of their series text, found without allocating on a hit.
/// Bounded: past `limit` entries it starts over (the store still knows every series).
struct SeriesKeyCache {
    private var table: [UInt64: (key: [UInt8], ref: SeriesRef)] = [:]
    private let limit = 1 << 21

    static func hash(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = 0
        let n = b.count
        while i + 8 <= n {
            let w = UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: UInt64.self)
            h = (h ^ w) &* 0x0000_0100_0000_01B3
            h ^= h >> 29
            i += 8
        }
        while i < n { h = (h ^ UInt64(b[i])) &* 0x0000_0100_0000_01B3; i += 1 }
        return h ^ UInt64(n)
    }

    func lookup(_ b: UnsafeBufferPointer<UInt8>) -> SeriesRef? {
        var h = Self.hash(b)
        while let e = table[h] {
            if e.key.elementsEqual(b) { return e.ref }
            h &+= 1
        }
        return nil
    }

    mutating func insert(_ b: UnsafeBufferPointer<UInt8>, _ ref: SeriesRef) {
        if table.count >= limit { table.removeAll(keepingCapacity: true) }
        var h = Self.hash(b)
        while table[h] != nil { h &+= 1 }
        table[h] = (Array(b), ref)
    }
}
