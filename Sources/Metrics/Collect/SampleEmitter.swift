/// Builds the samples of one ZWatch resource (a host, a VM): same namespace, base labels
/// (`HostUuid`, `VMUuid`, …) and grid stamp; each metric may add a device label.
struct SampleEmitter {
    let namespace: String
    let labels: [String: String]
    let stamp: Int64
    private(set) var samples: [Sample] = []

    init(namespace: String, labels: [String: String], stamp: Int64) {
        self.namespace = namespace
        self.labels = labels
        self.stamp = stamp
    }

    mutating func emit(_ metric: String, _ value: Double, _ extra: [String: String] = [:]) {
        let all = labels.merging(extra) { base, _ in base }
        samples.append(Sample(labels: ZWatchName.labels(namespace: namespace, metricName: metric, all),
                              timestamp: stamp, value: value))
    }
}
