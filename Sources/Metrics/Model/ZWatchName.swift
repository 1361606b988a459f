import Foundation

/// Maps ZWatch names to series names: namespace `ZStack/VM` + `CPUUsedUtilization` is the series
/// `ZStack:VM::CPUUsedUtilization`, the mapping ZStack's own recording rules use.
public enum ZWatchName {
    public static func seriesName(namespace: String, metricName: String) -> String {
        // Plain Swift, not Foundation's `replacingOccurrences` (10x slower; 100,000 alarm rules call this).
        String(decoding: namespace.utf8.map { $0 == UInt8(ascii: "/") ? UInt8(ascii: ":") : $0 }, as: UTF8.self) + "::" + metricName
    }

    /// The namespace and metric name of a series name, or nil when it is not a ZWatch name.
    public static func split(_ seriesName: String) -> (namespace: String, metricName: String)? {
        guard let r = seriesName.range(of: "::") else { return nil }
        return (String(seriesName[..<r.lowerBound]).replacingOccurrences(of: ":", with: "/"),
                String(seriesName[r.upperBound...]))
    }

    /// Labels for a ZWatch metric sample.
    public static func labels(namespace: String, metricName: String, _ extra: [String: String]) -> Labels {
        var d = extra
        d[Labels.nameKey] = seriesName(namespace: namespace, metricName: metricName)
        return Labels(d)
    }
}
