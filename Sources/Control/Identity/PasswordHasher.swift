import COpenSSL
import Foundation

/// PBKDF2-HMAC-SHA256 password hashing through OpenSSL, stored as
/// `pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>` so the cost can rise later.
public enum PasswordHasher {
    /// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
    public static let defaultIterations = 600_000

    public static func hash(_ password: String, iterations: Int = defaultIterations) -> String {
        let salt = SecureRandom.bytes(16)
        let key = derive(password, salt: salt, iterations: iterations)
        return "pbkdf2-sha256$\(iterations)$\(Data(salt).base64EncodedString())$\(Data(key).base64EncodedString())"
    }

    /// True when `password` matches `stored`; false for a wrong password or a malformed hash.
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let iterations = Int(parts[1]), iterations > 0,
              let salt = Data(base64Encoded: parts[2]), let expected = Data(base64Encoded: parts[3])
        else { return false }
        let key = derive(password, salt: [UInt8](salt), iterations: iterations)
        return constantTimeEqual(key, [UInt8](expected))
    }

    static func derive(_ password: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let pw = Array(password.utf8)
        let rc = pw.withUnsafeBufferPointer { p in
            salt.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    p.withMemoryRebound(to: CChar.self) { pc in
                        PKCS5_PBKDF2_HMAC(pc.baseAddress, Int32(pw.count), s.baseAddress, Int32(salt.count),
                                          Int32(iterations), EVP_sha256(), Int32(o.count), o.baseAddress)
                    }
                }
            }
        }
        precondition(rc == 1, "OpenSSL PKCS5_PBKDF2_HMAC failed")
        return out
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 }
        }
    }
}
