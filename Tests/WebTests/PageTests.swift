import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import Web

@Suite struct PageTests {
    /// Logs in through the form and returns the session cookie header value.
    func formLogin(_ c: some TestClientProtocol) async throws -> String {
        try await c.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                            body: ByteBuffer(string: "accountName=admin&password=\(WebFixture.password)")) { r in
            #expect(r.status == .seeOther)
            #expect(r.headers[.location] == "/")
            let cookie = try #require(r.headers[.setCookie])
            #expect(cookie.contains("HttpOnly"))
            return String(cookie.split(separator: ";")[0])
        }
    }

    @Test func pagesRedirectToLoginWithoutASession() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            for path in ["/", "/hosts/\(f.host.uuid)", "/vms/\(f.vmUuids[0])"] {
                try await c.execute(uri: path, method: .get) { r in
                    #expect(r.status == .seeOther)
                    #expect(r.headers[.location] == "/login")
                }
            }
            try await c.execute(uri: "/login", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains(#"name="password""#))
            }
        }
    }

    @Test func wrongPasswordShowsAnErrorOnTheLoginPage() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            try await c.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                body: ByteBuffer(string: "accountName=admin&password=wrong")) { r in
                #expect(r.status == .unauthorized)
                #expect(r.headers[.setCookie] == nil)
                let html = String(buffer: r.body)
                #expect(html.contains(#"class="error""#))
                #expect(html.contains("wrong account name or password"))
            }
        }
    }

    @Test func dashboardListsHostsAndVMsWithStateAndLatestValues() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let cookie = try await formLogin(c)
            try await c.execute(uri: "/", method: .get, headers: [.cookie: cookie]) { r in
                #expect(r.status == .ok)
                let html = String(buffer: r.body)
                #expect(html.contains(#"<table id="hosts">"#))
                #expect(html.contains(#"<table id="vms">"#))
                #expect(html.contains("href=\"/vms/\(f.vmUuids[0])\">web-1</a>"))
                #expect(html.contains(#"<td class="state state-Stopped">Stopped</td>"#))
                // The host name is HTML-escaped.
                #expect(html.contains("host-&lt;1&gt;"))
                // Latest VM CPU value (59) and host CPU (12.5).
                #expect(html.contains("59.0%"))
                #expect(html.contains("12.5%"))
            }
        }
    }

    @Test func vmAndHostPagesDrawChartsFromTheStore() async throws {
        let f = try await WebFixture.make()
        try await f.app.test(.router) { c in
            let cookie = try await formLogin(c)
            try await c.execute(uri: "/vms/\(f.vmUuids[0])?range=15m", method: .get, headers: [.cookie: cookie]) { r in
                let html = String(buffer: r.body)
                #expect(html.components(separatedBy: #"<svg class="chart""#).count - 1 == 2)
                #expect(html.contains(#"<path class="series series-0" d="M"#))
                #expect(html.contains(#"class="current">15m"#))
            }
            // The stopped VM has no samples: charts say so instead of drawing nothing.
            try await c.execute(uri: "/vms/\(f.vmUuids[1])", method: .get, headers: [.cookie: cookie]) { r in
                let html = String(buffer: r.body)
                #expect(html.contains(#"class="no-data""#))
                #expect(!html.contains(#"<path class="series"#))
            }
            try await c.execute(uri: "/hosts/\(f.host.uuid)", method: .get, headers: [.cookie: cookie]) { r in
                let html = String(buffer: r.body)
                // Host CPU (12.5 % samples), host memory (none: explains where it comes from), VMs' CPU.
                #expect(html.components(separatedBy: #"<svg class="chart""#).count - 1 == 3)
                #expect(html.contains(#"<path class="series series-0" d="M"#))
                #expect(html.contains("hosts reached only through libvirt have none yet"))
                #expect(html.contains("CPU used by each VM on this host"))
                #expect(html.contains("<title>web-1</title>"))
            }
            try await c.execute(uri: "/vms/nope", method: .get, headers: [.cookie: cookie]) { r in
                #expect(r.status == .notFound)
                #expect(String(buffer: r.body).contains("No such VM"))
            }
        }
    }
}
