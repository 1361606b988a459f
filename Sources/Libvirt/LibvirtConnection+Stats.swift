import CLibvirt

// MARK: - Bulk domain stats

extension LibvirtConnection {
    /// The stats groups requested from `virConnectGetAllDomainStats`. Without the ENFORCE flag,
    /// drivers that lack a group (the test driver has only `state`) silently leave it out.
    static let requestedGroups: UInt32 =
        VIR_DOMAIN_STATS_STATE.rawValue | VIR_DOMAIN_STATS_CPU_TOTAL.rawValue | VIR_DOMAIN_STATS_BALLOON.rawValue
        | VIR_DOMAIN_STATS_VCPU.rawValue | VIR_DOMAIN_STATS_INTERFACE.rawValue | VIR_DOMAIN_STATS_BLOCK.rawValue

    /// Bulk stats (state, cpu-total, balloon, vcpu, block, interface groups) for all domains in one
    /// `virConnectGetAllDomainStats` call. Where a group is missing for an active domain (the test
    /// driver), the same keys are filled from per-domain calls: `cpu.time`, `vcpu.current`,
    /// `balloon.current`/`maximum` from `virDomainGetInfo`, `vcpu.N.state`/`time` from
    /// `virDomainGetVcpus`, the other `balloon.*` from `virDomainMemoryStats`, and `block.*` /
    /// `net.*` from `virDomainBlockStats` / `virDomainInterfaceStats` for the devices in the
    /// domain XML. A per-domain fallback call that fails leaves its keys out (best effort); a
    /// failing bulk call throws.
    public func domainStats() throws -> [DomainStatsRecord] {
        try withPointer("virConnectGetAllDomainStats(\(uri))") { conn in
            var list: UnsafeMutablePointer<virDomainStatsRecordPtr?>?
            let count = virConnectGetAllDomainStats(conn, Self.requestedGroups, &list, 0)
            guard count >= 0 else {
                throw LibvirtError.last("virConnectGetAllDomainStats(\(uri))", connection: conn)
            }
            defer { if let list { virDomainStatsRecordListFree(list) } }
            guard let list else { return [] }
            var records: [DomainStatsRecord] = []
            records.reserveCapacity(Int(count))
            for i in 0..<Int(count) {
                guard let raw = list[i]?.pointee, let dom = raw.dom else { continue }
                // The list owns `dom`; take our own reference for the handle's lifetime.
                guard virDomainRef(dom) == 0 else {
                    throw LibvirtError.last("virDomainRef in virConnectGetAllDomainStats(\(uri))", connection: conn)
                }
                let handle = DomainHandle(dom)
                var record = DomainStatsRecord(uuid: try handle.uuid(), name: handle.name)
                let id = virDomainGetID(dom)
                record.domainID = id == UInt32.max ? nil : id
                TypedParameters.read(raw.params, count: raw.nparams, numbers: &record.numbers, strings: &record.strings)
                if record.state?.isActive == true {
                    DomainStatsFallback.fill(&record, from: handle)
                }
                records.append(record)
            }
            return records
        }
    }
}
