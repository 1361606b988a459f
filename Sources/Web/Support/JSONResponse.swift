import Foundation
import Hummingbird

/// JSON bodies with stable key order, as every API reply.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Decodes a request body, answering 400 naming what is wrong.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, what: String) async throws -> T {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw APIError.badArgument(ctx.codingPath.map(\.stringValue).appending(key.stringValue).joined(separator: "."), "is missing from \(what)")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw APIError.badArgument(ctx.codingPath.map(\.stringValue).joined(separator: "."), "has the wrong type in \(what)")
        } catch {
            throw APIError.badArgument("body", "\(what) must be JSON: \(error.localizedDescription)")
        }
    }
}

extension Array {
    fileprivate func appending(_ e: Element) -> [Element] { self + [e] }
}

/// An HTML page body.
struct HTMLPage: ResponseGenerator {
    var html: String
    var status: HTTPResponse.Status = .ok

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
