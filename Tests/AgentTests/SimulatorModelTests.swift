import Agent
import Foundation
import StratusMetrics
import Testing

/// The simulator's value model: deterministic per seed, the whole ZWatch catalog, sane ranges,
/// hot VMs, noisy neighbours, consistent rates, and stopped VMs leaving the batch.
@Suite struct SimulatorModelTests {
    /// One parsed line of a batch.
    struct Line {
        var name: String
        var labels: [String: String]
        var value: Double
        var timestamp: Int64

        var namespace: String { ZWatchName.split(name)?.namespace ?? "" }
        var metric: String { ZWatchName.split(name)?.metricName ?? "" }
    }

    static func parse(_ text: [UInt8]) -> [Line] {
        String(decoding: text, as: UTF8.self).split(separator: "\n").map { raw in
            let parts = raw.split(separator: " ")
            let series = parts[0]
            let brace = series.firstIndex(of: "{") ?? series.endIndex
            var labels: [String: String] = [:]
            if brace < series.endIndex {
                for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    labels[String(kv[0])] = String(kv[1].dropFirst().dropLast())
                }
            }
            return Line(name: String(series[..<brace]), labels: labels, value: Double(parts[1])!, timestamp: Int64(parts[2])!)
        }
    }

    static let interval: Int64 = 10_000
    /// 2026-01-01T00:00:00Z.
    static let day: Int64 = 1_767_225_600_000

    static func hostUuids(_ n: Int) -> [String] { (0..<n).map { String(format: "%032x", $0 + 1) } }

    /// Every host's batch for `stamps`, in host order, from a fresh model.
    static func batches(seed: UInt64, hosts: Int, vms: Int, stamps: [Int64]) -> [[UInt8]] {
        let fleet = SimFleet(seed: seed, hosts: hosts, vms: vms)
        let uuids = hostUuids(hosts)
        let tables = fleet.hosts.map { SimHostSeries(host: $0, fleet: fleet, hostUuid: uuids[$0.index]) }
        var model = SimValueModel(fleet: fleet, interval: interval)
        var out: [[UInt8]] = []
        for t in stamps {
            for h in 0..<hosts {
                var e = AgentBatchEncoder()
                _ = model.round(host: h, stamp: t, table: tables[h], into: &e)
                out.append(e.text)
            }
        }
        return out
    }

    @Test func sameSeedSameValuesOtherSeedOthers() {
        let stamps = (0..<30).map { Self.day + Int64($0) * 3_600_000 / 2 }
        let a = Self.batches(seed: 7, hosts: 4, vms: 30, stamps: stamps)
        let b = Self.batches(seed: 7, hosts: 4, vms: 30, stamps: stamps)
        let c = Self.batches(seed: 8, hosts: 4, vms: 30, stamps: stamps)
        #expect(a == b)
        #expect(a != c)
        #expect(a.allSatisfy { !$0.isEmpty })
    }

    @Test func everyHostAndVMMetricOfTheCatalogIsInAHostsBatch() {
        let fleet = SimFleet(seed: 3, hosts: 2, vms: 10)
        let table = SimHostSeries(host: fleet.hosts[0], fleet: fleet, hostUuid: "h0")
        var model = SimValueModel(fleet: fleet, interval: Self.interval)
        for v in fleet.hosts[0].vmIndices { model.setRunning(v, true) }
        var e = AgentBatchEncoder()
        _ = model.round(host: 0, stamp: Self.day, table: table, into: &e)
        let lines = Self.parse(e.text)
        for ns in ["ZStack/VM", "ZStack/Host"] {
            let expected = Dictionary(uniqueKeysWithValues: ZWatchCatalog.metrics.filter { $0.namespace == ns }.map { ($0.name, $0.labelNames) })
            var seen: [String: Set<[String]>] = [:]
            for l in lines where l.namespace == ns { seen[l.metric, default: []].insert(l.labels.keys.sorted()) }
            #expect(Set(seen.keys) == Set(expected.keys), "\(ns): missing \(Set(expected.keys).subtracting(seen.keys)), extra \(Set(seen.keys).subtracting(expected.keys))")
            for (metric, labelSets) in seen {
                #expect(labelSets == [expected[metric] ?? []], "\(ns) \(metric) labels \(labelSets)")
            }
        }
        // Every VM on the host, with its vCPUs and disks, and the host's devices.
        for v in fleet.hosts[0].vmIndices {
            let vm = fleet.vms[v]
            let mine = lines.filter { $0.labels["VMUuid"] == vm.uuid }
            #expect(Set(mine.filter { $0.metric == "CPUUsedUtilization" }.compactMap { $0.labels["CPUNum"] }) == Set((0..<vm.cpuNum).map(String.init)))
            #expect(Set(mine.filter { $0.metric == "DiskReadOps" }.compactMap { $0.labels["DiskDeviceLetter"] }) == Set(["vda", "vdb"].prefix(vm.disks)))
            #expect(mine.allSatisfy { $0.labels["HostUuid"] == "h0" && $0.timestamp == Self.day })
        }
        let host = lines.filter { $0.namespace == "ZStack/Host" }
        #expect(Set(host.filter { $0.metric == "CPUUsedUtilization" }.compactMap { $0.labels["CPUNum"] }).count == 8)
        #expect(Set(host.compactMap { $0.labels["MountPoint"] }) == ["/", "/var/lib/libvirt"])
        #expect(Set(host.compactMap { $0.labels["NetworkDeviceLetter"] }) == ["eth0", "eth1"])
        #expect(Set(host.compactMap { $0.labels["DiskDeviceLetter"] }) == ["sda", "sdb"])
        #expect(host.first { $0.metric == "VMCount" }?.value == Double(fleet.hosts[0].vmIndices.count))
    }

    @Test func percentagesStayWithin0And100AndRatesAreConsistent() {
        // A day in 40-minute steps: every part of the diurnal curve, bursts, starts and stops.
        let stamps = (0..<36).map { Self.day + Int64($0) * 2_400_000 }
        func key(_ metric: String, _ labels: [String: String]) -> String {
            metric + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
        for batch in Self.batches(seed: 11, hosts: 4, vms: 40, stamps: stamps) {
            let lines = Self.parse(batch)
            var byKey: [String: Double] = [:]
            var sums: [String: Double] = [:]
            for l in lines {
                #expect(l.value >= 0 && l.value.isFinite, "\(l.name) \(l.labels) = \(l.value)")
                if l.metric.contains("Utilization") || l.metric.contains("Percent") {
                    #expect(l.value <= 100, "\(l.name) \(l.labels) = \(l.value)")
                }
                byKey[key(l.metric, l.labels)] = l.value
                if l.metric.hasPrefix("Disk"), !l.metric.hasPrefix("DiskAll"), l.labels["DiskDeviceLetter"] != nil {
                    var owner = l.labels
                    owner["DiskDeviceLetter"] = nil
                    sums[key(l.metric.replacingOccurrences(of: "Disk", with: "DiskAll"), owner), default: 0] += l.value
                }
            }
            for l in lines where l.metric == "NetworkInPackets" || l.metric == "NetworkOutPackets" {
                let bytes = byKey[key(l.metric.replacingOccurrences(of: "Packets", with: "Bytes"), l.labels)]
                #expect(bytes != nil && bytes! >= l.value * 64, "\(l.metric) \(l.labels): \(l.value) packets, \(bytes ?? -1) bytes")
            }
            for l in lines where l.metric.hasPrefix("DiskAll") {
                #expect(abs((sums[key(l.metric, l.labels)] ?? -1) - l.value) < 1e-6, "\(l.metric) \(l.labels)")
            }
            for l in lines where l.metric == "MemoryUsedInPercent" {
                #expect(abs((byKey[key("MemoryFreeInPercent", l.labels)] ?? -100) + l.value - 100) < 1e-9)
            }
        }
    }

    @Test func hotVMsAreHotAllDay() {
        let fleet = SimFleet(seed: 5, hosts: 3, vms: 300)
        let hot = Set(fleet.vms.filter(\.hot).map(\.uuid))
        #expect(!hot.isEmpty && hot.count < 10)
        let stamps = (0..<48).map { Self.day + Int64($0) * 1_800_000 }
        var seen = 0
        for batch in Self.batches(seed: 5, hosts: 3, vms: 300, stamps: stamps) {
            for l in Self.parse(batch) where l.metric == "CPUUsedUtilization" && hot.contains(l.labels["VMUuid"] ?? "") {
                #expect(l.value >= 90 && l.value <= 100)
                seen += 1
            }
        }
        #expect(seen > 0)
    }

    @Test func aBusyVMRaisesItsHostAndItsSiblings() throws {
        let fleet = SimFleet(seed: 9, hosts: 1, vms: 12)
        let hotVM = try #require(fleet.vms.first { $0.hot })
        let table = SimHostSeries(host: fleet.hosts[0], fleet: fleet, hostUuid: "h")
        func lines(hotRunning: Bool) -> [Line] {
            var model = SimValueModel(fleet: fleet, interval: Self.interval)
            for v in fleet.vms.indices { model.setRunning(v, true) }
            model.setRunning(hotVM.index, hotRunning)
            var e = AgentBatchEncoder()
            _ = model.round(host: 0, stamp: Self.day + 3_600_000 * 4, table: table, into: &e)
            return Self.parse(e.text)
        }
        let with = lines(hotRunning: true), without = lines(hotRunning: false)
        func sum(_ ls: [Line], _ ns: String, _ metric: String) -> Double {
            ls.filter { $0.namespace == ns && $0.metric == metric && $0.labels["VMUuid"] != hotVM.uuid }.reduce(0) { $0 + $1.value }
        }
        #expect(sum(with, "ZStack/Host", "CPUAllUsedUtilization") > sum(without, "ZStack/Host", "CPUAllUsedUtilization"))
        #expect(sum(with, "ZStack/Host", "CPUWaitUtilization") > sum(without, "ZStack/Host", "CPUWaitUtilization"))
        #expect(sum(with, "ZStack/VM", "CPUAverageUsedUtilization") > sum(without, "ZStack/VM", "CPUAverageUsedUtilization"))
        #expect(with.contains { $0.labels["VMUuid"] == hotVM.uuid })
        #expect(!without.contains { $0.labels["VMUuid"] == hotVM.uuid })
    }

    @Test func stoppingAndStartingAVMChangesTheBatch() throws {
        let fleet = SimFleet(seed: 2, hosts: 2, vms: 8)
        let table = SimHostSeries(host: fleet.hosts[1], fleet: fleet, hostUuid: "h1")
        var model = SimValueModel(fleet: fleet, interval: Self.interval)
        model.hoursBetweenStops = 1e9  // no random stops in this test
        let v = try #require(fleet.hosts[1].vmIndices.first { !fleet.vms[$0].hot })
        model.setRunning(v, true)
        func round(_ t: Int64) -> [Line] {
            var e = AgentBatchEncoder()
            _ = model.round(host: 1, stamp: t, table: table, into: &e)
            return Self.parse(e.text)
        }
        func running(_ ls: [Line]) -> Double? { ls.first { $0.metric == "RunningVMCount" }?.value }
        let before = round(Self.day)
        #expect(before.contains { $0.labels["VMUuid"] == fleet.vms[v].uuid })
        model.setRunning(v, false)
        #expect(model.vmReport(host: 1, time: 0).vms.first { $0.uuid == fleet.vms[v].uuid }?.state == "Stopped")
        let stopped = round(Self.day + Self.interval)
        #expect(!stopped.contains { $0.labels["VMUuid"] == fleet.vms[v].uuid })
        #expect(running(stopped) == running(before).map { $0 - 1 })
        model.setRunning(v, true)
        let again = round(Self.day + 2 * Self.interval)
        #expect(again.contains { $0.labels["VMUuid"] == fleet.vms[v].uuid })
        #expect(running(again) == running(before))
    }

    @Test func vmsStartAndStopOnTheirOwnAndSayWhich() {
        let fleet = SimFleet(seed: 4, hosts: 10, vms: 400)
        let tables = fleet.hosts.map { SimHostSeries(host: $0, fleet: fleet, hostUuid: "h\($0.index)") }
        var model = SimValueModel(fleet: fleet, interval: Self.interval)
        model.hoursBetweenStops = 0.5  // often, so a short test sees it
        var changes: [SimStateChange] = []
        for r in 0..<60 {
            for h in 0..<10 {
                var e = AgentBatchEncoder()
                let c = model.round(host: h, stamp: Self.day + Int64(r) * Self.interval, table: tables[h], into: &e)
                changes += c
                for change in c { #expect(model.running[change.vmIndex] == change.running) }
                let lines = Self.parse(e.text)
                let present = Set(lines.compactMap { $0.labels["VMUuid"] })
                let expected = Set(fleet.hosts[h].vmIndices.filter { model.running[$0] }.map { fleet.vms[$0].uuid })
                #expect(present == expected)
            }
        }
        #expect(changes.contains { !$0.running })
        #expect(changes.contains { $0.running })
        #expect(changes.allSatisfy { !fleet.vms[$0.vmIndex].hot })
    }

    @Test func theDiurnalCurvePeaksInTheLocalAfternoon() {
        // 15:00 UTC at offset 0, 07:00 UTC at +8.
        #expect(SimValueModel.diurnal(Self.day + 15 * 3_600_000, timezoneOffsetHours: 0) == 1)
        #expect(SimValueModel.diurnal(Self.day + 7 * 3_600_000, timezoneOffsetHours: 8) == 1)
        #expect(SimValueModel.diurnal(Self.day + 3 * 3_600_000, timezoneOffsetHours: 0) < 0.01)
    }

    @Test func fleetSpreadsVMsAndSizesHosts() {
        let fleet = SimFleet(seed: 1, hosts: 7, vms: 100)
        #expect(fleet.hosts.map(\.vmIndices.count).max()! - fleet.hosts.map(\.vmIndices.count).min()! <= 1)
        #expect(fleet.vms.allSatisfy { (1...4).contains($0.cpuNum) && (1...2).contains($0.disks) && $0.uuid.count == 32 })
        #expect(Set(fleet.vms.map(\.uuid)).count == 100)
        for h in fleet.hosts {
            #expect(Double(h.memorySize) >= Double(h.vmIndices.reduce(Int64(0)) { $0 + fleet.vms[$1].memorySize }))
        }
    }
}
