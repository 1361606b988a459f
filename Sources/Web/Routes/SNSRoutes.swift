import Alarms
import Foundation
import Hummingbird
import StratusMetrics

/// SNS API (ZStack REST shapes):
///
/// - `GET|POST /zstack/v1/sns/topics`, `GET|PUT|DELETE …/topics/{uuid}`;
///   subscribe `POST …/topics/{topicUuid}/endpoints` `{"params":{"endpointUuid":…}}`,
///   unsubscribe `DELETE …/topics/{topicUuid}/endpoints/{endpointUuid}`, list `GET …/topics/{topicUuid}/endpoints`.
/// - `GET /zstack/v1/sns/application-endpoints` (all types; `q=` on uuid, name, type, state),
///   `GET|POST …/application-endpoints/{http,ding-talk,emails}` (that type),
///   `GET|PUT|DELETE …/application-endpoints/{uuid}`; secrets and passwords are masked.
/// - `POST …/application-endpoints/{uuid}/test`: enqueues a test notification, `202 {"inventory":<delivery>}`.
/// - `GET /zstack/v1/sns/deliveries` (`status`, `endpointUuid`, `limit`, `start`; newest first,
///   with `counts` by status), `GET /zstack/v1/sns/deliveries/counts`.
struct SNSRoutes {
    let store: any AlarmStore
    let clock: any WallClock
    let sendTest: TestNotificationHook

    func register(on router: Router<StratusRequestContext>) {
        registerTopics(router)
        registerEndpoints(router)
        registerDeliveries(router)
    }

    // MARK: Topics

    func registerTopics(_ router: Router<StratusRequestContext>) {
        let base = "/zstack/v1/sns/topics"
        router.get(RouterPath(base)) { request, _ in
            let filter = try AlarmQueryFilter(request)
            let (page, total) = try filter.apply(try await store.topics(), fields: {
                ["uuid": $0.uuid, "name": $0.name, "state": $0.enabled ? "Enabled" : "Disabled"]
            }, allowed: ["uuid", "name", "state"])
            var out: [TopicInventory] = []
            for t in page { out.append(TopicInventory(t, endpoints: try await store.endpoints(ofTopic: t.uuid))) }
            return try AlarmQueryReply.response(out, total: total, request)
        }
        router.post(RouterPath(base)) { request, _ in
            let p = try await JSONResponse.decode(ParamsBody<TopicParams>.self, from: request, what: "the topic body {\"params\":{\"name\":…}}").params
            guard let name = p.name, !name.isEmpty else { throw AlarmValidationError(field: "name", reason: "is required") }
            let now = clock.now()
            var topic = SNSTopic(uuid: "", name: name, createDate: now)
            try p.apply(to: &topic)
            return try AlarmInventoryReply.response(TopicInventory(try await store.createTopic(topic, at: now), endpoints: []))
        }
        router.get(RouterPath(base + "/{uuid}")) { _, context in
            let t = try await store.topic(uuid: try context.parameters.require("uuid"))
            return try AlarmInventoryReply.response(TopicInventory(t, endpoints: try await store.endpoints(ofTopic: t.uuid)))
        }
        router.put(RouterPath(base + "/{uuid}")) { request, context in
            var t = try await store.topic(uuid: try context.parameters.require("uuid"))
            try await JSONResponse.decode(ParamsBody<TopicParams>.self, from: request, what: "the topic body {\"params\":{…}}").params.apply(to: &t)
            let saved = try await store.updateTopic(t)
            return try AlarmInventoryReply.response(TopicInventory(saved, endpoints: try await store.endpoints(ofTopic: t.uuid)))
        }
        router.delete(RouterPath(base + "/{uuid}")) { _, context in
            try await store.deleteTopic(uuid: try context.parameters.require("uuid"))
            return try JSONResponse.make([String: String]())
        }
        router.get(RouterPath(base + "/{uuid}/endpoints")) { request, context in
            let topic = try await store.topic(uuid: try context.parameters.require("uuid"))
            var out: [EndpointInventory] = []
            for uuid in try await store.endpoints(ofTopic: topic.uuid) { out.append(try await endpointInventory(uuid)) }
            return try AlarmQueryReply.response(out, total: out.count, request)
        }
        router.post(RouterPath(base + "/{uuid}/endpoints")) { request, context in
            struct Subscribe: Decodable { var endpointUuid: String }
            let topicUuid = try context.parameters.require("uuid")
            let p = try await JSONResponse.decode(ParamsBody<Subscribe>.self, from: request, what: "the subscribe body {\"params\":{\"endpointUuid\":…}}").params
            try await store.subscribe(endpointUuid: p.endpointUuid, topicUuid: topicUuid)
            return try AlarmInventoryReply.response(TopicInventory(try await store.topic(uuid: topicUuid),
                                                                   endpoints: try await store.endpoints(ofTopic: topicUuid)))
        }
        router.delete(RouterPath(base + "/{uuid}/endpoints/{endpointUuid}")) { _, context in
            try await store.unsubscribe(endpointUuid: try context.parameters.require("endpointUuid"), topicUuid: try context.parameters.require("uuid"))
            return try JSONResponse.make([String: String]())
        }
    }

    // MARK: Endpoints

    func registerEndpoints(_ router: Router<StratusRequestContext>) {
        let base = "/zstack/v1/sns/application-endpoints"
        router.get(RouterPath(base)) { request, _ in try await listEndpoints(request, type: nil) }
        for kind in EndpointParams.Kind.allCases {
            router.get(RouterPath(base + "/" + kind.rawValue)) { request, _ in try await listEndpoints(request, type: kind.typeName) }
            router.post(RouterPath(base + "/" + kind.rawValue)) { request, _ in
                let p = try await JSONResponse.decode(ParamsBody<EndpointParams>.self, from: request,
                                                      what: "the \(kind.typeName) endpoint body {\"params\":{…}}").params
                let now = clock.now()
                let e = try await store.createEndpoint(try validated(try p.newEndpoint(kind, at: now)), at: now)
                return try AlarmInventoryReply.response(EndpointInventory(e, topics: []))
            }
        }
        router.get(RouterPath(base + "/{uuid}")) { _, context in
            try AlarmInventoryReply.response(try await endpointInventory(try context.parameters.require("uuid")))
        }
        router.put(RouterPath(base + "/{uuid}")) { request, context in
            var e = try await store.endpoint(uuid: try context.parameters.require("uuid"))
            let p = try await JSONResponse.decode(ParamsBody<EndpointParams>.self, from: request, what: "the endpoint body {\"params\":{…}}").params
            try p.apply(to: &e)
            let saved = try await store.updateEndpoint(try validated(e))
            return try AlarmInventoryReply.response(EndpointInventory(saved, topics: try await store.topics(ofEndpoint: saved.uuid)))
        }
        router.delete(RouterPath(base + "/{uuid}")) { _, context in
            try await store.deleteEndpoint(uuid: try context.parameters.require("uuid"))
            return try JSONResponse.make([String: String]())
        }
        router.post(RouterPath(base + "/{uuid}/test")) { _, context in
            let entry = try await sendTest(try context.parameters.require("uuid"), context.account?.name ?? "")
            return try AlarmInventoryReply.response(DeliveryInventory(entry), status: .accepted)
        }
    }

    func listEndpoints(_ request: Request, type: String?) async throws -> Response {
        let filter = try AlarmQueryFilter(request)
        var all: [EndpointInventory] = []
        for e in try await store.endpoints() where type == nil || e.type == type {
            all.append(EndpointInventory(e, topics: try await store.topics(ofEndpoint: e.uuid)))
        }
        let (page, total) = try filter.apply(all, fields: \.fields, allowed: EndpointInventory.queryFields)
        return try AlarmQueryReply.response(page, total: total, request)
    }

    func endpointInventory(_ uuid: String) async throws -> EndpointInventory {
        EndpointInventory(try await store.endpoint(uuid: uuid), topics: try await store.topics(ofEndpoint: uuid))
    }

    /// Checks the endpoint's templates parse (a 400 naming `template` / `recoveryTemplate`).
    func validated(_ e: SNSEndpoint) throws -> SNSEndpoint {
        try EndpointTemplates.check(e)
        return e
    }

    // MARK: Deliveries

    struct DeliveryList: Encodable {
        var inventories: [DeliveryInventory]
        var total: Int
        var counts: [String: Int]
    }

    func registerDeliveries(_ router: Router<StratusRequestContext>) {
        router.get("/zstack/v1/sns/deliveries") { request, _ in
            let p = request.uri.queryParameters
            var q = OutboxQuery()
            if let s = p["status"], !s.isEmpty { q.status = try AlarmParse.value(String(s), field: "status") }
            if let e = p["endpointUuid"], !e.isEmpty { q.endpointUuid = String(e) }
            if let raw = p["limit"] {
                guard let n = Int(raw), n >= 0, n <= 10_000 else { throw AlarmValidationError(field: "limit", reason: "use a whole number from 0 to 10000") }
                q.limit = n
            }
            if let raw = p["start"] {
                guard let n = Int(raw), n >= 0 else { throw AlarmValidationError(field: "start", reason: "use a whole number ≥ 0") }
                q.offset = n
            }
            let entries = try await store.outbox(q).map(DeliveryInventory.init)
            return try JSONResponse.make(DeliveryList(inventories: entries, total: entries.count, counts: try await counts()))
        }
        router.get("/zstack/v1/sns/deliveries/counts") { _, _ in
            try AlarmInventoryReply.response(try await counts())
        }
    }

    /// Every status with its count (0 when none).
    func counts() async throws -> [String: Int] {
        let c = try await store.outboxCounts()
        return Dictionary(uniqueKeysWithValues: DeliveryStatus.allCases.map { ($0.rawValue, c[$0] ?? 0) })
    }
}
