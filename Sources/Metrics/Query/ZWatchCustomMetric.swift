/// One datum of a ZWatch `PutMetricData` call: a custom metric value with its labels.
/// `time` is ms since the epoch.
public struct ZWatchDatum: Sendable, Equatable {
    public var metricName: String
    public var value: Double
    public var time: Int64
    public var labels: [String: String]

    public init(metricName: String, value: Double, time: Int64, labels: [String: String]) {
        self.metricName = metricName
        self.value = value
        self.time = time
        self.labels = labels
    }
}

/// The rules custom metrics follow before they reach the store; a whole request is refused when
/// one datum breaks one, naming the field and the datum's index.
public struct ZWatchCustomMetricRules: Sendable {
    /// Namespaces Stratus itself writes; custom data must not go there.
    public static let reservedPrefix = "ZStack/"
    public var maxData = 10_000
    public var maxLabels = 20
    public var maxNameLength = 128
    public var maxLabelValueLength = 1024
    /// How far back a datum may lie (the retention; older ones would be dropped at once).
    public var maxAge: Int64 = 180 * 86_400_000
    /// How far ahead of now a datum may lie (clock skew).
    public var maxFuture: Int64 = 5 * 60_000

    public init() {}

    /// The samples for `data` in `namespace`, or `MetricsError.invalidQuery` naming the first bad
    /// field as `data[i].field`.
    public func samples(namespace: String, data: [ZWatchDatum], now: Int64) throws -> [Sample] {
        try validate(namespace: namespace)
        guard !data.isEmpty else { throw MetricsError.invalidQuery(field: "data", reason: "give at least one datum") }
        guard data.count <= maxData else {
            throw MetricsError.invalidQuery(field: "data", reason: "\(data.count) data exceed \(maxData) per request; split the request")
        }
        return try data.enumerated().map { i, d in
            func bad(_ field: String, _ why: String) -> MetricsError { .invalidQuery(field: "data[\(i)].\(field)", reason: why) }
            guard Self.isIdentifier(d.metricName), d.metricName.count <= maxNameLength else {
                throw bad("metricName", "'\(d.metricName)' must match [A-Za-z_][A-Za-z0-9_]* and be at most \(maxNameLength) characters")
            }
            guard d.value.isFinite else { throw bad("value", "must be a finite number, got \(d.value)") }
            guard d.time >= now - maxAge else {
                throw bad("time", "\(d.time / 1000) s is older than the retention (\(maxAge / 86_400_000) days before now)")
            }
            guard d.time <= now + maxFuture else {
                throw bad("time", "\(d.time / 1000) s is more than \(maxFuture / 1000) s in the future; give seconds since the epoch, not ms")
            }
            guard d.labels.count <= maxLabels else { throw bad("labels", "\(d.labels.count) labels exceed \(maxLabels)") }
            for (name, value) in d.labels.sorted(by: { $0.key < $1.key }) {
                guard SampleValidator.isValidLabelName(name), !name.hasPrefix("__"), name.count <= maxNameLength else {
                    throw bad("labels.\(name)", "label names must match [A-Za-z_][A-Za-z0-9_]*, not start with __, and be at most \(maxNameLength) characters")
                }
                guard !value.isEmpty, value.count <= maxLabelValueLength else {
                    throw bad("labels.\(name)", "the value must be 1 to \(maxLabelValueLength) characters")
                }
            }
            return Sample(labels: ZWatchName.labels(namespace: namespace, metricName: d.metricName, d.labels),
                          timestamp: d.time, value: d.value)
        }
    }

    /// A custom namespace is `Part/Part…` of identifiers, at most 255 characters, outside `ZStack/`.
    public func validate(namespace: String) throws {
        let parts = namespace.split(separator: "/", omittingEmptySubsequences: false)
        guard namespace.count <= 255, parts.count >= 2, parts.allSatisfy({ Self.isIdentifier(String($0)) }) else {
            throw MetricsError.invalidQuery(
                field: "namespace", reason: "'\(namespace)' must be identifiers joined by '/', e.g. MyApp/Orders (at most 255 characters)")
        }
        guard !namespace.lowercased().hasPrefix(Self.reservedPrefix.lowercased()) else {
            throw MetricsError.invalidQuery(field: "namespace", reason: "'\(namespace)' is a built-in namespace; custom metrics use their own, e.g. MyApp/Orders")
        }
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && SampleValidator.isValidLabelName(s)
    }
}
