import StratusMetrics
import Synchronization

/// The series refs the manager answered to one simulated host, by index in its `SimHostSeries`
/// (0 = none yet: the series goes as text), as a real agent keeps them (`AgentSeriesRefs`).
final class SimHostRefs: Sendable {
    private let refs: Mutex<[UInt64]>

    init(count: Int) { refs = Mutex([UInt64](repeating: 0, count: count)) }

    /// `round` as a compact batch (`AgentRefBatchEncoder`): each series by its ref when known, else
    /// by its text; also which series went as text, in order (the reply's `refs` answers them).
    func encode(_ round: SimRoundValues, table: SimHostSeries) -> (body: [UInt8], texts: [Int32]) {
        var encoder = AgentRefBatchEncoder(capacity: round.count * 11 + 16)
        var texts: [Int32] = []
        refs.withLock { known in
            for (s, v) in zip(round.series, round.values) {
                let ref = known[Int(s)]
                if ref != 0 {
                    encoder.append(ref: ref, value: v, timestamp: round.timestamp)
                } else {
                    encoder.append(seriesText: table.series[Int(s)], value: v, timestamp: round.timestamp)
                    texts.append(s)
                }
            }
        }
        return (encoder.bytes, texts)
    }

    /// Remembers the refs a reply answered for the series sent as `texts` (0 = refused: text again).
    func learn(_ texts: [Int32], refs answered: [UInt64]?) {
        guard let answered, answered.count == texts.count else { return }
        refs.withLock { known in
            for (s, ref) in zip(texts, answered) { known[Int(s)] = ref }
        }
    }

    /// Forgets every ref (the manager answered 409: it no longer knows them).
    func forget() {
        refs.withLock { known in
            for i in known.indices { known[i] = 0 }
        }
    }
}
