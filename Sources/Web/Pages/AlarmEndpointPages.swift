import Alarms
import Foundation
import Hummingbird
import StratusMetrics

/// `/endpoints`: SNS topics and endpoints on one page. Endpoints show type, target, topics,
/// delivery counts (pending / delivered / failed, last error) and a "Send test notification"
/// button; after pressing it the page (`?test=<delivery id>`) shows that delivery's status and
/// refreshes until it is no longer pending. Forms create topics and HTTP / DingTalk / email
/// endpoints and subscribe endpoints to topics (all plain HTML form POSTs).
struct AlarmEndpointPages {
    let store: any AlarmStore
    let clock: any WallClock
    let sendTest: TestNotificationHook
    let pages: PageRenderer

    func register(on router: Router<StratusRequestContext>) {
        router.get("/endpoints") { request, context in
            try await page(FormValues.query(request), context, error: nil)
        }
        router.post("/endpoints/topics") { request, context in
            let v = try await FormValues.body(request)
            return try await attempt(request, context) {
                guard let name = v.nonEmpty("name") else { throw AlarmValidationError(field: "name", reason: "a topic needs a name") }
                let now = clock.now()
                _ = try await store.createTopic(SNSTopic(uuid: "", name: name, description: v["description"] ?? "", createDate: now), at: now)
                return "/endpoints"
            }
        }
        for kind in EndpointParams.Kind.allCases {
            router.post(RouterPath("/endpoints/" + kind.rawValue)) { request, context in
                let v = try await FormValues.body(request)
                return try await attempt(request, context) {
                    let now = clock.now()
                    let e = try Self.params(v).newEndpoint(kind, at: now)
                    try EndpointTemplates.check(e)
                    let saved = try await store.createEndpoint(e, at: now)
                    if let topic = v.nonEmpty("topicUuid") { try await store.subscribe(endpointUuid: saved.uuid, topicUuid: topic) }
                    return "/endpoints"
                }
            }
        }
        router.post("/endpoints/subscribe") { request, context in
            let v = try await FormValues.body(request)
            return try await attempt(request, context) {
                guard let e = v.nonEmpty("endpointUuid") else { throw AlarmValidationError(field: "endpointUuid", reason: "choose an endpoint") }
                guard let t = v.nonEmpty("topicUuid") else { throw AlarmValidationError(field: "topicUuid", reason: "choose a topic") }
                try await store.subscribe(endpointUuid: e, topicUuid: t)
                return "/endpoints"
            }
        }
        router.post("/endpoints/unsubscribe") { request, context in
            let v = try await FormValues.body(request)
            return try await attempt(request, context) {
                try await store.unsubscribe(endpointUuid: v["endpointUuid"] ?? "", topicUuid: v["topicUuid"] ?? "")
                return "/endpoints"
            }
        }
        router.post("/endpoints/{uuid}/test") { request, context in
            let uuid = try context.parameters.require("uuid")
            return try await attempt(request, context) {
                let entry = try await sendTest(uuid, context.account?.name ?? "")
                return "/endpoints?test=\(entry.id.map(String.init) ?? "")&endpoint=\(uuid)#test-status"
            }
        }
        router.post("/endpoints/{uuid}/delete") { request, context in
            let uuid = try context.parameters.require("uuid")
            return try await attempt(request, context) {
                try await store.deleteEndpoint(uuid: uuid)
                return "/endpoints"
            }
        }
        router.post("/endpoints/topics/{uuid}/delete") { request, context in
            let uuid = try context.parameters.require("uuid")
            return try await attempt(request, context) {
                try await store.deleteTopic(uuid: uuid)
                return "/endpoints"
            }
        }
    }

    /// Runs a form action: redirects where it says, or re-renders the page with the error (400 / 404).
    func attempt(_ request: Request, _ context: StratusRequestContext, _ action: () async throws -> String) async throws -> Response {
        do {
            return Response.redirect(to: try await action(), type: .normal)
        } catch let e as AlarmValidationError {
            return try await page(FormValues(""), context, error: e.description).with(status: .badRequest).response(from: request, context: context)
        } catch let e as AlarmNotFoundError {
            return try await page(FormValues(""), context, error: e.description).with(status: .notFound).response(from: request, context: context)
        }
    }

    /// Endpoint params from a form: flat fields; `recipients` / `atMobiles` split on commas and
    /// new lines; checkboxes present = true.
    static func params(_ v: FormValues) -> EndpointParams {
        func list(_ name: String) -> [String]? {
            v.nonEmpty(name).map { $0.split(whereSeparator: { $0 == "," || $0.isNewline }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        }
        var p = EndpointParams()
        p.name = v["name"]
        p.description = v["description"]
        p.template = v.nonEmpty("template")
        p.recoveryTemplate = v.nonEmpty("recoveryTemplate")
        p.url = v.nonEmpty("url")
        p.secret = v.nonEmpty("secret")
        p.username = v.nonEmpty("username")
        p.password = v.nonEmpty("password")
        p.format = v.nonEmpty("format")
        p.atMobiles = list("atMobiles")
        p.atAll = v.has("atAll") ? true : nil
        p.smtpServer = v.nonEmpty("smtpServer")
        if let port = v.nonEmpty("smtpPort") { p.smtpPort = Int(port) ?? -1 }
        p.security = v.nonEmpty("security")
        p.from = v.nonEmpty("from")
        p.recipients = list("recipients")
        p.html = v.has("html") ? true : nil
        p.insecureSkipVerify = v.has("insecureSkipVerify") ? true : nil
        return p
    }

    func page(_ v: FormValues, _ context: StratusRequestContext, error: String?) async throws -> HTMLPage {
        let topics = try await store.topics()
        let endpoints = try await store.endpoints()
        let endpointNames = Dictionary(uniqueKeysWithValues: endpoints.map { ($0.uuid, $0.name) })
        let topicNames = Dictionary(uniqueKeysWithValues: topics.map { ($0.uuid, $0.name) })
        let now = clock.now()
        var endpointRows: [[String: Any]] = []
        for e in endpoints {
            let subscribed = try await store.topics(ofEndpoint: e.uuid)
            let recent = try await store.outbox(OutboxQuery(endpointUuid: e.uuid, limit: 500))
            let counts = Dictionary(grouping: recent, by: \.status).mapValues(\.count)
            let inv = EndpointInventory(e, topics: subscribed)
            endpointRows.append([
                "uuid": e.uuid, "name": e.name, "type": e.type, "target": inv.target, "state": inv.state,
                "topics": subscribed.map { ["uuid": $0, "name": topicNames[$0] ?? $0, "endpointUuid": e.uuid] as [String: Any] },
                "pending": counts[.pending] ?? 0, "delivered": counts[.delivered] ?? 0, "failed": counts[.failed] ?? 0,
                "lastError": recent.first { $0.lastError != nil }?.lastError ?? "",
            ])
        }
        let recent = try await store.outbox(OutboxQuery(limit: 20)).map { o -> [String: Any] in
            let d = DeliveryInventory(o)
            return ["id": d.id.map(String.init) ?? "", "endpoint": endpointNames[d.endpointUuid] ?? d.endpointUuid, "kind": d.kind,
                    "summary": d.summary, "status": d.status, "attempts": d.attempts, "lastError": d.lastError ?? "",
                    "created": AlarmPageFormat.time(d.createdAt), "delivered": AlarmPageFormat.time(d.deliveredAt)]
        }
        var values: [String: Any] = [
            "account": context.account?.name ?? "",
            "topics": try await topicRows(topics, endpointNames), "endpoints": endpointRows,
            "endpointOptions": endpoints.map { ["uuid": $0.uuid, "name": $0.name] },
            "topicOptions": topics.map { ["uuid": $0.uuid, "name": $0.name] }, "hasTopics": !topics.isEmpty,
            "deliveries": recent, "formats": HTTPEndpointConfig.Format.allCases.map(\.rawValue),
            "securities": EmailEndpointConfig.Security.allCases.map(\.rawValue),
        ]
        // Mustache treats "" as true: keys are set only when there is something to show.
        if let error { values["error"] = error }
        // The test delivery just requested: its status, refreshing while it is pending.
        if let id = v.nonEmpty("test").flatMap(Int64.init), let endpoint = v.nonEmpty("endpoint") {
            let entry = try await store.outbox(OutboxQuery(endpointUuid: endpoint, limit: 200)).first { $0.id == id }
            if let entry {
                let d = DeliveryInventory(entry)
                var test: [String: Any] = ["id": id, "endpoint": endpointNames[endpoint] ?? endpoint, "status": d.status,
                                           "attempts": d.attempts, "age": AlarmPageFormat.ago(d.createdAt, now: now)]
                if let e = d.lastError, !e.isEmpty { test["lastError"] = e }
                values["test"] = test
                if entry.status == .pending { values["refresh"] = 2 }
            }
        }
        return pages.page("endpoints", title: "Notification endpoints", values)
    }

    func topicRows(_ topics: [SNSTopic], _ endpointNames: [String: String]) async throws -> [[String: Any]] {
        var rows: [[String: Any]] = []
        for t in topics {
            let subs = try await store.endpoints(ofTopic: t.uuid)
            rows.append(["uuid": t.uuid, "name": t.name, "description": t.description, "state": t.enabled ? "Enabled" : "Disabled",
                         "endpoints": subs.map { endpointNames[$0] ?? $0 }.joined(separator: ", ")])
        }
        return rows
    }
}
