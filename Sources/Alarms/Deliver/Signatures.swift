import COpenSSL
import Foundation

/// The signatures notification senders attach: HMAC-SHA256 over HTTP bodies and DingTalk's robot sign.
public enum NotificationSignature {
    /// HMAC-SHA256 of `message` with `key` (32 bytes), through OpenSSL.
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    // A zero-length key or message still needs a valid pointer for OpenSSL.
                    HMAC(EVP_sha256(), k.baseAddress ?? UnsafePointer(bitPattern: 1), Int32(k.count),
                         m.baseAddress ?? UnsafePointer(bitPattern: 1), m.count, o.baseAddress, &length)
                }
            }
        }
        precondition(result != nil && length == 32, "OpenSSL HMAC(SHA-256) failed")
        return Array(out.prefix(32))
    }

    /// Lower-case hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var s = [UInt8]()
        s.reserveCapacity(bytes.count * 2)
        for b in bytes {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: s, as: UTF8.self)
    }

    /// The value of `X-Stratus-Signature` for `body`: `sha256=<hex HMAC-SHA256(secret, body)>`.
    public static func httpSignature(secret: String, body: [UInt8]) -> String {
        "sha256=" + hex(hmacSHA256(key: Array(secret.utf8), message: body))
    }

    /// DingTalk's robot sign before URL-encoding: `base64(HmacSHA256(secret, timestamp + "\n" + secret))`,
    /// `timestamp` in ms.
    public static func dingTalkSign(secret: String, timestamp: Int64) -> String {
        let mac = hmacSHA256(key: Array(secret.utf8), message: Array("\(timestamp)\n\(secret)".utf8))
        return Data(mac).base64EncodedString()
    }

    /// Percent-encodes everything except RFC 3986 unreserved characters (so base64's `+`, `/`, `=`
    /// become `%2B`, `%2F`, `%3D`), as a query value must be.
    public static func urlEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    /// `url` with DingTalk's `timestamp` and URL-encoded `sign` appended as query parameters.
    public static func signedDingTalkURL(_ url: String, secret: String, timestamp: Int64) -> String {
        let separator = url.contains("?") ? "&" : "?"
        return url + separator + "timestamp=\(timestamp)&sign=" + urlEncode(dingTalkSign(secret: secret, timestamp: timestamp))
    }
}

extension NotificationSignature {
    /// SHA-256 of `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let rc = bytes.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in EVP_Digest(b.baseAddress, b.count, o.baseAddress, &length, EVP_sha256(), nil) }
        }
        precondition(rc == 1 && length == 32, "OpenSSL EVP_Digest(SHA-256) failed")
        return out
    }

    /// The `X-Idempotency-Key` header of an attempt: its key for one notice; for several,
    /// `batch-sha256:<hex SHA-256 of the keys joined by "\n">` (each key is also in the body).
    /// Control characters and non-ASCII bytes are percent-encoded to keep the header valid; a key
    /// longer than `maxHeaderKeyBytes` (an instance key with huge label values) is sent as
    /// `sha256:<hex SHA-256 of the key>`, still one stable value per notification.
    public static func idempotencyHeader(_ keys: [String]) -> String {
        if keys.count == 1 {
            let safe = headerSafe(keys[0])
            return safe.utf8.count <= maxHeaderKeyBytes ? safe : "sha256:" + hex(sha256(Array(keys[0].utf8)))
        }
        return "batch-sha256:" + hex(sha256(Array(keys.joined(separator: "\n").utf8)))
    }

    /// The longest idempotency key sent verbatim in a header.
    public static let maxHeaderKeyBytes = 512

    static func headerSafe(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if b < 0x20 || b >= 0x7f { out += String(format: "%%%02X", b) } else { out.unicodeScalars.append(Unicode.Scalar(b)) }
        }
        return out
    }
}
