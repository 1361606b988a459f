import COpenSSL

/// Stratus uuids follow ZStack: 32 lowercase hex digits, no dashes.
public enum ResourceUUID {
    /// A new random uuid (version-4 layout) from OpenSSL's CSPRNG.
    public static func make() -> String {
        var bytes = SecureRandom.bytes(16)
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return Hex.encode(bytes)
    }

    /// The Stratus form of a uuid written with or without dashes, in any case.
    public static func normalize(_ uuid: String) -> String {
        uuid.replacingOccurrences(of: "-", with: "").lowercased()
    }

    /// The dashed 8-4-4-4-12 form libvirt prints.
    public static func dashed(_ uuid: String) -> String {
        let u = Array(normalize(uuid))
        guard u.count == 32 else { return uuid }
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(u[$0]) }.joined(separator: "-")
    }

    public static func isValid(_ uuid: String) -> Bool {
        uuid.count == 32 && uuid.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}

/// Lowercase hex encoding.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Cryptographically secure random bytes (OpenSSL `RAND_bytes`).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let rc = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(rc == 1, "OpenSSL RAND_bytes failed: the system has no entropy source")
        return out
    }
}
