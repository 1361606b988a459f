import Hummingbird

/// `GET /healthz`: 200 when the server answers (for load balancers and the test harness).
struct HealthRoutes {
    func register(on router: Router<StratusRequestContext>) {
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
    }
}
