import Control
import Foundation
import Hummingbird
import StratusMetrics

/// The server-rendered dashboard: overview, host page, VM page.
struct PageRoutes {
    let inventory: any InventoryStore
    let metrics: MetricReader
    let pages: PageRenderer
    /// Seconds between automatic page refreshes.
    let refresh = 15

    func register(on router: Router<StratusRequestContext>) {
        router.get("/") { request, context in try await overview(request, context) }
        router.get("/hosts/{uuid}") { request, context in try await hostPage(request, context) }
        router.get("/vms/{uuid}") { request, context in try await vmPage(request, context) }
    }

    // MARK: Overview

    func overview(_ request: Request, _ context: StratusRequestContext) async throws -> HTMLPage {
        let hosts = try await inventory.hosts(InventoryQuery()).inventories
        var all = InventoryQuery()
        all.limit = 10_000
        let vms = try await inventory.vms(all).inventories
        async let hostCPU = metrics.latest("ZStack/Host", "CPUAllUsedUtilization", by: "HostUuid")
        async let hostMem = metrics.latest("ZStack/Host", "MemoryUsedInPercent", by: "HostUuid")
        async let vmCPU = metrics.latest("ZStack/VM", "CPUAllUsedUtilization", by: "VMUuid")
        async let vmMem = metrics.latest("ZStack/VM", "MemoryUsedInPercent", by: "VMUuid")
        let (hc, hm, vc, vmm) = try await (hostCPU, hostMem, vmCPU, vmMem)
        let hostNames = Dictionary(uniqueKeysWithValues: hosts.map { ($0.uuid, $0.name) })
        let vmCounts = Dictionary(vms.compactMap { $0.hostUuid.map { ($0, 1) } }, uniquingKeysWith: +)
        let hostRows: [[String: Any]] = hosts.map { h in
            ["uuid": h.uuid, "name": h.name, "status": h.status, "hypervisor": Self.hypervisorText(h),
             "cpuNum": h.cpuNum, "memory": SVGChart.bytes(Double(h.totalMemoryCapacity)),
             "vmCount": vmCounts[h.uuid] ?? 0,
             "cpu": Self.percent(hc[h.uuid]), "mem": Self.percent(hm[h.uuid])]
        }
        let vmRows: [[String: Any]] = vms.map { v in
            ["uuid": v.uuid, "name": v.name, "state": v.state.rawValue, "hostName": v.hostUuid.flatMap { hostNames[$0] } ?? "—",
             "cpuNum": v.cpuNum, "memory": SVGChart.bytes(Double(v.memorySize)),
             "cpu": Self.percent(vc[v.uuid]), "mem": Self.percent(vmm[v.uuid])]
        }
        return pages.page("dashboard", title: "Overview", [
            "account": context.account?.name ?? "", "refresh": refresh,
            "hosts": hostRows, "vms": vmRows, "hostCount": hosts.count, "vmCount": vms.count,
            "runningCount": vms.filter { $0.state == .running }.count,
        ])
    }

    // MARK: Host page

    func hostPage(_ request: Request, _ context: StratusRequestContext) async throws -> HTMLPage {
        let uuid = try context.parameters.require("uuid")
        guard let host = try? await inventory.host(uuid: uuid) else { return notFound("host", uuid, context) }
        var q = InventoryQuery()
        q.conditions = [.init(field: "hostUuid", op: .equal, value: uuid)]
        let vms = try await inventory.vms(q).inventories
        let (range, from, to, step) = window(request)
        let cpu = try await metrics.series("ZStack/Host", "CPUAllUsedUtilization", label: "HostUuid", value: uuid, from: from, to: to, step: step)
        let mem = try await metrics.series("ZStack/Host", "MemoryUsedInPercent", label: "HostUuid", value: uuid, from: from, to: to, step: step)
        let vmCPU = try await metrics.series("ZStack/VM", "CPUAllUsedUtilization", label: "HostUuid", value: uuid, from: from, to: to, step: step)
        let vmNames = Dictionary(uniqueKeysWithValues: vms.map { ($0.uuid, $0.name) })
        // Busiest VMs first (by their latest value), at most 8 lines.
        let vmSeries = vmCPU.sorted { ($0.points.last?.value ?? 0) > ($1.points.last?.value ?? 0) }.prefix(8).map {
            SVGChart.Series(name: vmNames[$0.labels["VMUuid"] ?? ""] ?? $0.labels["VMUuid"] ?? "?", points: $0.points)
        }
        let hostSourceNote = host.hypervisorURI == nil
            ? "No samples in this range yet: they arrive every collection interval."
            : "No host samples: hosts reached only through libvirt have none yet."
        return pages.page("host", title: "Host \(host.name)", [
            "account": context.account?.name ?? "", "refresh": refresh,
            "host": ["uuid": host.uuid, "name": host.name, "status": host.status, "cpuNum": host.cpuNum],
            "hypervisor": Self.hypervisorText(host), "memory": SVGChart.bytes(Double(host.totalMemoryCapacity)),
            "ranges": rangeLinks(range),
            "cpuChart": SVGChart(title: "CPU used (all cores)", unit: .percent, from: from, to: to, step: step,
                                 series: cpu.map { .init(name: "CPU", points: $0.points) }, emptyText: hostSourceNote).render(),
            "memChart": SVGChart(title: "Memory used", unit: .percent, from: from, to: to, step: step,
                                 series: mem.map { .init(name: "memory", points: $0.points) }, emptyText: hostSourceNote).render(),
            "vmChart": vms.isEmpty ? "" : SVGChart(title: "CPU used by each VM on this host (% of its vCPUs)", unit: .percent,
                                                  from: from, to: to, step: step, series: Array(vmSeries)).render(),
            "vms": vms.map { ["uuid": $0.uuid, "name": $0.name, "state": $0.state.rawValue, "cpuNum": $0.cpuNum,
                              "memory": SVGChart.bytes(Double($0.memorySize))] as [String: Any] },
        ])
    }

    // MARK: VM page

    func vmPage(_ request: Request, _ context: StratusRequestContext) async throws -> HTMLPage {
        let uuid = try context.parameters.require("uuid")
        guard let vm = try? await inventory.vm(uuid: uuid) else { return notFound("VM", uuid, context) }
        let host = try? await vm.hostUuid.asyncMap { try await inventory.host(uuid: $0) }
        let (range, from, to, step) = window(request)
        let all = try await metrics.series("ZStack/VM", "CPUAllUsedUtilization", label: "VMUuid", value: uuid, from: from, to: to, step: step)
        let perCPU = try await metrics.series("ZStack/VM", "CPUUsedUtilization", label: "VMUuid", value: uuid, from: from, to: to, step: step)
        let mem = try await metrics.series("ZStack/VM", "MemoryUsedInPercent", label: "VMUuid", value: uuid, from: from, to: to, step: step)
        let cpuSeries = all.map { SVGChart.Series(name: "all vCPUs", points: $0.points) }
            + perCPU.sorted { Int($0.labels["CPUNum"] ?? "") ?? 0 < Int($1.labels["CPUNum"] ?? "") ?? 0 }
            .prefix(7).map { SVGChart.Series(name: "vCPU \($0.labels["CPUNum"] ?? "?")", points: $0.points) }
        return pages.page("vm", title: "VM \(vm.name)", [
            "account": context.account?.name ?? "", "refresh": refresh,
            "vm": ["uuid": vm.uuid, "name": vm.name, "state": vm.state.rawValue, "cpuNum": vm.cpuNum],
            "hostUuid": host?.uuid ?? "", "hostName": host?.name ?? "",
            "memory": SVGChart.bytes(Double(vm.memorySize)), "ranges": rangeLinks(range),
            "cpuChart": SVGChart(title: "CPU used", unit: .percent, from: from, to: to, step: step, series: cpuSeries).render(),
            "memChart": SVGChart(title: "Memory used", unit: .percent, from: from, to: to, step: step,
                                 series: mem.map { .init(name: "memory", points: $0.points) }).render(),
        ])
    }

    // MARK: Helpers

    func window(_ request: Request) -> (ChartRange, Int64, Int64, Int64) {
        let range = request.uri.queryParameters["range"].flatMap { ChartRange(rawValue: String($0)) } ?? .h1
        let to = metrics.clock.now()
        return (range, to - range.milliseconds, to, range.step(interval: metrics.interval))
    }

    func rangeLinks(_ current: ChartRange) -> [[String: Any]] {
        ChartRange.allCases.map { ["name": $0.rawValue, "current": $0 == current] }
    }

    func notFound(_ what: String, _ uuid: String, _ context: StratusRequestContext) -> HTMLPage {
        var page = pages.page("error", title: "Not found", [
            "account": context.account?.name ?? "", "heading": "No such \(what)",
            "message": "There is no \(what) with uuid \(uuid). It may have been deleted.",
        ])
        page.status = .notFound
        return page
    }

    static func percent(_ v: Double?) -> String { v.map { String(format: "%.1f%%", $0) } ?? "—" }

    static func hypervisorText(_ h: Control.Host) -> String {
        h.hypervisorURI.map { "\(h.hypervisorType) · \($0.count > 48 ? String($0.prefix(45)) + "…" : $0)" } ?? h.hypervisorType
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ f: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let w): try await f(w)
        case .none: nil
        }
    }
}
