import Foundation
import Synchronization

/// One input of a `PipelinedImporter`: a readable file descriptor (not closed here) and its format
/// (nil: decided by the first data line, `{` → vm-json, else prometheus).
public struct ImportInput: Sendable {
    public var fd: Int32
    public var format: ImportFormat?
    /// Input size when known, for progress.
    public var totalBytes: Int64?

    public init(fd: Int32, format: ImportFormat?, totalBytes: Int64? = nil) {
        self.fd = fd
        self.format = format
        self.totalBytes = totalBytes
    }
}

/// Imports several inputs at once as a pipeline: one parser thread per input (read, parse, resolve
/// series through its own cache) hands full `SampleBatch`es over a bounded queue to one appender
/// (the calling thread), which applies them; the WAL's group commit fsyncs each batch while the
/// next is applied, and `run` returns once all are durable. The parsers also
/// encode each batch's WAL record (`SampleBatch.prepareLog`), so the appender only writes it. Parsing and appending overlap, so two cores both work; memory stays bounded
/// by `queueDepth + inputs + 1` batches.
///
/// Blocking: call it from a thread, never from the cooperative pool.
///
/// ```swift
/// let summary = try PipelinedImporter(store: store).run([ImportInput(fd: fd, format: .vmJSON)])
/// ```
public final class PipelinedImporter {
    private let store: any BulkAppendingStore
    private let batchSize: Int
    private let queueDepth: Int
    private let unsyncedBatches: Int

    /// `batchSize` samples per append; at most `queueDepth` parsed batches wait for the appender,
    /// and at most `unsyncedBatches` appended ones for their fsync.
    public init(store: any BulkAppendingStore, batchSize: Int = 100_000, queueDepth: Int = 3, unsyncedBatches: Int = 4) {
        self.store = store
        self.batchSize = max(1, batchSize)
        self.queueDepth = max(1, queueDepth)
        self.unsyncedBatches = max(1, unsyncedBatches)
    }

    /// Reads every input to its end and stores its samples. `progress` is called on the calling
    /// thread about every `progressInterval` seconds and once at the end, with all inputs' bytes
    /// and samples together. Throws the first I/O or storage failure (the other inputs then stop);
    /// bad lines and refused samples are counted in the summary. The summary's `elapsed` is the
    /// wall time of the whole run.
    public func run(
        _ inputs: [ImportInput], progressInterval: Double = 0.25, progress: (ImportProgress) -> Void = { _ in }
    ) throws -> ImportSummary {
        let clock = ContinuousClock()
        let started = clock.now
        let full = BoundedHandoff<SampleBatch>(capacity: queueDepth)
        let free = BoundedHandoff<SampleBatch>(capacity: queueDepth + inputs.count + 2)
        let bytesRead = ByteCounter()
        let results = Mutex<[ParserResult]>([])
        let finished = DispatchGroup()
        let totalBytes: Int64? = inputs.allSatisfy { $0.totalBytes != nil } ? inputs.reduce(0) { $0 + $1.totalBytes! } : nil
        let store = self.store, batchSize = self.batchSize
        // One parser thread per input; its summary (or error) goes to `results`.
        for input in inputs {
            finished.enter()
            let job = ParserJob(store: store, input: input, batchSize: batchSize, full: full, free: free)
            Thread.detachNewThread {
                let result = job.run(bytesRead: bytesRead)
                results.withLock { $0.append(result) }
                finished.leave()
            }
        }
        // Closes `full` once every parser is done, so the appender loop ends.
        let closer = Thread {
            finished.wait()
            full.close()
        }
        closer.start()

        var summary = ImportSummary()
        var handed = 0
        var appendError: (any Error)?
        let window = DurabilityWindow(limit: unsyncedBatches)
        var lastReport = started
        func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        while var batch = full.take() {
            if appendError == nil {
                do {
                    // Applied and written now; fsync'd by the WAL's group commit while the next
                    // batch is applied (at most `unsyncedBatches` behind, all before returning).
                    try window.enter()
                    let report: WriteReport, ticket: DurabilityTicket
                    do {
                        (report, ticket) = try store.appendDeferringSync(batch)
                    } catch {
                        window.leave(.success(()))
                        throw error
                    }
                    store.whenDurable(ticket) { window.leave($0) }
                    handed += batch.count
                    summary.accepted += report.accepted
                    for r in report.rejected {
                        summary.storeRejections[r.reason, default: RejectionTally()].add(line: nil, message: r.message)
                    }
                } catch {
                    // Stop the parsers (their `put` now fails) and drain what is queued.
                    appendError = error
                    full.close()
                }
            }
            batch.removeAll()
            free.put(batch)
            let now = clock.now
            if seconds(now - lastReport) >= progressInterval {
                lastReport = now
                progress(ImportProgress(bytesRead: bytesRead.value.load(ordering: .relaxed), totalBytes: totalBytes, samples: handed,
                                        elapsed: seconds(now - started), done: false))
            }
        }
        finished.wait()
        do {
            try window.drain()
        } catch {
            if appendError == nil { appendError = error }
        }
        if let appendError { throw appendError }
        for r in results.withLock({ $0 }) {
            if let e = r.error { throw e.error }
            summary.lines += r.summary.lines
            summary.bytes += r.summary.bytes
            for (k, t) in r.summary.parseRejections { summary.parseRejections[k, default: RejectionTally()].merge(t) }
            for (k, t) in r.summary.storeRejections { summary.storeRejections[k, default: RejectionTally()].merge(t) }
        }
        summary.elapsed = seconds(clock.now - started)
        progress(ImportProgress(bytesRead: summary.bytes, totalBytes: totalBytes, samples: handed, elapsed: summary.elapsed, done: true))
        return summary
    }
}

/// Bytes read by every parser so far.
private final class ByteCounter: Sendable {
    let value = Atomic<Int64>(0)
}

/// An error crossing from a parser thread to the caller.
private struct SendableError: @unchecked Sendable {
    // @unchecked: the error is created on the parser thread and only read after it finished.
    let error: any Error
}

/// What one parser thread leaves behind.
private struct ParserResult: Sendable {
    var summary = ImportSummary()
    var error: SendableError?
}

/// The work of one parser thread: read lines, parse, resolve series, fill batches.
private struct ParserJob: @unchecked Sendable {
    // @unchecked: `store` is a BulkAppendingStore, whose calls are thread-safe (RocksMetricStore
    // guards its state with a Mutex); the hand-offs are thread-safe; the rest are values.
    let store: any BulkAppendingStore
    let input: ImportInput
    let batchSize: Int
    let full: BoundedHandoff<SampleBatch>
    let free: BoundedHandoff<SampleBatch>

    func run(bytesRead: ByteCounter) -> ParserResult {
        var result = ParserResult()
        var format = input.format
        var parser = format?.parser
        var fast = VMJSONFastPath()
        var cache = SeriesKeyCache()
        var reader = ImportLineReader(fd: input.fd)
        var line = ImportedLine()
        var batch = free.poll() ?? SampleBatch(capacity: batchSize)
        var reported: Int64 = 0
        var stopped = false
        do {
            while try reader.next({ bytes, number in
                do {
                    if parser == nil {
                        guard let first = bytes.first(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
                        format = first == UInt8(ascii: "{") ? ImportFormat.vmJSON : .prometheus
                        parser = format?.parser
                    }
                    guard let parser else { return }
                    if format != .vmJSON || fast.parse(bytes, into: &line) == nil {
                        guard try parser.parse(bytes, lineNumber: number, into: &line) else { return }
                    }
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
                                result.summary.storeRejections[.seriesLimit, default: RejectionTally()]
                                    .add(count: line.values.count, line: number, message: "line \(number): \(e)")
                                return
                            }
                            // Storage failures (closed store, I/O) stop the import; refusals of the labels are the line's fault.
                            guard case .invalidSample = e else { throw e }
                            throw ImportRejection(line: number, kind: .invalidLabels, reason: e.description)
                        }
                        cache.insert(key, ref)
                    }
                    batch.append(ref, line.timestamps, line.values)
                } catch let r as ImportRejection {
                    result.summary.parseRejections[r.kind, default: RejectionTally()].add(line: r.line, message: r.description)
                }
            }) {
                if batch.count >= batchSize {
                    batch.prepareLog()
                    guard full.put(batch) else { stopped = true; break }
                    batch = free.poll() ?? SampleBatch(capacity: batchSize)
                }
                if reader.lineNumber & 255 == 0 {
                    bytesRead.value.add(reader.bytesRead - reported, ordering: .relaxed)
                    reported = reader.bytesRead
                }
            }
            if !stopped && !batch.isEmpty {
                batch.prepareLog()
                full.put(batch)
            }
        } catch {
            result.error = SendableError(error: error)
            full.close()
        }
        bytesRead.value.add(reader.bytesRead - reported, ordering: .relaxed)
        result.summary.lines = reader.lineNumber
        result.summary.bytes = reader.bytesRead
        return result
    }
}
