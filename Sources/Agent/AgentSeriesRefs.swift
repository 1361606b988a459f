import StratusMetrics
import Synchronization

/// The series refs the manager answered to this agent, by series text, so pushes name each series
/// by a varint instead of ~120 bytes of text (`AgentRefBatchEncoder`). Kept in memory only: after
/// an agent restart the first push sends texts again, and after a manager restart the manager
/// answers 409 and the pusher resends with texts (`forget`).
final class AgentSeriesRefs: Sendable {
    /// A push body and how it is written.
    struct Body: Sendable {
        var bytes: [UInt8]
        var format: AgentBatchFormat
        var gzipped: Bool
        /// For a compact body, the series sent as text, in order (the reply's `refs` answers them).
        var texts: [[UInt8]]
    }

    private let refs = Mutex<[[UInt8]: UInt64]>([:])
    /// Refs remembered at most; past it the table starts over (VMs come and go on a host).
    let limit: Int

    init(limit: Int = 200_000) { self.limit = limit }

    /// A spooled batch (gzip Prometheus text, as `AgentBatchEncoder.gzipped` wrote it) as a compact
    /// body. A payload that does not read back as one sample per line goes as it is (gzip text), so
    /// the manager's answer names what is wrong with it.
    func body(for payload: [UInt8]) -> Body {
        let asIs = Body(bytes: payload, format: .prometheusText, gzipped: true, texts: [])
        guard let text = try? AgentBatchDecoder.gunzip(payload) else { return asIs }
        let parser = PrometheusTextParser()
        var encoder = AgentRefBatchEncoder(capacity: text.count / 8 + 16)
        var texts: [[UInt8]] = []
        var line = ImportedLine()
        let ok: Bool = refs.withLock { known in
            text.withUnsafeBufferPointer { all in
                PrometheusTextParser.forEachLine(all) { bytes, start, number in
                    guard let parsed = try? parser.parse(bytes, lineNumber: number, into: &line) else { return false }
                    guard parsed else { return true }
                    guard line.timestamps.count == 1, line.values.count == 1 else { return false }
                    let series = Array(all[(start + line.seriesKey.lowerBound)..<(start + line.seriesKey.upperBound)])
                    if let ref = known[series] {
                        encoder.append(ref: ref, value: line.values[0], timestamp: line.timestamps[0])
                    } else {
                        encoder.append(seriesText: series, value: line.values[0], timestamp: line.timestamps[0])
                        texts.append(series)
                    }
                    return true
                }
            }
        }
        guard ok, encoder.count > 0 else { return asIs }
        return Body(bytes: encoder.bytes, format: .refBatch, gzipped: false, texts: texts)
    }

    /// Remembers the refs a reply answered for the series sent as `texts` (0 = refused: text again).
    func learn(_ texts: [[UInt8]], refs answered: [UInt64]?) {
        guard let answered, answered.count == texts.count else { return }
        refs.withLock { known in
            if known.count + texts.count > limit { known.removeAll(keepingCapacity: true) }
            for (text, ref) in zip(texts, answered) where ref != 0 { known[text] = ref }
        }
    }

    /// Forgets every ref (the manager answered 409: it no longer knows them).
    func forget() { refs.withLock { $0.removeAll() } }

    /// Refs held.
    var count: Int { refs.withLock { $0.count } }
}
