import Foundation
import Libvirt
import Testing
@testable import StratusMetrics

/// Path of a file or directory under Tests/MetricsTests/Fixtures.
func fixturePath(_ relative: String) -> String {
    Bundle.module.resourceURL!.appendingPathComponent("Fixtures/\(relative)").path
}

/// A recorded `/proc` file of one of the Fixtures/proc-* directories, e.g. `procFixture("proc-1", "net/dev")`.
func procFixture(_ dir: String, _ file: String) throws -> String {
    try String(contentsOfFile: fixturePath("\(dir)/\(file)"), encoding: .utf8)
}

/// A `HostProcRead` of every file of a Fixtures/proc-* directory.
func hostRead(_ dir: String, physicalDisks: Set<String> = ["vda", "vdb"], physicalNICs: Set<String> = ["eth0", "eth1"],
              filesystems: [FilesystemUsage] = []) throws -> HostProcRead {
    HostProcRead(procStat: try procFixture(dir, "stat"), meminfo: try procFixture(dir, "meminfo"),
                 diskstats: try procFixture(dir, "diskstats"), netDev: try procFixture(dir, "net/dev"),
                 loadavg: try procFixture(dir, "loadavg"), physicalDisks: physicalDisks, physicalNICs: physicalNICs,
                 filesystems: filesystems)
}

/// The domain-stats records of a Fixtures/domstats-*.txt file. Format: `Domain: '<name>' <uuid>`
/// starts a record (as `virsh domstats` prints it, plus the uuid); each following `key=value`
/// line is a stat under the key `virConnectGetAllDomainStats` uses, a number when the value
/// parses as one, else a string; `#` lines are comments.
func domainStatsFixture(_ name: String) throws -> [DomainStatsRecord] {
    let text = try String(contentsOfFile: fixturePath(name), encoding: .utf8)
    var records: [DomainStatsRecord] = []
    for (index, raw) in text.split(separator: "\n").enumerated() {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.isEmpty || line.hasPrefix("#") { continue }
        if line.hasPrefix("Domain: '") {
            let rest = line.dropFirst("Domain: '".count)
            let quote = try #require(rest.firstIndex(of: "'"), "\(name):\(index + 1): no closing quote")
            let uuid = rest[rest.index(after: quote)...].trimmingCharacters(in: .whitespaces)
            records.append(DomainStatsRecord(uuid: uuid, name: String(rest[..<quote])))
            continue
        }
        let eq = try #require(line.firstIndex(of: "="), "\(name):\(index + 1): expected key=value")
        #expect(!records.isEmpty, "\(name):\(index + 1): a stat before the first Domain line")
        let key = String(line[..<eq]), value = String(line[line.index(after: eq)...])
        if let number = Double(value) { records[records.count - 1].numbers[key] = number } else { records[records.count - 1].strings[key] = value }
    }
    return records
}

/// Values by `Metric` or `Metric/<device>` (the CPUNum, DiskDeviceLetter, NetworkDeviceLetter or
/// MountPoint label), for one resource's samples. Records a test issue on a duplicate.
func valuesByMetric(_ samples: [Sample]) -> [String: Double] {
    var out: [String: Double] = [:]
    for s in samples {
        let metric = ZWatchName.split(s.labels.name)?.metricName ?? s.labels.name
        let device = ["CPUNum", "DiskDeviceLetter", "NetworkDeviceLetter", "MountPoint"].compactMap { s.labels[$0] }.first
        let key = metric + (device.map { "/" + $0 } ?? "")
        #expect(out[key] == nil, "duplicate sample \(key)")
        out[key] = s.value
    }
    return out
}

/// True when `a` equals `b` up to rounding (relative 1e-12): rates divide by seconds in a
/// different order than the hand computation in a test.
func approx(_ a: Double?, _ b: Double) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= 1e-12 * max(1, abs(b))
}
