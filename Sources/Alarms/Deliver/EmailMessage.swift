import Foundation

/// An RFC 5322 / MIME email as Stratus sends it: `From`, `To`, `Subject` (RFC 2047 encoded when
/// not ASCII), `Date`, `Message-ID` (derived from the idempotency key, so a re-sent notification
/// has the same id and mail clients thread or drop it), `X-Idempotency-Key`, and a UTF-8
/// `text/plain` part, or `multipart/alternative` text + HTML. Parts are base64 (any content, short lines).
public struct EmailMessage: Sendable, Equatable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var text: String
    public var html: String?
    /// ms since the epoch.
    public var date: Int64
    public var idempotencyKey: String

    public init(from: String, to: [String], subject: String, text: String, html: String?, date: Int64, idempotencyKey: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.date = date
        self.idempotencyKey = idempotencyKey
    }

    /// `<32 hex of SHA-256(idempotencyKey)@domain-of-from>`.
    public var messageID: String {
        let hash = NotificationSignature.hex(NotificationSignature.sha256(Array(idempotencyKey.utf8))).prefix(32)
        let address = Self.address(from)
        let domain = address.split(separator: "@").last.map(String.init).flatMap { $0.isEmpty || !address.contains("@") ? nil : $0 } ?? "stratus.invalid"
        return "<\(hash)@\(domain)>"
    }

    /// The message with CRLF line ends, ready for SMTP `DATA`.
    public func rendered() -> [UInt8] {
        var h: [String] = [
            "From: " + Self.encodeAddress(from),
            "To: " + to.map(Self.encodeAddress).joined(separator: ",\r\n "),
            "Subject: " + Self.encodeHeaderText(Self.clean(subject)),
            "Date: " + Self.rfc5322Date(date),
            "Message-ID: " + messageID,
            "X-Idempotency-Key: " + NotificationSignature.headerSafe(idempotencyKey),
            "X-Mailer: Stratus",
            "MIME-Version: 1.0",
        ]
        var body: [String] = []
        if let html {
            let boundary = "stratus-" + NotificationSignature.hex(NotificationSignature.sha256(Array((idempotencyKey + "/boundary").utf8))).prefix(24)
            h.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            body.append("This is a multi-part message in MIME format.")
            body.append("--" + boundary)
            body += Self.part(text, type: "text/plain")
            body.append("--" + boundary)
            body += Self.part(html, type: "text/html")
            body.append("--" + boundary + "--")
        } else {
            h += Self.partHeaders(type: "text/plain")
            body.append(Self.base64Lines(text))
        }
        return Array((h.joined(separator: "\r\n") + "\r\n\r\n" + body.joined(separator: "\r\n") + "\r\n").utf8)
    }

    private static func partHeaders(type: String) -> [String] {
        ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64"]
    }

    private static func part(_ content: String, type: String) -> [String] {
        partHeaders(type: type) + ["", base64Lines(content)]
    }

    /// Base64 in 76-character lines joined by CRLF.
    static func base64Lines(_ s: String) -> String {
        let b = Data(s.utf8).base64EncodedString()
        var lines: [Substring] = []
        var i = b.startIndex
        while i < b.endIndex {
            let j = b.index(i, offsetBy: 76, limitedBy: b.endIndex) ?? b.endIndex
            lines.append(b[i..<j])
            i = j
        }
        return lines.joined(separator: "\r\n")
    }

    /// Line breaks in header values would start new headers: replaced by spaces.
    static func clean(_ s: String) -> String {
        String(s.map { $0.isNewline ? " " : $0 })
    }

    /// ASCII text unchanged; otherwise RFC 2047 `=?UTF-8?B?…?=` encoded words (whole characters,
    /// at most 45 bytes each so each word stays under 76 characters), folded onto continuation lines.
    public static func encodeHeaderText(_ s: String) -> String {
        if s.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 }) { return s }
        var words: [String] = []
        var chunk: [UInt8] = []
        for c in s {
            let bytes = Array(String(c).utf8)
            if chunk.count + bytes.count > 45, !chunk.isEmpty {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
    }

    /// `Name <a@x>` with a non-ASCII name RFC 2047-encoded; addresses are left as given.
    public static func encodeAddress(_ s: String) -> String {
        let s = clean(s)
        guard let open = s.lastIndex(of: "<"), s.hasSuffix(">") else { return s }
        let name = s[..<open].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !name.unicodeScalars.allSatisfy({ $0.isASCII }) else { return s }
        return encodeHeaderText(name) + " " + s[open...]
    }

    /// `Sat, 21 Nov 2026 10:31:01 +0000`.
    public static func rfc5322Date(_ ms: Int64) -> String {
        var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        var t = tm()
        gmtime_r(&seconds, &t)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return days[Int(t.tm_wday)] + ", " + String(format: "%02d", Int(t.tm_mday)) + " " + months[Int(t.tm_mon)] + " "
            + String(format: "%04d %02d:%02d:%02d +0000", Int(t.tm_year) + 1900, Int(t.tm_hour), Int(t.tm_min), Int(t.tm_sec))
    }

    /// `a@x` from `Name <a@x>` or `a@x`.
    public static func address(_ s: String) -> String {
        if let open = s.lastIndex(of: "<"), let close = s.lastIndex(of: ">"), open < close {
            return String(s[s.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
        }
        return s.trimmingCharacters(in: .whitespaces)
    }
}
