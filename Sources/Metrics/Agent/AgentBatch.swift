import CompressNIO
import NIOCore

/// Builds one push: samples as Prometheus text lines with ms timestamps, then gzip.
///
/// ```swift
/// var batch = AgentBatchEncoder()
/// for s in samples { batch.append(s) }
/// let body = try batch.gzipped()   // POST to AgentProtocol.metricsPath
/// ```
public struct AgentBatchEncoder: Sendable {
    /// The uncompressed text so far.
    public private(set) var text: [UInt8] = []
    /// Lines appended so far.
    public private(set) var count = 0
    /// The last timestamp written and its digits: a batch's lines share one grid stamp.
    private var stamp: Int64 = .min
    private var stampDigits: [UInt8] = []

    public init(capacity: Int = 1 << 16) { text.reserveCapacity(capacity) }

    /// Appends `name{k="v",…} value timestamp` (labels in `Labels` order, without `__name__`).
    public mutating func append(_ sample: Sample) {
        Self.appendSeries(sample.labels, to: &text)
        appendValue(sample.value, timestamp: sample.timestamp)
    }

    /// Appends a line whose series text (`name{…}`, as `AgentBatchEncoder.seriesText` makes it)
    /// was built once and is reused every interval.
    public mutating func append(seriesText: [UInt8], value: Double, timestamp: Int64) {
        text.append(contentsOf: seriesText)
        appendValue(value, timestamp: timestamp)
    }

    /// The series part of a line, for callers that reuse it.
    public static func seriesText(_ labels: Labels) -> [UInt8] {
        var out: [UInt8] = []
        appendSeries(labels, to: &out)
        return out
    }

    /// The text gzip-compressed (`level` 1 = fastest … 9 = smallest).
    public func gzipped(level: Int32 = 1) throws -> [UInt8] {
        var buffer = ByteBuffer(bytes: text)
        let algorithm = CompressionAlgorithm.gzip(configuration: .init(
            compressionLevel: ZlibConfiguration.CompressionLevel(rawValue: level) ?? .fastestCompression))
        var out = try buffer.compress(with: algorithm)
        return out.readBytes(length: out.readableBytes) ?? []
    }

    public mutating func removeAll() {
        text.removeAll(keepingCapacity: true)
        count = 0
    }

    private mutating func appendValue(_ value: Double, timestamp: Int64) {
        text.append(0x20)
        if value.isNaN {
            text.append(contentsOf: "NaN".utf8)
        } else if value.isInfinite {
            text.append(contentsOf: (value > 0 ? "+Inf" : "-Inf").utf8)
        } else if value == value.rounded(), abs(value) < 1e15 {
            text.append(contentsOf: String(Int64(value)).utf8)
        } else {
            text.append(contentsOf: value.description.utf8)
        }
        text.append(0x20)
        if timestamp != stamp {
            stamp = timestamp
            stampDigits = Array(String(timestamp).utf8)
        }
        text.append(contentsOf: stampDigits)
        text.append(0x0A)
        count += 1
    }

    private static func appendSeries(_ labels: Labels, to out: inout [UInt8]) {
        out.append(contentsOf: labels.name.utf8)
        var first = true
        for p in labels.pairs where p.name != Labels.nameKey {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            out.append(contentsOf: p.name.utf8)
            out.append(contentsOf: "=\"".utf8)
            for b in p.value.utf8 {
                switch b {
                case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
                case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
                case 0x0A: out.append(contentsOf: "\\n".utf8)
                default: out.append(b)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        if !first { out.append(UInt8(ascii: "}")) }
    }
}

/// Undoes `AgentBatchEncoder.gzipped`.
public enum AgentBatchDecoder {
    /// The text inside a gzip body. Throws `MetricsError.invalidSample` naming the problem when the
    /// body is not gzip or inflates past `limit` bytes.
    public static func gunzip(_ body: [UInt8], limit: Int = AgentProtocol.maxBatchBytes) throws -> [UInt8] {
        var buffer = ByteBuffer(bytes: body)
        do {
            var out = try buffer.decompress(with: .gzip(), maxSize: limit)
            return out.readBytes(length: out.readableBytes) ?? []
        } catch let e as CompressNIOError where e == .bufferOverflow {
            throw MetricsError.invalidSample("agent batch", reason: "the batch inflates past \(limit) bytes; send smaller batches")
        } catch {
            throw MetricsError.invalidSample("agent batch", reason: "the body is not valid gzip (\(error)); send Content-Encoding: gzip bodies")
        }
    }
}
