import CLibvirt

/// Fills the bulk-stats groups a driver left out (the test driver answers `state` only) from
/// per-domain calls, under the same keys `virConnectGetAllDomainStats` uses. Best effort: a call
/// that fails leaves its keys out.
enum DomainStatsFallback {
    static func fill(_ record: inout DomainStatsRecord, from domain: DomainHandle) {
        let n = record.numbers
        let needsInfo = n["cpu.time"] == nil || n["vcpu.current"] == nil || n["balloon.current"] == nil
        if needsInfo, let info = try? domain.info() {
            if n["cpu.time"] == nil { record.numbers["cpu.time"] = Double(info.cpuTimeNs) }
            if n["vcpu.current"] == nil {
                record.numbers["vcpu.current"] = Double(info.vcpus)
                fillVcpus(&record, from: domain, count: info.vcpus)
            }
            if n["balloon.current"] == nil {
                record.numbers["balloon.current"] = Double(info.memoryKiB)
                record.numbers["balloon.maximum"] = Double(info.maxMemoryKiB)
                fillMemoryStats(&record, from: domain)
            }
        }
        if n["block.count"] == nil || n["net.count"] == nil, let xml = try? domain.xml() {
            if n["block.count"] == nil { fillBlock(&record, from: domain, devices: DomainDevices.diskTargets(in: xml)) }
            if n["net.count"] == nil { fillNet(&record, from: domain, devices: DomainDevices.interfaceTargets(in: xml)) }
        }
    }

    /// `vcpu.N.state` and `vcpu.N.time` (ns) from `virDomainGetVcpus`.
    static func fillVcpus(_ record: inout DomainStatsRecord, from domain: DomainHandle, count: Int) {
        guard count > 0 else { return }
        var infos = [virVcpuInfo](repeating: virVcpuInfo(), count: count)
        let got = virDomainGetVcpus(domain.pointer, &infos, Int32(count), nil, 0)
        guard got > 0 else { return }
        for info in infos.prefix(Int(got)) {
            record.numbers["vcpu.\(info.number).state"] = Double(info.state)
            record.numbers["vcpu.\(info.number).time"] = Double(info.cpuTime)
        }
    }

    /// Names of `virDomainMemoryStats` tags as the bulk `balloon` group spells them.
    static let memoryStatNames: [Int32: String] = [
        Int32(VIR_DOMAIN_MEMORY_STAT_SWAP_IN.rawValue): "swap_in",
        Int32(VIR_DOMAIN_MEMORY_STAT_SWAP_OUT.rawValue): "swap_out",
        Int32(VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT.rawValue): "major_fault",
        Int32(VIR_DOMAIN_MEMORY_STAT_MINOR_FAULT.rawValue): "minor_fault",
        Int32(VIR_DOMAIN_MEMORY_STAT_UNUSED.rawValue): "unused",
        Int32(VIR_DOMAIN_MEMORY_STAT_AVAILABLE.rawValue): "available",
        Int32(VIR_DOMAIN_MEMORY_STAT_RSS.rawValue): "rss",
        Int32(VIR_DOMAIN_MEMORY_STAT_USABLE.rawValue): "usable",
        Int32(VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE.rawValue): "last-update",
        Int32(VIR_DOMAIN_MEMORY_STAT_DISK_CACHES.rawValue): "disk_caches",
        Int32(VIR_DOMAIN_MEMORY_STAT_HUGETLB_PGALLOC.rawValue): "hugetlb_pgalloc",
        Int32(VIR_DOMAIN_MEMORY_STAT_HUGETLB_PGFAIL.rawValue): "hugetlb_pgfail",
    ]

    /// `balloon.<name>` from `virDomainMemoryStats` (needs a memballoon device; KiB except counts).
    static func fillMemoryStats(_ record: inout DomainStatsRecord, from domain: DomainHandle) {
        let capacity = Int(VIR_DOMAIN_MEMORY_STAT_NR.rawValue)
        var stats = [virDomainMemoryStatStruct](repeating: virDomainMemoryStatStruct(), count: capacity)
        let got = virDomainMemoryStats(domain.pointer, &stats, UInt32(capacity), 0)
        guard got > 0 else { return }
        for stat in stats.prefix(Int(got)) {
            if let name = memoryStatNames[stat.tag] { record.numbers["balloon.\(name)"] = Double(stat.val) }
        }
    }

    /// `block.count`, `block.N.name`, `block.N.{rd,wr}.{reqs,bytes}`, `block.N.errs` (negative = unsupported, left out).
    static func fillBlock(_ record: inout DomainStatsRecord, from domain: DomainHandle, devices: [String]) {
        var index = 0
        for device in devices {
            var s = virDomainBlockStatsStruct()
            guard virDomainBlockStats(domain.pointer, device, &s, MemoryLayout<virDomainBlockStatsStruct>.size) == 0 else { continue }
            record.strings["block.\(index).name"] = device
            put(&record, "block.\(index).", [("rd.reqs", s.rd_req), ("rd.bytes", s.rd_bytes), ("wr.reqs", s.wr_req),
                                              ("wr.bytes", s.wr_bytes), ("errs", s.errs)])
            index += 1
        }
        record.numbers["block.count"] = Double(index)
    }

    /// `net.count`, `net.N.name`, `net.N.{rx,tx}.{bytes,pkts,errs,drop}` (negative = unsupported, left out).
    static func fillNet(_ record: inout DomainStatsRecord, from domain: DomainHandle, devices: [String]) {
        var index = 0
        for device in devices {
            var s = virDomainInterfaceStatsStruct()
            guard virDomainInterfaceStats(domain.pointer, device, &s, MemoryLayout<virDomainInterfaceStatsStruct>.size) == 0 else { continue }
            record.strings["net.\(index).name"] = device
            put(&record, "net.\(index).", [("rx.bytes", s.rx_bytes), ("rx.pkts", s.rx_packets), ("rx.errs", s.rx_errs),
                                            ("rx.drop", s.rx_drop), ("tx.bytes", s.tx_bytes), ("tx.pkts", s.tx_packets),
                                            ("tx.errs", s.tx_errs), ("tx.drop", s.tx_drop)])
            index += 1
        }
        record.numbers["net.count"] = Double(index)
    }

    private static func put(_ record: inout DomainStatsRecord, _ prefix: String, _ values: [(String, Int64)]) {
        for (key, value) in values where value >= 0 { record.numbers[prefix + key] = Double(value) }
    }
}
