import CCurl
import Foundation
import NIOPosix

/// Why an SMTP submission failed: libcurl's code and message, and the server's last reply code
/// (0 when the server never answered, e.g. connection refused).
public struct SMTPError: Error, Equatable, CustomStringConvertible {
    public var curlCode: Int32
    public var replyCode: Int
    public var message: String
    public var server: String

    public var description: String {
        "SMTP \(server): \(message) (curl error \(curlCode)" + (replyCode > 0 ? ", server reply \(replyCode))" : ")")
    }
}

/// Submits one message over SMTP with libcurl: `smtp://` plain or with required STARTTLS
/// (`CURLUSESSL_ALL`), `smtps://` implicit TLS, optional AUTH, several recipients. Blocking curl
/// runs on NIO's thread pool, never on the cooperative pool.
public struct SMTPClient: Sendable {
    public var timeoutMs: Int64
    public var connectTimeoutMs: Int64

    public init(timeoutMs: Int64 = 30_000, connectTimeoutMs: Int64 = 5_000) {
        self.timeoutMs = timeoutMs
        self.connectTimeoutMs = connectTimeoutMs
        _ = SMTPCurlGlobal.initialized
    }

    /// Sends `message` (already rendered, CRLF) from `from` to `recipients` (bare addresses).
    public func send(config: EmailEndpointConfig, from: String, recipients: [String], message: [UInt8]) async throws(SMTPError) {
        let timeout = timeoutMs, connect = connectTimeoutMs
        let result: Result<Void, SMTPError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive {
                Self.perform(config: config, from: from, recipients: recipients, message: message, timeoutMs: timeout, connectTimeoutMs: connect)
            }
        } catch {
            throw SMTPError(curlCode: -1, replyCode: 0, message: "thread pool unavailable: \(error)", server: config.smtpServer)
        }
        try result.get()
    }

    /// `smtp://host:port` or `smtps://host:port` (IPv6 literals bracketed).
    public static func url(_ config: EmailEndpointConfig) -> String {
        let host = config.smtpServer.contains(":") && !config.smtpServer.hasPrefix("[") ? "[\(config.smtpServer)]" : config.smtpServer
        return (config.security == .smtps ? "smtps://" : "smtp://") + host + ":\(config.smtpPort)"
    }

    /// The message bytes and how far libcurl has read them.
    final class Source {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    static func perform(config: EmailEndpointConfig, from: String, recipients: [String], message: [UInt8],
                        timeoutMs: Int64, connectTimeoutMs: Int64) -> Result<Void, SMTPError> {
        let url = url(config)
        func fail(_ code: Int32, _ reply: Int, _ msg: String) -> Result<Void, SMTPError> {
            .failure(SMTPError(curlCode: code, replyCode: reply, message: msg, server: url))
        }
        guard let handle = curl_easy_init() else { return fail(-1, 0, "curl_easy_init failed (out of memory?)") }
        defer { curl_easy_cleanup(handle) }
        var rcpt: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(rcpt) }
        for r in recipients { rcpt = curl_slist_append(rcpt, "<\(r)>") }
        let source = Source(message)
        let sourcePointer = Unmanaged.passRetained(source)
        defer { sourcePointer.release() }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let read: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { buffer, size, n, ctx in
            let src = Unmanaged<Source>.fromOpaque(ctx!).takeUnretainedValue()
            let count = min(size * n, src.bytes.count - src.offset)
            guard count > 0, let buffer else { return 0 }
            src.bytes.withUnsafeBufferPointer { b in
                UnsafeMutableRawPointer(buffer).copyMemory(from: b.baseAddress! + src.offset, byteCount: count)
            }
            src.offset += count
            return count
        }

        var setFailure: String?
        func setLong(_ o: CURLoption, _ v: Int) { if stratus_curl_setopt_long(handle, o, v) != CURLE_OK { setFailure = setFailure ?? "\(o)" } }
        func setString(_ o: CURLoption, _ v: String) { if stratus_curl_setopt_string(handle, o, v) != CURLE_OK { setFailure = setFailure ?? "\(o)" } }
        func setPointer(_ o: CURLoption, _ v: UnsafeMutableRawPointer?) {
            if stratus_curl_setopt_pointer(handle, o, v) != CURLE_OK { setFailure = setFailure ?? "\(o)" }
        }

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errBuf in
            setString(CURLOPT_URL, url)
            setString(CURLOPT_PROTOCOLS_STR, "smtp,smtps")
            setLong(CURLOPT_NOSIGNAL, 1)
            setLong(CURLOPT_TIMEOUT_MS, Int(timeoutMs))
            setLong(CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeoutMs))
            setPointer(CURLOPT_ERRORBUFFER, errBuf.baseAddress)
            switch config.security {
            case .none: setLong(CURLOPT_USE_SSL, Int(CURLUSESSL_NONE.rawValue))
            case .starttls: setLong(CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
            case .smtps: break
            }
            if config.insecureSkipVerify {
                setLong(CURLOPT_SSL_VERIFYPEER, 0)
                setLong(CURLOPT_SSL_VERIFYHOST, 0)
            }
            if let user = config.username, !user.isEmpty {
                setString(CURLOPT_USERNAME, user)
                setString(CURLOPT_PASSWORD, config.password ?? "")
            }
            setString(CURLOPT_MAIL_FROM, "<\(from)>")
            setPointer(CURLOPT_MAIL_RCPT, UnsafeMutableRawPointer(rcpt))
            setLong(CURLOPT_UPLOAD, 1)
            setLong(CURLOPT_INFILESIZE, message.count)
            setPointer(CURLOPT_READFUNCTION, unsafeBitCast(read, to: UnsafeMutableRawPointer.self))
            setPointer(CURLOPT_READDATA, sourcePointer.toOpaque())
            if setFailure != nil { return CURLE_FAILED_INIT }
            return curl_easy_perform(handle)
        }
        if let setFailure { return fail(Int32(CURLE_FAILED_INIT.rawValue), 0, "curl_easy_setopt(\(setFailure)) failed; libcurl lacks SMTP support?") }
        var reply = 0
        _ = stratus_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &reply)
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return fail(Int32(code.rawValue), reply, detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        return .success(())
    }
}

/// libcurl's process-wide initialisation (idempotent with Control's own).
enum SMTPCurlGlobal {
    static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}
