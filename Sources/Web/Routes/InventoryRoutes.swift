import Control
import Hummingbird

/// ZStack REST queries over the inventory: `GET /zstack/v1/hosts`, `/vm-instances`, `/zones`,
/// `/clusters`, and `…/{uuid}` for one.
struct InventoryRoutes {
    let inventory: any InventoryStore

    func register(on router: Router<StratusRequestContext>) {
        router.get("/zstack/v1/hosts") { request, _ in
            let r = try await inventory.hosts(try Self.query(request))
            return try Self.reply(r, request)
        }
        router.get("/zstack/v1/hosts/{uuid}") { _, context in
            try JSONResponse.make(["inventory": try await inventory.host(uuid: try context.parameters.require("uuid"))])
        }
        router.get("/zstack/v1/vm-instances") { request, _ in
            let r = try await inventory.vms(try Self.query(request))
            return try Self.reply(r, request)
        }
        router.get("/zstack/v1/vm-instances/{uuid}") { _, context in
            try JSONResponse.make(["inventory": try await inventory.vm(uuid: try context.parameters.require("uuid"))])
        }
        router.get("/zstack/v1/zones") { _, _ in
            let zones = try await inventory.zones()
            return try JSONResponse.make(QueryReply(inventories: zones, total: zones.count))
        }
        router.get("/zstack/v1/clusters") { _, _ in
            let clusters = try await inventory.clusters()
            return try JSONResponse.make(QueryReply(inventories: clusters, total: clusters.count))
        }
    }

    struct QueryReply<T: Encodable>: Encodable {
        var inventories: [T]
        var total: Int?
    }

    struct CountReply: Encodable { var total: Int }

    static func query(_ request: Request) throws -> InventoryQuery {
        try InventoryQuery.parse(request.uri.queryParameters.map { (String($0.key), String($0.value)) })
    }

    /// `count=true` answers only the total; `replyWithCount=true` adds it to the page (ZStack).
    static func reply<T: Encodable & Sendable>(_ r: QueryResult<T>, _ request: Request) throws -> Response {
        let params = request.uri.queryParameters
        if params["count"] == "true" { return try JSONResponse.make(CountReply(total: r.total)) }
        return try JSONResponse.make(QueryReply(inventories: r.inventories, total: r.total))
    }
}
