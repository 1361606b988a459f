import Alarms
import Foundation
import Testing

/// The email sender against a real SMTP server (`smtp_receiver.py` on aiosmtpd), checking the
/// message that arrived.
@Suite(.enabled(if: ReceiverProcess.aiosmtpdAvailable, "needs /usr/bin/python3 with aiosmtpd (apt install python3-aiosmtpd)"))
struct SenderEmailTests {
    /// A self-signed certificate for the STARTTLS / SMTPS servers, made by openssl in a temp dir.
    static func certificate() throws -> (cert: String, key: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-cert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let r = try ReceiverProcess.run("/usr/bin/env", ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                                                          "-days", "1", "-keyout", key, "-out", cert])
        try #require(r.status == 0, "openssl req failed")
        return (cert, key)
    }

    @Test func plainSMTPDeliversToBothRecipients() async throws {
        let server = try ReceiverProcess.smtp()
        defer { server.stop() }
        let endpoint = SenderFixture.email(port: server.port)
        let attempt = SenderFixture.attempt(endpoint, [SenderFixture.alarm()])
        #expect(await EmailSender().deliver(attempt) == .delivered)

        let m = try #require(try server.records().first)
        #expect(m["mail_from"] as? String == "alarms@stratus.example")
        #expect(m["rcpt_tos"] as? [String] == ["ops@example.com", "oncall@example.org"])
        #expect(m["tls"] as? Bool == false)
        let mail = try MIMEMail(try #require(m["data"] as? String))
        #expect(mail.header("Subject") == "[Stratus] [Important] cpu-high Firing: CPUAverageUsedUtilization 91.5 (>= 80) on vm-1")
        #expect(mail.header("From") == "Stratus Alarms <alarms@stratus.example>")
        #expect(mail.header("To") == "ops@example.com, oncall@example.org")
        #expect(mail.header("X-Idempotency-Key") == attempt.idempotencyKeys[0])
        #expect(mail.header("Message-ID")?.hasSuffix("@stratus.example>") == true)
        #expect(mail.header("Date")?.hasSuffix("+0000") == true)
        #expect(mail.parts.count == 1)
        #expect(mail.parts.first?.type.hasPrefix("text/plain") == true)
        #expect(mail.parts.first?.text.contains("Alarm cpu-high: Firing") == true)
    }

    @Test func startTLSWithAuthDeliversTextAndHTMLParts() async throws {
        let (cert, key) = try Self.certificate()
        let server = try ReceiverProcess.smtp(["--mode", "starttls", "--cert", cert, "--key", key, "--user", "mailer", "--password", "p@ss w0rd"])
        defer { server.stop() }
        let endpoint = SenderFixture.email(port: server.port, security: .starttls, username: "mailer", password: "p@ss w0rd", html: true)
        let attempt = SenderFixture.attempt(endpoint, [SenderFixture.alarm(.recovery, value: 12)])
        #expect(await EmailSender().deliver(attempt) == .delivered)

        let m = try #require(try server.records().first)
        #expect(m["tls"] as? Bool == true)
        #expect(m["auth_user"] as? String == "mailer")
        #expect(m["rcpt_tos"] as? [String] == ["ops@example.com", "oncall@example.org"])
        let mail = try MIMEMail(try #require(m["data"] as? String))
        #expect(mail.header("Subject")?.contains("cpu-high Recovery") == true)
        #expect(mail.header("Content-Type")?.hasPrefix("multipart/alternative") == true)
        #expect(mail.parts.map { $0.type.split(separator: ";").first.map(String.init) } == ["text/plain", "text/html"])
        #expect(mail.parts[0].text.contains("Status:    Alarm -> OK"))
        #expect(mail.parts[1].text.contains("<table"))
        #expect(mail.parts[1].text.contains("&gt;= 80"))  // HTML-escaped value
    }

    @Test func smtpsAndANonASCIISubject() async throws {
        let (cert, key) = try Self.certificate()
        let server = try ReceiverProcess.smtp(["--mode", "smtps", "--cert", cert, "--key", key])
        defer { server.stop() }
        let endpoint = SenderFixture.email(port: server.port, security: .smtps, recipients: ["运维 <ops@example.com>"])
        let notice = SenderFixture.alarm(name: "主机 CPU 过高 — très élevé")
        #expect(await EmailSender().deliver(SenderFixture.attempt(endpoint, [notice])) == .delivered)

        let m = try #require(try server.records().first)
        #expect(m["tls"] as? Bool == true)
        #expect(m["rcpt_tos"] as? [String] == ["ops@example.com"])
        let raw = try #require(m["data"] as? String)
        let mail = try MIMEMail(raw)
        let subject = try #require(mail.header("Subject"))
        #expect(subject.hasPrefix("=?UTF-8?B?"))
        #expect(MIMEMail.decodeRFC2047(subject).contains("主机 CPU 过高 — très élevé"))
        #expect(raw.utf8.allSatisfy { $0 < 0x80 })  // 7-bit clean on the wire
        #expect(MIMEMail.decodeRFC2047(try #require(mail.header("To"))).contains("运维 <ops@example.com>"))
        #expect(mail.parts[0].text.contains("主机 CPU 过高"))
    }

    @Test func startTLSIsRequiredNotOptional() async throws {
        // A plain server that offers no STARTTLS: `.starttls` must refuse to send in clear text.
        let server = try ReceiverProcess.smtp()
        defer { server.stop() }
        let result = await EmailSender().deliver(SenderFixture.attempt(SenderFixture.email(port: server.port, security: .starttls), [SenderFixture.alarm()]))
        #expect(result != .delivered)
        #expect(try server.records().isEmpty)
    }

    @Test func refusalsAreClassified() async throws {
        let rejectRcpt = try ReceiverProcess.smtp(["--rcpt-code", "550"])
        defer { rejectRcpt.stop() }
        #expect(await EmailSender().deliver(SenderFixture.attempt(SenderFixture.email(port: rejectRcpt.port), [SenderFixture.alarm()])).isPermanentFailure)

        let busy = try ReceiverProcess.smtp(["--rcpt-code", "450"])
        defer { busy.stop() }
        #expect(await EmailSender().deliver(SenderFixture.attempt(SenderFixture.email(port: busy.port), [SenderFixture.alarm()])).isRetryableFailure)

        let dataLater = try ReceiverProcess.smtp(["--data-code", "451"])
        defer { dataLater.stop() }
        let later = await EmailSender().deliver(SenderFixture.attempt(SenderFixture.email(port: dataLater.port), [SenderFixture.alarm()]))
        #expect(later.isRetryableFailure)
        if case let .failed(reason, _) = later { #expect(reason.contains("451")) }

        let dataRejected = try ReceiverProcess.smtp(["--data-code", "554"])
        defer { dataRejected.stop() }
        #expect(await EmailSender().deliver(SenderFixture.attempt(SenderFixture.email(port: dataRejected.port), [SenderFixture.alarm()])).isPermanentFailure)

        let auth = try ReceiverProcess.smtp(["--user", "u", "--password", "right"])
        defer { auth.stop() }
        let denied = await EmailSender().deliver(SenderFixture.attempt(SenderFixture.email(port: auth.port, username: "u", password: "wrong"), [SenderFixture.alarm()]))
        #expect(denied.isPermanentFailure)
        #expect(try auth.records().isEmpty)

        let gone = try ReceiverProcess.smtp()
        gone.stop()
        #expect(await EmailSender().deliver(SenderFixture.attempt(SenderFixture.email(port: gone.port), [SenderFixture.alarm()])).isRetryableFailure)
    }

    @Test func theMessageIDFollowsTheIdempotencyKey() {
        let a = EmailMessage(from: "a@x.org", to: ["b@y"], subject: "s", text: "t", html: nil, date: 0, idempotencyKey: "k1")
        var b = a
        b.date = 99_000
        b.text = "other"
        #expect(a.messageID == b.messageID)
        b.idempotencyKey = "k2"
        #expect(a.messageID != b.messageID)
        #expect(EmailMessage.rfc5322Date(SenderFixture.time) == "Fri, 21 Nov 2025 10:31:01 +0000")
    }
}

/// Just enough of a MIME parser to check what arrived: unfolded headers, and the parts of a
/// single-part or multipart message with base64 / 7bit bodies decoded.
struct MIMEMail {
    struct Part { var type: String; var text: String }
    var headers: [(String, String)]
    var parts: [Part]

    init(_ raw: String) throws {
        let (h, body) = Self.split(raw)
        headers = h
        let type = h.first { $0.0.lowercased() == "content-type" }?.1 ?? "text/plain"
        if type.lowercased().hasPrefix("multipart/"), let b = type.range(of: "boundary=\"") {
            let boundary = String(type[b.upperBound...].prefix { $0 != "\"" })
            parts = body.components(separatedBy: "--" + boundary).dropFirst().filter { !$0.hasPrefix("--") }.map { chunk in
                let (ph, pb) = Self.split(String(chunk.drop { $0 == "\r" || $0 == "\n" }))
                return Self.part(ph, pb)
            }
        } else {
            parts = [Self.part(h, body)]
        }
    }

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }

    static func split(_ s: String) -> ([(String, String)], String) {
        let normalized = s.replacingOccurrences(of: "\r\n", with: "\n")
        let sections = normalized.components(separatedBy: "\n\n")
        var headers: [(String, String)] = []
        for line in sections[0].components(separatedBy: "\n") {
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)  // unfold: drop CRLF, keep one space
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        return (headers, sections.dropFirst().joined(separator: "\n\n"))
    }

    static func part(_ headers: [(String, String)], _ body: String) -> Part {
        let type = headers.first { $0.0.lowercased() == "content-type" }?.1 ?? "text/plain"
        let encoding = headers.first { $0.0.lowercased() == "content-transfer-encoding" }?.1.lowercased() ?? "7bit"
        if encoding == "base64" {
            let data = Data(base64Encoded: body.filter { !$0.isWhitespace }) ?? Data()
            return Part(type: type, text: String(decoding: data, as: UTF8.self))
        }
        return Part(type: type, text: body)
    }

    /// Decodes `=?UTF-8?B?…?=` words (folding whitespace between words dropped).
    static func decodeRFC2047(_ s: String) -> String {
        var bytes: [UInt8] = []
        for word in s.split(whereSeparator: \.isWhitespace) {
            if word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?="), let d = Data(base64Encoded: String(word.dropFirst(10).dropLast(2))) {
                bytes += d
            } else {
                bytes += Array(" \(word)".utf8)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
