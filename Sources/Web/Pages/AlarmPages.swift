import Alarms
import Control
import Foundation
import Hummingbird
import StratusMetrics

/// The alarm pages: `/alarms` (firing instances, then every rule), `/alarms/history`,
/// `/alarms/new` and `/alarms/{uuid}/edit` (form + preview chart; a GET with the form's fields
/// re-renders the preview, a POST saves), and POST actions enable / disable / delete.
struct AlarmPages {
    let store: any AlarmStore
    let metrics: MetricReader
    let inventory: any InventoryStore
    let pages: PageRenderer
    /// Seconds between refreshes of the list pages.
    let refresh = 15

    func register(on router: Router<StratusRequestContext>) {
        router.get("/alarms") { request, context in try await list(request, context) }
        router.get("/alarms/history") { request, context in try await history(request, context) }
        router.get("/alarms/new") { request, context in
            try await form(AlarmForm(FormValues.query(request), base: AlarmForm()), uuid: nil, error: nil, context)
        }
        router.post("/alarms/new") { request, context in try await save(request, uuid: nil, context) }
        router.get("/alarms/{uuid}/edit") { request, context in
            let uuid = try context.parameters.require("uuid")
            guard let rule = try? await store.alarm(uuid: uuid) else { return notFound(uuid, context) }
            return try await form(AlarmForm(FormValues.query(request), base: AlarmForm(rule: rule)), uuid: uuid, error: nil, context)
        }
        router.post("/alarms/{uuid}/edit") { request, context in try await save(request, uuid: try context.parameters.require("uuid"), context) }
        router.post("/alarms/{uuid}/state") { request, context in
            let uuid = try context.parameters.require("uuid")
            var rule = try await store.alarm(uuid: uuid)
            rule.enabled = try AlarmParse.enabled(try await FormValues.body(request)["state"] ?? "", field: "state")
            _ = try await store.updateAlarm(rule, at: metrics.clock.now())
            return Response.redirect(to: "/alarms", type: .normal)
        }
        router.post("/alarms/{uuid}/delete") { _, context in
            try await store.deleteAlarm(uuid: try context.parameters.require("uuid"))
            return Response.redirect(to: "/alarms", type: .normal)
        }
    }

    // MARK: List

    func list(_ request: Request, _ context: StratusRequestContext) async throws -> HTMLPage {
        let now = metrics.clock.now()
        let rules = try await store.alarms()
        let byUuid = Dictionary(uniqueKeysWithValues: rules.map { ($0.uuid, $0) })
        let states = try await store.instanceStates()
        let names = try await resourceNames()
        let firing = states.filter { $0.status == .alarm }
            .compactMap { s in byUuid[s.alarmUuid].map { FiringInstance(s, rule: $0) } }
            .sorted(by: FiringInstance.ordered)
            .map { f -> [String: Any] in
                ["alarmUuid": f.alarmUuid, "alarmName": f.alarmName, "resource": names[f.resourceId] ?? f.resourceId,
                 "resourceId": f.resourceId, "value": AlarmPageFormat.value(f.value),
                 "condition": "\(f.metricName) \(ComparisonOperator(rawValue: f.comparisonOperator)?.symbol ?? "?") \(AlarmPageFormat.value(f.threshold))",
                 "since": AlarmPageFormat.time(f.since), "ago": AlarmPageFormat.ago(f.since, now: now), "level": f.emergencyLevel]
            }
        let byAlarm = Dictionary(grouping: states, by: \.alarmUuid)
        let topics = Dictionary(uniqueKeysWithValues: try await store.topics().map { ($0.uuid, $0.name) })
        let ruleRows = rules.sorted { ($0.builtIn ? 1 : 0, $0.name) < ($1.builtIn ? 1 : 0, $1.name) }.map { r -> [String: Any] in
            let inv = AlarmInventory(r, instances: byAlarm[r.uuid] ?? [])
            let counts = Dictionary(grouping: byAlarm[r.uuid] ?? [], by: \.status).mapValues(\.count)
            return ["uuid": r.uuid, "name": r.name, "namespace": r.namespace, "metricName": r.metricName,
                    "condition": "\(r.comparisonOperator.symbol) \(AlarmPageFormat.value(r.threshold)) for \(r.period) s",
                    "labels": AlarmPageFormat.labelsText(r.labels).replacingOccurrences(of: "\n", with: ", "),
                    "type": r.type.rawValue, "level": r.emergencyLevel.rawValue, "state": inv.state, "enabled": r.enabled,
                    "status": r.enabled ? inv.status : "—", "firing": counts[.alarm] ?? 0, "ok": counts[.ok] ?? 0,
                    "insufficient": counts[.insufficientData] ?? 0, "builtIn": r.builtIn,
                    "topics": r.actions.map { topics[$0] ?? $0 }.joined(separator: ", ")]
        }
        return pages.page("alarms", title: "Alarms", [
            "account": context.account?.name ?? "", "refresh": refresh,
            "firing": firing, "firingCount": firing.count, "rules": ruleRows, "ruleCount": rules.count,
        ])
    }

    // MARK: History

    func history(_ request: Request, _ context: StratusRequestContext) async throws -> HTMLPage {
        let v = FormValues.query(request)
        let now = metrics.clock.now()
        let hours = Int64(v["hours"] ?? "") ?? 24
        var q = AlarmHistoryQuery(alarmUuid: v.nonEmpty("alarmUuid"), resourceId: v.nonEmpty("resourceId"),
                                  from: now - min(max(hours, 1), 24 * 90) * 3600_000, to: nil, limit: 500)
        var problem: String?
        if let s = v.nonEmpty("status") {
            do { q.status = try AlarmParse.value(s, field: "status") } catch { problem = error.description }
        }
        let entries = try await store.history(q)
        let names = try await resourceNames()
        let rules = try await store.alarms()
        let rows = entries.map { e -> [String: Any] in
            ["time": AlarmPageFormat.time(e.time), "alarmUuid": e.alarmUuid, "alarmName": e.alarmName,
             "resource": names[e.resourceId] ?? e.resourceId, "resourceId": e.resourceId,
             "previous": e.previousStatus.rawValue, "current": e.currentStatus.rawValue, "value": AlarmPageFormat.value(e.value),
             "threshold": AlarmPageFormat.value(e.threshold), "level": e.emergencyLevel.rawValue,
             "notified": e.notified ? "yes" : (e.suppressedBy.map { "no (\($0))" } ?? "no")]
        }
        var values: [String: Any] = [
            "account": context.account?.name ?? "", "rows": rows, "count": rows.count,
            "alarms": rules.map { ["uuid": $0.uuid, "name": $0.name, "selected": $0.uuid == q.alarmUuid] as [String: Any] },
            "statuses": AlarmStatus.allCases.map { ["value": $0.rawValue, "selected": $0 == q.status] as [String: Any] },
            "hoursOptions": [1, 6, 24, 168, 720].map { ["value": $0, "selected": Int64($0) == hours] as [String: Any] },
            "resourceId": q.resourceId ?? "",
        ]
        if let problem { values["error"] = problem }  // mustache treats "" as true
        return pages.page("alarms_history", title: "Alarm history", values)
    }

    // MARK: Form

    func form(_ form: AlarmForm, uuid: String?, error: AlarmValidationError?, _ context: StratusRequestContext) async throws -> HTMLPage {
        let preview = await AlarmPreviewChart(metrics: metrics, names: try await resourceNames()).render(form)
        var values = form.context(topics: try await store.topics())
        values["account"] = context.account?.name ?? ""
        values["uuid"] = uuid ?? ""
        values["editing"] = uuid != nil
        values["action"] = uuid.map { "/alarms/\($0)/edit" } ?? "/alarms/new"
        values["chart"] = preview.svg
        values["previewNote"] = preview.note
        if let error {
            values["error"] = error.description
            values["errorField"] = error.field
            values["errors"] = [error.field: error.reason]
        }
        let page = pages.page("alarms_form", title: uuid == nil ? "New alarm" : "Edit alarm \(form.name)", values)
        return error == nil ? page : page.with(status: .badRequest)
    }

    func save(_ request: Request, uuid: String?, _ context: StratusRequestContext) async throws -> Response {
        let existing: AlarmRule?
        if let uuid {
            guard let rule = try? await store.alarm(uuid: uuid) else { return try notFound(uuid, context).response(from: request, context: context) }
            existing = rule
        } else {
            existing = nil
        }
        let f = AlarmForm(try await FormValues.body(request), base: existing.map(AlarmForm.init(rule:)) ?? AlarmForm())
        let now = metrics.clock.now()
        do {
            let rule = try f.rule(base: existing, now: now)
            _ = existing == nil ? try await store.createAlarm(rule, at: now) : try await store.updateAlarm(rule, at: now)
            return Response.redirect(to: "/alarms", type: .normal)
        } catch let e as AlarmValidationError {
            return try await form(f, uuid: uuid, error: e, context).response(from: request, context: context)
        }
    }

    // MARK: Helpers

    /// VM and host uuid → name.
    func resourceNames() async throws -> [String: String] {
        var all = InventoryQuery()
        all.limit = 10_000
        var names: [String: String] = [:]
        for h in try await inventory.hosts(all).inventories { names[h.uuid] = h.name }
        for v in try await inventory.vms(all).inventories { names[v.uuid] = v.name }
        return names
    }

    func notFound(_ uuid: String, _ context: StratusRequestContext) -> HTMLPage {
        pages.page("error", title: "Not found", [
            "account": context.account?.name ?? "", "heading": "No such alarm",
            "message": "There is no alarm with uuid \(uuid). It may have been deleted.",
        ]).with(status: .notFound)
    }
}
