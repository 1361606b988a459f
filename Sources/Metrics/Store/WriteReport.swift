/// What a write stored and what it refused, sample by sample.
public struct WriteReport: Sendable, Equatable {
    /// Samples stored (a replayed duplicate of a stored sample counts as stored).
    public var accepted: Int
    /// Samples refused, each with why; never dropped silently.
    public var rejected: [SampleRejection]

    public init(accepted: Int = 0, rejected: [SampleRejection] = []) {
        self.accepted = accepted
        self.rejected = rejected
    }

    /// Adds another report's counts and rejections to this one.
    public mutating func merge(_ other: WriteReport) {
        accepted += other.accepted
        rejected += other.rejected
    }
}

/// One refused sample and the reason, in words an operator can act on.
public struct SampleRejection: Sendable, Equatable {
    /// Why a valid sample was not stored.
    public enum Reason: String, Sendable, CaseIterable {
        /// Older than the series' newest sample minus the out-of-order window.
        case tooOld = "too_old"
        /// Older than the retention period.
        case pastRetention = "past_retention"
        /// The store already holds its maximum number of series and this would add one.
        case seriesLimit = "series_limit"
    }

    public var sample: Sample
    public var reason: Reason
    /// A sentence naming the series, the time and the limit that refused it.
    public var message: String

    public init(sample: Sample, reason: Reason, message: String) {
        self.sample = sample
        self.reason = reason
        self.message = message
    }
}
