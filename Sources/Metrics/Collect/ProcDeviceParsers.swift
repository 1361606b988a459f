/// Parses `/proc/diskstats` into per-device counters (`reads`, `readBytes`, `writes`, `writeBytes`).
enum DiskstatsParser {
    /// Every device line in file order, counters keyed by the host disk `DeviceRates.Field`
    /// counters: reads completed, sectors read × 512, writes completed, sectors written × 512
    /// (diskstats counts 512-byte sectors whatever the device's sector size). Throws
    /// `MetricsError.corrupt` naming `path` and the 1-based line when a line has fewer than 10
    /// fields or a non-number where a counter belongs.
    static func parse(_ text: String, path: String) throws -> [DeviceRates.Device] {
        var out: [DeviceRates.Device] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let f = raw.split(separator: " ", omittingEmptySubsequences: true)
            if f.isEmpty { continue }
            guard f.count >= 10 else {
                throw procLineError(path, index, raw, "expected 'major minor name' and at least 7 counters")
            }
            guard let reads = UInt64(f[3]), let sectorsRead = UInt64(f[5]),
                  let writes = UInt64(f[7]), let sectorsWritten = UInt64(f[9]) else {
                throw procLineError(path, index, raw, "reads, sectors read, writes and sectors written must be non-negative integers")
            }
            out.append(DeviceRates.Device(name: String(f[2]), counters: [
                "reads": Double(reads), "readBytes": Double(sectorsRead) * 512,
                "writes": Double(writes), "writeBytes": Double(sectorsWritten) * 512,
            ]))
        }
        return out
    }
}

/// Parses `/proc/net/dev` into per-interface counters.
enum NetDevParser {
    /// The receive/transmit column names after `<iface>:`, in the kernel's order.
    static let columns = [
        "rx.bytes", "rx.packets", "rx.errs", "rx.drop", "rx.fifo", "rx.frame", "rx.compressed", "rx.multicast",
        "tx.bytes", "tx.packets", "tx.errs", "tx.drop", "tx.fifo", "tx.colls", "tx.carrier", "tx.compressed",
    ]

    /// Every interface line (those with a `:`; the two header lines have `|` instead) in file
    /// order. Throws `MetricsError.corrupt` naming `path` and the 1-based line when an interface
    /// line lacks the 16 counters or one is not a non-negative integer.
    static func parse(_ text: String, path: String) throws -> [DeviceRates.Device] {
        var out: [DeviceRates.Device] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !raw.contains("|"), let colon = raw.firstIndex(of: ":") else { continue }
            let name = raw[..<colon].trimmingSpaces()
            let numbers = raw[raw.index(after: colon)...].split(separator: " ", omittingEmptySubsequences: true).map { UInt64($0) }
            guard !name.isEmpty, numbers.count >= columns.count, numbers.allSatisfy({ $0 != nil }) else {
                throw procLineError(path, index, raw, "expected '<interface>: ' and \(columns.count) non-negative counters")
            }
            var counters: [String: Double] = [:]
            for (column, value) in zip(columns, numbers) { counters[column] = Double(value!) }
            out.append(DeviceRates.Device(name: String(name), counters: counters))
        }
        return out
    }
}

/// Parses `/proc/loadavg`.
enum LoadavgParser {
    /// The 1, 5 and 15 minute load averages. Throws `MetricsError.corrupt` naming `path` when the
    /// file does not start with three numbers.
    static func parse(_ text: String, path: String) throws -> (one: Double, five: Double, fifteen: Double) {
        let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(3).map { Double($0) }
        guard f.count == 3, let one = f[0], let five = f[1], let fifteen = f[2] else {
            throw MetricsError.corrupt(key: path, reason: "expected three load averages, found '\(text.prefix(80))'")
        }
        return (one, five, fifteen)
    }
}

/// A parse error naming `path`, the 1-based line and the line's text.
func procLineError(_ path: String, _ index: Int, _ line: Substring, _ reason: String) -> MetricsError {
    MetricsError.corrupt(key: "\(path) line \(index + 1)", reason: "\(reason): '\(line.prefix(120))'")
}

fileprivate extension Substring {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[start...end]
    }
}
