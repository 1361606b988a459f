import CompressNIO
import NIOCore

extension AgentBatchDecoder {
    /// The text inside a gzip body held in a `ByteBuffer` (as an HTTP server receives it), without
    /// copying it first. Throws like `gunzip(_: [UInt8], limit:)`.
    public static func gunzip(_ body: ByteBuffer, limit: Int = AgentProtocol.maxBatchBytes) throws -> [UInt8] {
        var buffer = body
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
