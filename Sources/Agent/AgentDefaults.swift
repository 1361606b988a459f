/// Defaults of `stratus agent`, each overridable by a flag.
public enum AgentDefaults {
    /// Bound of the on-disk buffer used while the manager is unreachable; past it the oldest
    /// batches are dropped and counted.
    public static let spoolMaxBytes: Int64 = 256 << 20
    /// A push waits up to this fraction of the interval (random per agent and round) so that a
    /// fleet collecting on the same grid does not hit the manager in one burst.
    public static let sendJitterFraction = 0.3
}
