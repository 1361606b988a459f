import CCurl
import Foundation
import NIOPosix

/// Sends HTTP(S) requests through libcurl's easy interface on NIO's thread pool (libcurl blocks).
///
/// ```swift
/// let r = try await CurlHTTPClient().send(.init(method: "POST", url: "http://127.0.0.1:9000/hook",
///                                               headers: [("Content-Type", "application/json")], body: Array(json.utf8)))
/// ```
public struct CurlHTTPClient: Sendable {
    public init() {
        _ = CurlGlobal.initialized
    }

    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        guard request.url.hasPrefix("http://") || request.url.hasPrefix("https://") else {
            throw OutboundHTTPError.invalidRequest("url '\(request.url)' must start with http:// or https://")
        }
        guard request.method.allSatisfy({ $0.isLetter && $0.isUppercase }), !request.method.isEmpty else {
            throw OutboundHTTPError.invalidRequest("method '\(request.method)' must be an upper-case word such as GET or POST")
        }
        return try await NIOThreadPool.singleton.runIfActive { try CurlEasy().perform(request) }
    }
}

/// libcurl's process-wide initialisation, done once.
enum CurlGlobal {
    static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}

/// One curl easy handle; freed in deinit. Not shared between threads.
final class CurlEasy {
    private let handle: UnsafeMutableRawPointer

    init() throws {
        guard let h = curl_easy_init() else { throw OutboundHTTPError.invalidRequest("curl_easy_init failed (out of memory?)") }
        handle = h
    }

    deinit { curl_easy_cleanup(handle) }

    /// Accumulates the response body and header lines from libcurl's callbacks.
    final class Sink {
        var body: [UInt8] = []
        var headerLines: [String] = []
    }

    func perform(_ request: OutboundRequest) throws -> OutboundResponse {
        let sink = Sink()
        let sinkPointer = Unmanaged.passRetained(sink)
        defer { sinkPointer.release() }
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for h in request.headers {
            guard !h.name.contains(where: { $0 == ":" || $0.isNewline }), !h.value.contains(where: \.isNewline) else {
                throw OutboundHTTPError.invalidRequest("header '\(h.name)' contains ':' or a line break")
            }
            headerList = curl_slist_append(headerList, "\(h.name): \(h.value)")
        }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let code: CURLcode = try errorBuffer.withUnsafeMutableBufferPointer { errBuf in
            try set(CURLOPT_URL, request.url)
            try set(CURLOPT_CUSTOMREQUEST, request.method)
            try set(CURLOPT_NOSIGNAL, 1)
            try set(CURLOPT_TIMEOUT_MS, Int(request.timeout))
            try set(CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeout))
            try set(CURLOPT_PROTOCOLS_STR, "http,https")
            try check(stratus_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errBuf.baseAddress), "CURLOPT_ERRORBUFFER")
            try check(stratus_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headerList), "CURLOPT_HTTPHEADER")
            if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
                try set(CURLOPT_POSTFIELDSIZE, request.body.count)
                try request.body.withUnsafeBytes { b in
                    // COPYPOSTFIELDS copies, so the buffer need not outlive this call.
                    try check(stratus_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS,
                                                          UnsafeMutableRawPointer(mutating: b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!)),
                              "CURLOPT_COPYPOSTFIELDS")
                }
            }
            try check(stratus_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer.toOpaque()), "CURLOPT_WRITEDATA")
            try check(stratus_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, sinkPointer.toOpaque()), "CURLOPT_HEADERDATA")
            let write: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { ptr, size, n, ctx in
                let sink = Unmanaged<Sink>.fromOpaque(ctx!).takeUnretainedValue()
                ptr.map { sink.body.append(contentsOf: UnsafeRawBufferPointer(start: $0, count: size * n)) }
                return size * n
            }
            let header: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { ptr, size, n, ctx in
                let sink = Unmanaged<Sink>.fromOpaque(ctx!).takeUnretainedValue()
                if let ptr {
                    let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: size * n), as: UTF8.self)
                    sink.headerLines.append(line.trimmingTrailingNewlines())
                }
                return size * n
            }
            try check(stratus_curl_setopt_pointer(handle, CURLOPT_WRITEFUNCTION, unsafeBitCast(write, to: UnsafeMutableRawPointer.self)), "CURLOPT_WRITEFUNCTION")
            try check(stratus_curl_setopt_pointer(handle, CURLOPT_HEADERFUNCTION, unsafeBitCast(header, to: UnsafeMutableRawPointer.self)), "CURLOPT_HEADERFUNCTION")
            return curl_easy_perform(handle)
        }

        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            if code == CURLE_OPERATION_TIMEDOUT { throw OutboundHTTPError.timedOut(url: request.url, afterMs: request.timeout) }
            throw OutboundHTTPError.transport(url: request.url, code: Int32(code.rawValue), message: message)
        }
        var status = 0
        _ = stratus_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return OutboundResponse(status: status, headers: Self.parseHeaders(sink.headerLines), body: sink.body)
    }

    /// Header lines of the last response (after redirects or `100 Continue`).
    static func parseHeaders(_ lines: [String]) -> [(name: String, value: String)] {
        let start = lines.lastIndex { $0.hasPrefix("HTTP/") } ?? 0
        return lines[start...].dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    private func set(_ option: CURLoption, _ value: String) throws {
        try check(stratus_curl_setopt_string(handle, option, value), "\(option)")
    }

    private func set(_ option: CURLoption, _ value: Int) throws {
        try check(stratus_curl_setopt_long(handle, option, value), "\(option)")
    }

    private func check(_ code: CURLcode, _ what: String) throws {
        guard code == CURLE_OK else {
            throw OutboundHTTPError.invalidRequest("curl_easy_setopt(\(what)): \(String(cString: curl_easy_strerror(code)))")
        }
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while let last = s.last, last.isNewline { s.removeLast() }
        return String(s)
    }
}
