import COpenSSL
import Foundation

/// Seals endpoint secrets (HMAC secrets, Basic-auth and SMTP passwords, DingTalk secrets) for
/// alarms.sqlite with AES-256-GCM (OpenSSL EVP): a random 12-byte nonce per value, a 16-byte tag,
/// stored as `enc:v1:<base64(nonce | ciphertext | tag)>`. The key never leaves this value and is
/// never printed (`description` shows only that a key is loaded).
public struct AlarmSecretBox: Sendable, CustomStringConvertible {
    /// Prefix of a sealed value.
    public static let prefix = "enc:v1:"
    static let keySize = 32
    static let nonceSize = 12
    static let tagSize = 16

    private let key: [UInt8]

    /// A box over `key`, which must be 32 bytes (`AlarmKeyFile` loads or creates one).
    public init(key: [UInt8]) throws(AlarmKeyError) {
        guard key.count == Self.keySize else { throw .wrongSize(path: "(in memory)", size: key.count) }
        self.key = key
    }

    /// A box over 32 fresh random bytes (private in-memory stores).
    public static func ephemeral() -> AlarmSecretBox {
        // A 32-byte key is the only size `init` refuses to reject.
        try! AlarmSecretBox(key: randomBytes(keySize))
    }

    public var description: String { "AlarmSecretBox(AES-256-GCM, key hidden)" }

    /// Whether `value` is sealed (starts with `enc:v1:`).
    public static func isSealed(_ value: String) -> Bool { value.hasPrefix(prefix) }

    /// `enc:v1:<base64(nonce | ciphertext | tag)>` of `plaintext`, with a fresh nonce each call.
    public func seal(_ plaintext: String) -> String {
        let nonce = Self.randomBytes(Self.nonceSize)
        let input = Array(plaintext.utf8)
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var tag = [UInt8](repeating: 0, count: Self.tagSize)
        let ctx = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(ctx) }
        var written: Int32 = 0, final: Int32 = 0
        let ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1
            && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceSize), nil) == 1
            && EVP_EncryptInit_ex(ctx, nil, nil, key, nonce) == 1
            && (input.isEmpty || EVP_EncryptUpdate(ctx, &output, &written, input, Int32(input.count)) == 1)
            && output.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(ctx, $0.baseAddress! + Int(written), &final) } == 1
            && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagSize), &tag) == 1
        // Encryption with a valid key and nonce cannot fail short of OpenSSL being broken.
        precondition(ok, "OpenSSL AES-256-GCM encryption failed")
        let sealed = nonce + output.prefix(Int(written + final)) + tag
        return Self.prefix + Data(sealed).base64EncodedString()
    }

    /// The plaintext of a sealed value; a value without the `enc:v1:` prefix is returned as it is
    /// (written before secrets were encrypted; the v2 migration seals those on open).
    /// Throws `AlarmKeyError.cannotDecrypt` when the value was sealed under another key or altered.
    public func open(_ value: String, what: String) throws(AlarmKeyError) -> String {
        guard Self.isSealed(value) else { return value }
        guard let data = Data(base64Encoded: String(value.dropFirst(Self.prefix.count))),
              data.count >= Self.nonceSize + Self.tagSize else {
            throw .cannotDecrypt(what: what, detail: "the stored value is not valid enc:v1 base64")
        }
        let bytes = [UInt8](data)
        let nonce = Array(bytes[0..<Self.nonceSize])
        let cipher = Array(bytes[Self.nonceSize..<(bytes.count - Self.tagSize)])
        var tag = Array(bytes[(bytes.count - Self.tagSize)...])
        var output = [UInt8](repeating: 0, count: cipher.count + 16)
        let ctx = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(ctx) }
        var written: Int32 = 0, final: Int32 = 0
        let ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1
            && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceSize), nil) == 1
            && EVP_DecryptInit_ex(ctx, nil, nil, key, nonce) == 1
            && (cipher.isEmpty || EVP_DecryptUpdate(ctx, &output, &written, cipher, Int32(cipher.count)) == 1)
            && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagSize), &tag) == 1
            && output.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(ctx, $0.baseAddress! + Int(written), &final) } == 1
        guard ok else {
            throw .cannotDecrypt(what: what, detail: "authentication failed: the key file is not the one these secrets were encrypted with, or the value was altered")
        }
        guard let text = String(validating: output.prefix(Int(written + final)), as: UTF8.self) else {
            throw .cannotDecrypt(what: what, detail: "the decrypted value is not UTF-8")
        }
        return text
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        precondition(RAND_bytes(&bytes, Int32(count)) == 1, "OpenSSL RAND_bytes failed")
        return bytes
    }
}

/// A problem with the alarms' secret key (`alarms.key`) or a value sealed under it. The key's
/// bytes are never part of the message.
public enum AlarmKeyError: Error, Equatable, CustomStringConvertible {
    /// The key file exists but cannot be read.
    case unreadable(path: String, reason: String)
    /// The key file is not exactly 32 bytes.
    case wrongSize(path: String, size: Int)
    /// The key file cannot be created.
    case cannotCreate(path: String, reason: String)
    /// The key file is missing but the database holds sealed secrets, which a new key could not open.
    case missing(path: String, database: String)
    /// A sealed value does not open with this key.
    case cannotDecrypt(what: String, detail: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            "alarm secret key \(path) cannot be read (\(reason)); make it readable by the user running stratus (chmod 600, same owner)"
        case let .wrongSize(path, size):
            "alarm secret key \(path) is \(size) bytes, not 32; restore the original alarms.key from a backup (a new key cannot open secrets sealed with the old one)"
        case let .cannotCreate(path, reason):
            "cannot create the alarm secret key \(path) (\(reason)); check that the data folder is writable"
        case let .missing(path, database):
            "alarm secret key \(path) is missing but \(database) holds encrypted endpoint secrets; restore alarms.key from a backup, or delete and re-create the endpoints"
        case let .cannotDecrypt(what, detail):
            "cannot decrypt \(what): \(detail); restore the alarms.key that belongs to this alarms.sqlite"
        }
    }
}
