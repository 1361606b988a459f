/// Parses the `cpu` lines of `/proc/stat`.
enum ProcStatParser {
    struct Line: Sendable {
        var name: String
        var times: CPUTimes
    }

    /// Every `cpu`/`cpuN` line in file order. Throws `MetricsError.corrupt` naming `path` and the
    /// 1-based line number when a cpu line has fewer than 4 counters or a non-number, or when
    /// there is no aggregate `cpu` line.
    static func parse(_ text: String, path: String) throws -> [Line] {
        var lines: [Line] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = raw.split(separator: " ", omittingEmptySubsequences: true)
            guard let name = fields.first, name.hasPrefix("cpu") else { continue }
            let suffix = name.dropFirst(3)
            guard suffix.allSatisfy(\.isASCII) && suffix.allSatisfy(\.isNumber) else {
                throw error(path, index, raw, "'\(name)' is neither 'cpu' nor 'cpuN'")
            }
            let numbers = fields.dropFirst().map { UInt64($0) }
            guard numbers.count >= 4, numbers.allSatisfy({ $0 != nil }) else {
                throw error(path, index, raw, "expected at least 4 non-negative jiffy counters after '\(name)'")
            }
            let n = numbers.map { $0! } + Array(repeating: 0, count: max(0, 8 - numbers.count))
            lines.append(Line(name: String(name), times: CPUTimes(
                user: n[0], nice: n[1], system: n[2], idle: n[3], iowait: n[4], irq: n[5], softirq: n[6], steal: n[7])))
        }
        guard lines.contains(where: { $0.name == "cpu" }) else {
            throw MetricsError.corrupt(key: path, reason: "no aggregate 'cpu' line; is this /proc/stat?")
        }
        return lines
    }

    private static func error(_ path: String, _ index: Int, _ line: Substring, _ reason: String) -> MetricsError {
        MetricsError.corrupt(key: "\(path) line \(index + 1)", reason: "\(reason): '\(line.prefix(120))'")
    }
}

/// Parses the memory totals of `/proc/meminfo` (values in bytes).
enum MeminfoParser {
    struct Memory: Sendable, Equatable {
        var total: UInt64
        var available: UInt64
    }

    /// Reads `MemTotal` and `MemAvailable` (or MemFree + Buffers + Cached when the kernel lacks it).
    /// Throws `MetricsError.corrupt` naming `path` and the line when one of those lines does not
    /// read `Key: <number> kB`, or when MemTotal is missing or 0.
    static func parse(_ text: String, path: String) throws -> Memory {
        let wanted: Set<String> = ["MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached"]
        var kB: [String: UInt64] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard let colon = raw.firstIndex(of: ":") else { continue }
            let key = String(raw[..<colon])
            guard wanted.contains(key) else { continue }
            let fields = raw[raw.index(after: colon)...].split(separator: " ")
            guard let first = fields.first, let value = UInt64(first), fields.count <= 2,
                  fields.count == 1 || fields[1] == "kB" else {
                throw MetricsError.corrupt(key: "\(path) line \(index + 1)", reason: "expected '\(key): <number> kB', found '\(raw.prefix(120))'")
            }
            kB[key] = value
        }
        guard let total = kB["MemTotal"], total > 0 else {
            throw MetricsError.corrupt(key: path, reason: "no positive MemTotal line; is this /proc/meminfo?")
        }
        let available = kB["MemAvailable"] ?? ((kB["MemFree"] ?? 0) + (kB["Buffers"] ?? 0) + (kB["Cached"] ?? 0))
        return Memory(total: total * 1024, available: min(available, total) * 1024)
    }
}
