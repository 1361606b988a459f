import Alarms
import Foundation
import Hummingbird
import StratusMetrics

/// ZWatch alarm API (ZStack REST shapes):
///
/// - `GET|POST /zstack/v1/zwatch/alarms`, `GET|PUT|DELETE /zstack/v1/zwatch/alarms/{uuid}`;
///   `PUT …/alarms/{uuid}/actions` with `{"changeAlarmState":{"stateEvent":"enable"|"disable"}}`
///   or `{"updateAlarm":{…}}` as ZStack does. Queries: `q=` on name, namespace, metricName,
///   status, state, emergencyLevel, type; `limit`, `start`, `sort`, `count`.
/// - `GET /zstack/v1/zwatch/alarms/histories`: transitions, newest first; filters `alarmUuid`,
///   `resourceId`, `status`, `startTime` / `endTime` in **seconds** (ZWatch), `limit`, `start`.
///   Entries carry `time` in ms.
/// - `GET /zstack/v1/zwatch/alarms/firing`: instances now in `Alarm` (optional `alarmUuid`),
///   Emergent first, then the longest firing.
/// - `GET|POST /zstack/v1/zwatch/events/subscriptions`, `GET|PUT|DELETE …/{uuid}`.
/// - `GET|POST /zstack/v1/zwatch/silences` (`all=true` includes ended ones), `DELETE …/{uuid}` expires one.
struct AlarmRoutes {
    let store: any AlarmStore
    let clock: any WallClock

    func register(on router: Router<StratusRequestContext>) {
        registerAlarms(router)
        registerEventSubscriptions(router)
        registerSilences(router)
    }

    // MARK: Alarms

    func registerAlarms(_ router: Router<StratusRequestContext>) {
        let base = "/zstack/v1/zwatch/alarms"
        router.get(RouterPath(base)) { request, _ in
            let filter = try AlarmQueryFilter(request)
            let all = try await inventories()
            let (page, total) = try filter.apply(all, fields: \.fields, allowed: AlarmInventory.queryFields)
            return try AlarmQueryReply.response(page, total: total, request)
        }
        router.post(RouterPath(base)) { request, _ in
            let body = try await JSONResponse.decode(ParamsBody<AlarmParams>.self, from: request, what: "the alarm body {\"params\":{…}}")
            let now = clock.now()
            let rule = try await store.createAlarm(try body.params.newRule(at: now), at: now)
            return try AlarmInventoryReply.response(AlarmInventory(rule, instances: []))
        }
        router.get(RouterPath(base + "/histories")) { request, _ in
            let query = try Self.historyQuery(request)
            let entries = try await store.history(query)
            return try AlarmQueryReply.response(entries, total: entries.count, request)
        }
        router.get(RouterPath(base + "/firing")) { request, _ in
            let alarmUuid = request.uri.queryParameters["alarmUuid"].map(String.init)
            let firing = try await firingInstances(alarmUuid: alarmUuid)
            return try AlarmQueryReply.response(firing, total: firing.count, request)
        }
        router.get(RouterPath(base + "/{uuid}")) { _, context in
            let uuid = try context.parameters.require("uuid")
            return try AlarmInventoryReply.response(try await inventory(uuid))
        }
        router.put(RouterPath(base + "/{uuid}")) { request, context in
            let uuid = try context.parameters.require("uuid")
            let body = try await JSONResponse.decode(ParamsBody<AlarmParams>.self, from: request, what: "the alarm body {\"params\":{…}}")
            return try AlarmInventoryReply.response(try await update(uuid, body.params))
        }
        router.put(RouterPath(base + "/{uuid}/actions")) { request, context in
            let uuid = try context.parameters.require("uuid")
            let body = try await JSONResponse.decode(AlarmActionBody.self, from: request,
                                                     what: "the action body {\"changeAlarmState\":{\"stateEvent\":\"enable\"}} or {\"updateAlarm\":{…}}")
            var params = body.updateAlarm ?? AlarmParams()
            if let change = body.changeAlarmState { params.state = change.stateEvent }
            guard body.changeAlarmState != nil || body.updateAlarm != nil else {
                throw AlarmValidationError(field: "changeAlarmState", reason: "the body names no action; send changeAlarmState or updateAlarm")
            }
            return try AlarmInventoryReply.response(try await update(uuid, params))
        }
        router.delete(RouterPath(base + "/{uuid}")) { _, context in
            try await store.deleteAlarm(uuid: try context.parameters.require("uuid"))
            return try JSONResponse.make([String: String]())
        }
    }

    struct AlarmActionBody: Decodable {
        struct ChangeState: Decodable { var stateEvent: String }
        var changeAlarmState: ChangeState?
        var updateAlarm: AlarmParams?
    }

    func update(_ uuid: String, _ params: AlarmParams) async throws -> AlarmInventory {
        var rule = try await store.alarm(uuid: uuid)
        try params.apply(to: &rule)
        let now = clock.now()
        rule.lastOpDate = now
        let saved = try await store.updateAlarm(rule, at: now)
        return AlarmInventory(saved, instances: try await store.instanceStates().filter { $0.alarmUuid == uuid })
    }

    func inventory(_ uuid: String) async throws -> AlarmInventory {
        let rule = try await store.alarm(uuid: uuid)
        return AlarmInventory(rule, instances: try await store.instanceStates().filter { $0.alarmUuid == uuid })
    }

    func inventories() async throws -> [AlarmInventory] {
        let byAlarm = Dictionary(grouping: try await store.instanceStates(), by: \.alarmUuid)
        return try await store.alarms().map { AlarmInventory($0, instances: byAlarm[$0.uuid] ?? []) }
    }

    func firingInstances(alarmUuid: String?) async throws -> [FiringInstance] {
        let rules = Dictionary(uniqueKeysWithValues: try await store.alarms().map { ($0.uuid, $0) })
        return try await store.instanceStates()
            .filter { $0.status == .alarm && (alarmUuid == nil || $0.alarmUuid == alarmUuid) }
            .compactMap { s in rules[s.alarmUuid].map { FiringInstance(s, rule: $0) } }
            .sorted(by: FiringInstance.ordered)
    }

    /// History filters from the URL; times in seconds (ZWatch's unit).
    static func historyQuery(_ request: Request) throws -> AlarmHistoryQuery {
        let p = request.uri.queryParameters
        var q = AlarmHistoryQuery()
        q.alarmUuid = p["alarmUuid"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        q.resourceId = p["resourceId"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        if let s = p["status"], !s.isEmpty { q.status = try AlarmParse.value(String(s), field: "status") }
        func seconds(_ name: Substring) throws -> Int64? {
            guard let raw = p[name], !raw.isEmpty else { return nil }
            guard let v = Int64(raw), v >= 0 else {
                throw AlarmValidationError(field: String(name), reason: "'\(raw)' is not a time in seconds since the epoch")
            }
            return v * 1000
        }
        q.from = try seconds("startTime")
        q.to = try seconds("endTime")
        if let raw = p["limit"] {
            guard let n = Int(raw), n >= 0, n <= 10_000 else { throw AlarmValidationError(field: "limit", reason: "use a whole number from 0 to 10000") }
            q.limit = n
        }
        if let raw = p["start"] {
            guard let n = Int(raw), n >= 0 else { throw AlarmValidationError(field: "start", reason: "use a whole number ≥ 0") }
            q.offset = n
        }
        return q
    }

    // MARK: Event subscriptions

    func registerEventSubscriptions(_ router: Router<StratusRequestContext>) {
        let base = "/zstack/v1/zwatch/events/subscriptions"
        router.get(RouterPath(base)) { request, _ in
            let filter = try AlarmQueryFilter(request)
            let (page, total) = try filter.apply(try await store.eventSubscriptions(), fields: Self.fields,
                                                 allowed: ["uuid", "name", "namespace", "eventName", "emergencyLevel", "state"])
            return try AlarmQueryReply.response(page.map(EventSubscriptionInventory.init), total: total, request)
        }
        router.post(RouterPath(base)) { request, _ in
            let body = try await JSONResponse.decode(ParamsBody<EventSubscriptionParams>.self, from: request,
                                                     what: "the event subscription body {\"params\":{…}}")
            let now = clock.now()
            let s = try await store.createEventSubscription(try body.params.newSubscription(at: now), at: now)
            return try AlarmInventoryReply.response(EventSubscriptionInventory(s))
        }
        router.get(RouterPath(base + "/{uuid}")) { _, context in
            try AlarmInventoryReply.response(EventSubscriptionInventory(try await subscription(try context.parameters.require("uuid"))))
        }
        router.put(RouterPath(base + "/{uuid}")) { request, context in
            var s = try await subscription(try context.parameters.require("uuid"))
            let body = try await JSONResponse.decode(ParamsBody<EventSubscriptionParams>.self, from: request,
                                                     what: "the event subscription body {\"params\":{…}}")
            try body.params.apply(to: &s)
            return try AlarmInventoryReply.response(EventSubscriptionInventory(try await store.updateEventSubscription(s)))
        }
        router.delete(RouterPath(base + "/{uuid}")) { _, context in
            try await store.deleteEventSubscription(uuid: try context.parameters.require("uuid"))
            return try JSONResponse.make([String: String]())
        }
    }

    func subscription(_ uuid: String) async throws -> EventSubscription {
        guard let s = try await store.eventSubscriptions().first(where: { $0.uuid == uuid }) else {
            throw AlarmNotFoundError(kind: "event subscription", uuid: uuid)
        }
        return s
    }

    static func fields(_ s: EventSubscription) -> [String: String] {
        ["uuid": s.uuid, "name": s.name, "namespace": s.namespace, "eventName": s.eventName,
         "emergencyLevel": s.emergencyLevel.rawValue, "state": s.enabled ? "Enabled" : "Disabled"]
    }

    // MARK: Silences

    func registerSilences(_ router: Router<StratusRequestContext>) {
        let base = "/zstack/v1/zwatch/silences"
        router.get(RouterPath(base)) { request, _ in
            let now = clock.now()
            let since: Int64 = request.uri.queryParameters["all"] == "true" ? Int64.min : now
            let silences = try await store.silences(endingAfter: since).map { SilenceInventory($0, now: now) }
            return try AlarmQueryReply.response(silences, total: silences.count, request)
        }
        router.post(RouterPath(base)) { request, context in
            let body = try await JSONResponse.decode(ParamsBody<SilenceParams>.self, from: request, what: "the silence body {\"params\":{…}}")
            let now = clock.now()
            let s = try await store.createSilence(try body.params.silence(by: context.account?.name ?? "", at: now), at: now)
            return try AlarmInventoryReply.response(SilenceInventory(s, now: now))
        }
        router.delete(RouterPath(base + "/{uuid}")) { _, context in
            try await store.expireSilence(uuid: try context.parameters.require("uuid"), at: clock.now())
            return try JSONResponse.make([String: String]())
        }
    }
}

/// An event subscription with ZStack's `state`.
struct EventSubscriptionInventory: Encodable, Sendable {
    var uuid: String
    var name: String
    var namespace: String
    var eventName: String
    var labels: [AlarmLabel]
    var actions: [String]
    var emergencyLevel: String
    var state: String
    var createDate: Int64

    init(_ s: EventSubscription) {
        uuid = s.uuid
        name = s.name
        namespace = s.namespace
        eventName = s.eventName
        labels = s.labels
        actions = s.actions
        emergencyLevel = s.emergencyLevel.rawValue
        state = s.enabled ? "Enabled" : "Disabled"
        createDate = s.createDate
    }
}

/// A silence and whether it is active now.
struct SilenceInventory: Encodable, Sendable {
    var uuid: String
    var matchers: [AlarmLabel]
    var startsAt: Int64
    var endsAt: Int64
    var comment: String
    var createdBy: String
    var createDate: Int64
    var active: Bool

    init(_ s: Silence, now: Int64) {
        uuid = s.uuid
        matchers = s.matchers
        startsAt = s.startsAt
        endsAt = s.endsAt
        comment = s.comment
        createdBy = s.createdBy
        createDate = s.createDate
        active = s.isActive(at: now)
    }
}
