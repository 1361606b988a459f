/// One measured value of one series at one time (milliseconds since the epoch).
public struct Sample: Sendable, Equatable {
    public var labels: Labels
    public var timestamp: Int64
    public var value: Double

    public init(labels: Labels, timestamp: Int64, value: Double) {
        self.labels = labels
        self.timestamp = timestamp
        self.value = value
    }
}

/// A time/value pair of a series.
public struct Point: Sendable, Equatable {
    public var timestamp: Int64
    public var value: Double

    public init(timestamp: Int64, value: Double) {
        self.timestamp = timestamp
        self.value = value
    }
}

/// A series and its points in time order, as a select returns it.
public struct SeriesPoints: Sendable, Equatable {
    public var labels: Labels
    public var points: [Point]

    public init(labels: Labels, points: [Point]) {
        self.labels = labels
        self.points = points
    }
}
