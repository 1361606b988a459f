import COpenSSL

/// Where the manager keeps the hosts that push through `stratus agent` and the SHA-256 of each
/// one's token (the token itself is shown once at registration and never stored).
///
/// Contract: registering a host and setting its token commit together; a token hash names at
/// most one host; registering the same name again replaces the hash (the old token stops working).
public protocol AgentTokenStore: Sendable {
    /// Adds the host (or finds the one registered under the same `hypervisorURI`), refreshes its
    /// management IP, CPU count and memory, and stores `tokenHash` as its only token.
    func registerAgentHost(_ host: Host, tokenHash: String, at: Int64) async throws -> Host
    /// The uuid of the host whose token hashes to `tokenHash`, or nil.
    func agentHost(tokenHash: String) async throws -> String?
    /// Uuids of every host that has an agent token.
    func agentHostUuids() async throws -> [String]
}

/// Agent tokens: 32 random bytes as 64 hex digits; stored and looked up by their SHA-256.
public enum AgentToken {
    /// The `hypervisorURI` recorded for an agent host, so `addHost` finds it again by name.
    public static func hostURI(name: String) -> String { "agent://\(name)" }

    /// A new token from OpenSSL's CSPRNG.
    public static func make() -> String { Hex.encode(SecureRandom.bytes(32)) }

    /// The lowercase hex SHA-256 of the token's UTF-8 bytes.
    public static func hash(_ token: String) -> String {
        let bytes = Array(token.utf8)
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let rc = bytes.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in EVP_Digest(b.baseAddress, b.count, o.baseAddress, &length, EVP_sha256(), nil) }
        }
        precondition(rc == 1 && length == 32, "OpenSSL EVP_Digest(SHA-256) failed")
        return Hex.encode(out)
    }
}
