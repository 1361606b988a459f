/// Tuning and limits of `RocksMetricStore`. Every field has a default that works on a laptop.
public struct TSDBOptions: Sendable {
    /// How long samples are kept (ms); older ones are refused on write and removed by `maintain`.
    public var retention: Int64 = 180 * 86_400_000
    /// A sample is accepted when `t > newest(series) - outOfOrderWindow` (ms).
    public var outOfOrderWindow: Int64 = 3_600_000
    /// Most series the store holds; a new series past it is refused.
    public var maxSeries: Int = 10_000_000
    /// Most labels (including `__name__`) one series may have.
    public var maxLabelsPerSeries: Int = 32
    /// Longest label name, in UTF-8 bytes.
    public var maxLabelNameLength: Int = 128
    /// Longest label value, in UTF-8 bytes.
    public var maxLabelValueLength: Int = 2_048
    /// Most samples in one chunk (a head is cut when it holds this many).
    public var maxChunkSamples: Int = 360
    /// How often (ms) a live head is cut inside its hour, at a time of its own (a per-series phase,
    /// so a fleet's cuts spread evenly over the rounds instead of landing in one); 0 = heads are cut
    /// only at `maxChunkSamples` and sealed at hour ends (one chunk per series-hour: the least disk,
    /// for bulk loads). A head is cut at the first of its series' cut times at least half an
    /// interval after its first sample, once it holds `RocksMetricStore.minIntervalCutSamples`
    /// (so a series sampled every minute or slower keeps hour chunks). With 20 minutes a head holds
    /// ~10 minutes of samples on average instead of up to its whole hour: at 10,000 hosts peak RSS
    /// across an hour boundary went from 6.6 GiB to 4.8-5.3 GiB. `stratus serve` uses 20 minutes.
    public var headCutInterval: Int64 = 0
    /// A checkpoint runs when the WAL has grown by this many bytes since the last one …
    /// (A checkpoint saves every head: at 4 million series ~400 MB of snapshot file plus the
    /// encoding, so at 400 k samples/s 256 MiB made it run every minute; 1 GiB bounds the WAL
    /// replay after a crash to about that much.)
    public var checkpointWALBytes: Int = 1 << 30
    /// … or this long (ms) after the last one (checked in `maintain`).
    public var checkpointInterval: Int64 = 300_000
    /// How long (ms of sample time) past its last sample a sealed head stays in memory: an hour's
    /// end is then written by the sealing thread and dropped; an interval cut, written when cut, is
    /// dropped. Windows up to this long in the first
    /// minutes (alarm rounds) read memory instead of RocksDB. Five minutes is the built-in alarms'
    /// period; a longer hold keeps the old hour's heads in memory longer.
    public var sealedHold: Int64 = 300_000

    public init() {}
}

/// What one `RocksMetricStore.maintain(now:)` call did.
public struct MaintenanceReport: Sendable, Equatable {
    /// (hour, series) rollup entries rebuilt.
    public var rollupsBuilt: Int
    /// What retention removed, or nil when it did not run.
    public var retention: RetentionReport?
    /// Retention was due (the cutoff moved) but skipped without visiting any series: no stored
    /// sample can be older than the cutoff (`M oldest_sample`).
    public var retentionSkipped: Bool
    /// Whether a checkpoint was written.
    public var checkpointed: Bool
    /// A checkpoint was due but waited: the sealing thread had sealed heads due to write
    /// (`RocksMetricStore.checkpointWaitsForSealing`).
    public var checkpointWaitedForSealing: Bool

    public init(rollupsBuilt: Int = 0, retention: RetentionReport? = nil, retentionSkipped: Bool = false, checkpointed: Bool = false,
                checkpointWaitedForSealing: Bool = false) {
        self.rollupsBuilt = rollupsBuilt
        self.retention = retention
        self.retentionSkipped = retentionSkipped
        self.checkpointed = checkpointed
        self.checkpointWaitedForSealing = checkpointWaitedForSealing
    }
}
