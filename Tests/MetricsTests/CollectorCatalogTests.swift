import Foundation
import Libvirt
import Testing
@testable import StratusMetrics

/// Every `ZStack/Host` and `ZStack/VM` metric of `ZWatchCatalog` comes out of the collectors,
/// with exactly the catalog's label names; nothing comes out that the catalog lacks.
@Suite struct CollectorCatalogTests {
    /// Host samples of the proc-1 → proc-2 step (through the collector, with a sysfs look-alike
    /// and one filesystem), the VM samples of domstats-1 → domstats-2, and the host counts.
    func emitted() async throws -> [Sample] {
        try await withTSDBTempDirectory { root in
            try HostProcCollectorTests.installProc("proc-1", at: root + "/proc")
            try HostProcCollectorTests.makeSys(at: root + "/sys", disks: ["vda": true], nics: ["eth0": true])
            let fs = HostProcCollectorTests.FakeStatfs(["/": FilesystemStats(blocks: 100, freeBlocks: 40, availableBlocks: 30, fragmentSize: 4_096)])
            let host = HostProcCollector(hostUuid: "h", procRoot: root + "/proc", sysRoot: root + "/sys", statfs: fs.function)
            _ = try await host.collect(stamp: 0, now: 0)
            try HostProcCollectorTests.installProc("proc-2", at: root + "/proc")
            var out = try await host.collect(stamp: 10_000, now: 4_177)

            var vms = VMStatsCalculator()
            _ = vms.samples(from: try domainStatsFixture("domstats-1.txt"), hostUuid: "h", stamp: 0, now: 0)
            let records = try domainStatsFixture("domstats-2.txt")
            out += vms.samples(from: records, hostUuid: "h", stamp: 10_000, now: 10_000)
            out += VMStatsCalculator.hostCountSamples(from: records, hostUuid: "h", stamp: 10_000)
            return out
        }
    }

    @Test(arguments: ["ZStack/Host", "ZStack/VM"])
    func collectorsEmitEveryCatalogMetricWithItsLabels(namespace: String) async throws {
        let catalog = ZWatchCatalog.metrics.filter { $0.namespace == namespace }
        #expect(catalog.count > 20)
        let samples = try await emitted().filter { ZWatchName.split($0.labels.name)?.namespace == namespace }
        let names = Set(samples.compactMap { ZWatchName.split($0.labels.name)?.metricName })
        for metric in catalog {
            #expect(names.contains(metric.name), "\(namespace) \(metric.name) is never emitted")
        }
        for s in samples {
            let name = try #require(ZWatchName.split(s.labels.name)?.metricName)
            let entry = ZWatchCatalog.metric(namespace: namespace, name: name)
            #expect(entry != nil, "\(namespace) \(name) is not in the catalog")
            #expect(s.labels.withoutName.keys.sorted() == entry?.labelNames, "\(namespace) \(name): \(s.labels)")
        }
    }
}

@Suite struct LibvirtVMCollectorTests {
    @Test func twoCollectsOfTheTestDriverGiveDiskAndNetworkRatesAndVMCounts() async throws {
        var specs = TestDriverNode.DomainSpec.demo(hostName: "rates-host", count: 3)
        specs.append(TestDriverNode.DomainSpec(name: "off", uuid: "99999999-8888-4777-8666-555555555556", running: false))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-vmr-\(UUID().uuidString).xml").path
        try TestDriverNode.xml(hostName: "rates-host", cpus: 8, memoryMiB: 16384, domains: specs)
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let collector = LibvirtVMCollector(connection: try LibvirtConnection(uri: "test://\(path)"), hostUuid: "h")
        let clock = SystemWallClock()

        func counts(_ samples: [Sample]) -> [String: Double] {
            valuesByMetric(samples.filter { ZWatchName.split($0.labels.name)?.namespace == "ZStack/Host" })
        }
        let first = try await collector.collect(stamp: 10_000, now: clock.now())
        #expect(counts(first) == ["VMCount": 4, "RunningVMCount": 3])
        #expect(!first.contains { $0.labels["DiskDeviceLetter"] != nil || $0.labels["NetworkDeviceLetter"] != nil })
        // The test driver derives its block and interface counters from the clock: let them move.
        try await Task.sleep(for: .milliseconds(200))
        let second = try await collector.collect(stamp: 20_000, now: clock.now())
        #expect(counts(second) == ["VMCount": 4, "RunningVMCount": 3])
        #expect(second.filter { ZWatchName.split($0.labels.name)?.namespace == "ZStack/Host" }.allSatisfy { $0.labels.withoutName == ["HostUuid": "h"] })

        for spec in specs where spec.running {
            let v = valuesByMetric(second.filter { $0.labels["VMUuid"] == VMStatsCalculator.zstackUuid(spec.uuid) })
            // Each generated domain has one disk, vda, and one NIC (the driver names its target).
            let readOps = try #require(v["DiskReadOps/vda"], "\(spec.name)")
            #expect(readOps > 0, "\(spec.name)")
            #expect(v["DiskWriteBytes/vda"] != nil)
            #expect(v["DiskAllReadOps"] == v["DiskReadOps/vda"])
            let nics = Set(v.keys.filter { $0.hasPrefix("NetworkInBytes/") })
            #expect(nics.count == 1, "\(spec.name): \(nics)")
            let nic = try #require(nics.first)
            #expect(v["NetworkAllInBytes"] == v[nic])
            #expect(v.keys.filter { $0.hasPrefix("Network") && !$0.hasPrefix("NetworkAll") }.count == 8)
            for (key, value) in v { #expect(value >= 0 && value.isFinite, "\(spec.name) \(key) = \(value)") }
        }
    }
}
