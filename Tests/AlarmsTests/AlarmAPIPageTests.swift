import Alarms
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import Web

/// The server-rendered alarm pages: /alarms, /alarms/history, the alarm form with its preview
/// chart, /endpoints with "Send test notification".
@Suite struct AlarmAPIPageTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    func html(_ c: some TestClientProtocol, _ uri: String, cookie: String, status: HTTPResponse.Status = .ok,
              sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        try await c.execute(uri: uri, method: .get, headers: [.cookie: cookie]) { r in
            #expect(r.status == status, "\(uri)", sourceLocation: sourceLocation)
            return String(buffer: r.body)
        }
    }

    func post(_ c: some TestClientProtocol, _ uri: String, cookie: String, _ pairs: [(String, String)]) async throws -> (HTTPResponse.Status, String, String?) {
        var headers = Self.form
        headers[.cookie] = cookie
        return try await c.execute(uri: uri, method: .post, headers: headers, body: formBody(pairs)) { r in
            (r.status, String(buffer: r.body), r.headers[.location])
        }
    }

    static func alarmForm(name: String, threshold: String, topic: String? = nil) -> [(String, String)] {
        var f = [("form", "1"), ("name", name), ("namespace", "ZStack/VM"), ("metricName", "CPUAverageUsedUtilization"),
                 ("labels", ""), ("comparisonOperator", "GreaterThanOrEqualTo"), ("threshold", threshold), ("period", "120"),
                 ("type", "Any"), ("repeatInterval", "1800"), ("repeatCount", "-1"), ("enableRecovery", "1"),
                 ("emergencyLevel", "Important"), ("enabled", "1")]
        if let topic { f.append(("actions", topic)) }
        return f
    }

    @Test func alarmsPageShowsFiringInstancesFirstThenRules() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        let rule = try await f.alarms.createAlarm(AlarmRule(uuid: "", name: "cpu-hot", namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization",
                                                            comparisonOperator: .greaterThan, threshold: 35, period: 60, emergencyLevel: .emergent), at: 0)
        _ = try await f.alarms.createAlarm(AlarmRule(uuid: "", name: "quiet", namespace: "ZStack/Host", metricName: "MemoryUsedInPercent",
                                                     comparisonOperator: .greaterThan, threshold: 99, period: 60, enabled: false), at: 0)
        let vm = f.vmUuids[1]
        try await f.alarms.commit(AlarmRoundCommit(states: [
            AlarmInstanceState(alarmUuid: rule.uuid, instanceKey: "VMUuid=\(vm)", labels: ["VMUuid": vm], status: .alarm,
                               since: AlarmWebFixture.now - 90_000, lastValue: 40),
        ], time: AlarmWebFixture.now))
        try await f.app.test(.router) { c in
            try await c.execute(uri: "/alarms", method: .get) { r in #expect(r.status == .seeOther) }
            let cookie = try await alarmFormLogin(c)
            let page = try await html(c, "/alarms", cookie: cookie)
            let firing = try #require(page.range(of: #"<table id="firing">"#))
            let rules = try #require(page.range(of: #"<table id="alarms">"#))
            #expect(firing.lowerBound < rules.lowerBound)
            let firingTable = String(page[firing.lowerBound..<rules.lowerBound])
            #expect(firingTable.contains("db-1"))  // the VM's name, not its uuid
            #expect(firingTable.contains(">40<"))
            #expect(firingTable.contains("1m 30s ago"))
            #expect(firingTable.contains("level-Emergent"))
            #expect(page.contains("href=\"/alarms/\(rule.uuid)/edit\">cpu-hot</a>"))
            #expect(page.contains(#"<td class="status status-Alarm">Alarm</td>"#))
            #expect(page.contains(#"<td class="state">Disabled</td>"#))
            #expect(page.contains(#"href="/alarms">Alarms</a>"#))  // nav link

            // Disable and delete through the page's forms.
            let (s1, _, _) = try await post(c, "/alarms/\(rule.uuid)/state", cookie: cookie, [("state", "disable")])
            #expect(s1 == .seeOther)
            #expect(try await f.alarms.alarm(uuid: rule.uuid).enabled == false)
            let (s2, _, _) = try await post(c, "/alarms/\(rule.uuid)/delete", cookie: cookie, [])
            #expect(s2 == .seeOther)
            #expect(try await f.alarms.alarms().map(\.name) == ["quiet"])
        }
    }

    @Test func formErrorsAreShownNextToTheNamedField() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        try await f.app.test(.router) { c in
            let cookie = try await alarmFormLogin(c)
            let (status, page, _) = try await post(c, "/alarms/new", cookie: cookie, Self.alarmForm(name: "x", threshold: "lots"))
            #expect(status == .badRequest)
            #expect(page.contains(#"id="form-error""#))
            #expect(page.contains("threshold: ") && page.contains("lots") && page.contains("is not a number"))
            #expect(page.contains(#"<span class="field-error" data-field="threshold">"#))
            #expect(page.contains(#"name="threshold" value="lots""#))  // the value typed is kept
            // The store's own validation too: an unknown metric name shape.
            var bad = Self.alarmForm(name: "x", threshold: "5")
            bad[3] = ("metricName", "not a metric!")
            let (s2, p2, _) = try await post(c, "/alarms/new", cookie: cookie, bad)
            #expect(s2 == .badRequest)
            #expect(p2.contains(#"data-field="metricName""#))
            var badLabels = Self.alarmForm(name: "x", threshold: "5")
            badLabels[4] = ("labels", "VMUuid~~x")
            let (s3, p3, _) = try await post(c, "/alarms/new", cookie: cookie, badLabels)
            #expect(s3 == .badRequest)
            #expect(p3.contains(#"data-field="labels""#))
            #expect(try await f.alarms.alarms().isEmpty)
        }
    }

    @Test func formCreatesAndEditsAlarms() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        let topic = try await f.alarms.createTopic(SNSTopic(uuid: "", name: "ops"), at: 0)
        try await f.app.test(.router) { c in
            let cookie = try await alarmFormLogin(c)
            var fields = Self.alarmForm(name: "web-cpu", threshold: "75", topic: topic.uuid)
            fields[4] = ("labels", "VMUuid=\(f.vmUuids[0])\nHostUuid!=nothing")
            let (status, _, location) = try await post(c, "/alarms/new", cookie: cookie, fields)
            #expect(status == .seeOther)
            #expect(location == "/alarms")
            let rule = try #require(try await f.alarms.alarms().first)
            #expect(rule.name == "web-cpu" && rule.threshold == 75 && rule.period == 120 && rule.actions == [topic.uuid])
            #expect(rule.labels == [AlarmLabel(key: "VMUuid", op: "=", value: f.vmUuids[0]), AlarmLabel(key: "HostUuid", op: "!=", value: "nothing")])

            let edit = try await html(c, "/alarms/\(rule.uuid)/edit", cookie: cookie)
            #expect(edit.contains(#"name="threshold" value="75""#))
            #expect(edit.contains("value=\"\(topic.uuid)\" checked"))
            // Unchecking everything and saving: no topics, recovery off.
            let changed = Self.alarmForm(name: "web-cpu", threshold: "85").filter { $0.0 != "enableRecovery" }
            let (s2, _, _) = try await post(c, "/alarms/\(rule.uuid)/edit", cookie: cookie, changed)
            #expect(s2 == .seeOther)
            let saved = try await f.alarms.alarm(uuid: rule.uuid)
            #expect(saved.threshold == 85 && saved.actions.isEmpty && !saved.enableRecovery && saved.labels.isEmpty)
            _ = try await html(c, "/alarms/nope/edit", cookie: cookie, status: .notFound)
        }
    }

    @Test func previewChartDrawsTheMatchingSeriesAndTheThresholdLine() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        try await f.app.test(.router) { c in
            let cookie = try await alarmFormLogin(c)
            // A GET with the form's fields re-renders the preview (no JavaScript needed).
            var query = Self.alarmForm(name: "p", threshold: "25") + [("range", "1")]
            let page = try await html(c, "/alarms/new?" + String(buffer: formBody(query)), cookie: cookie)
            #expect(page.contains(#"<svg class="chart""#))
            // Both VMs' series are drawn (values 10 and 40, percent axis 0…100).
            #expect(page.components(separatedBy: #"<path class="series series-"#).count - 1 == 2)
            #expect(page.contains("2 series match"))
            // The threshold: a dashed horizontal path at y(25) = top + plotH * (1 - 25/100).
            let top = 28.0, plotH = 240.0 - 28 - 44
            let y = String(format: "%.1f", top + plotH * (1 - 25.0 / 100))
            let line = try #require(page.range(of: #"<path class="threshold series-2" stroke-dasharray="6 4" d="M56.0 \#(y) L"#))
            #expect(page[line.upperBound...].prefix(20).contains(" \(y)\""))
            #expect(page.contains(#"name="threshold" value="25""#))

            // Labels narrow the series; one that matches nothing says so, the threshold line stays.
            query[4] = ("labels", "VMUuid=\(f.vmUuids[1])")
            let one = try await html(c, "/alarms/new?" + String(buffer: formBody(query)), cookie: cookie)
            #expect(one.components(separatedBy: #"<path class="series series-"#).count - 1 == 1)
            #expect(one.contains("db-1: 40.0%"))
            query[4] = ("labels", "VMUuid=nobody")
            let none = try await html(c, "/alarms/new?" + String(buffer: formBody(query)), cookie: cookie)
            #expect(none.contains(#"class="no-data""#))
            #expect(none.contains(#"<path class="threshold series-0""#))
            #expect(!none.contains(#"<circle class="point series-0""#))
        }
    }

    @Test func historyPageListsTransitionsWithFilters() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        let rule = try await f.alarms.createAlarm(AlarmRule(uuid: "", name: "cpu", namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization",
                                                            comparisonOperator: .greaterThan, threshold: 35, period: 60), at: 0)
        let (a, b) = (f.vmUuids[0], f.vmUuids[1])
        func entry(_ vm: String, _ to: AlarmStatus, _ dt: Int64) -> AlarmHistoryEntry {
            AlarmHistoryEntry(alarmUuid: rule.uuid, alarmName: "cpu", instanceKey: "VMUuid=\(vm)", labels: ["VMUuid": vm], resourceId: vm,
                              previousStatus: .insufficientData, currentStatus: to, value: 40, threshold: 35, emergencyLevel: .important,
                              time: AlarmWebFixture.now - dt, notified: false, suppressedBy: to == .alarm ? "silence:s1" : nil)
        }
        try await f.alarms.commit(AlarmRoundCommit(history: [entry(a, .ok, 60_000), entry(b, .alarm, 30_000)], time: AlarmWebFixture.now))
        try await f.app.test(.router) { c in
            let cookie = try await alarmFormLogin(c)
            let all = try await html(c, "/alarms/history", cookie: cookie)
            #expect(all.contains("web-1") && all.contains("db-1"))
            #expect(all.contains("no (silence:s1)"))
            #expect(all.contains("2 transitions"))
            #expect(!all.contains(#"<p class="error">"#))
            let onlyB = try await html(c, "/alarms/history?resourceId=\(b)", cookie: cookie)
            #expect(onlyB.contains("1 transitions") && onlyB.contains("db-1") && !onlyB.contains(">web-1<"))
            let onlyOK = try await html(c, "/alarms/history?status=OK", cookie: cookie)
            #expect(onlyOK.contains("1 transitions") && onlyOK.contains(">web-1<"))
            let badStatus = try await html(c, "/alarms/history?status=Burning", cookie: cookie)
            #expect(badStatus.contains(#"<p class="error">status: "#))
        }
    }

    @Test func endpointsPageCreatesSubscribesAndSendsATestNotification() async throws {
        let f = try await AlarmWebFixture.make()
        defer { f.cleanUp() }
        try await f.app.test(.router) { c in
            let cookie = try await alarmFormLogin(c)
            let (s1, _, _) = try await post(c, "/endpoints/topics", cookie: cookie, [("name", "ops")])
            #expect(s1 == .seeOther)
            let topic = try #require(try await f.alarms.topics().first)
            let (s2, _, _) = try await post(c, "/endpoints/http", cookie: cookie,
                                            [("name", "hook"), ("url", "http://127.0.0.1:9/hook"), ("secret", "k"), ("format", "ZStack"), ("topicUuid", topic.uuid)])
            #expect(s2 == .seeOther)
            let endpoint = try #require(try await f.alarms.endpoints().first)
            #expect(try await f.alarms.topics(ofEndpoint: endpoint.uuid) == [topic.uuid])
            let (bad, badPage, _) = try await post(c, "/endpoints/http", cookie: cookie, [("name", "x"), ("url", "nope")])
            #expect(bad == .badRequest)
            #expect(badPage.contains("url: "))

            let page = try await html(c, "/endpoints", cookie: cookie)
            #expect(page.contains(#"<td class="endpoint-name">hook</td>"#))
            #expect(page.contains("http://127.0.0.1:9/hook"))
            #expect(page.contains(#"class="send-test">Send test notification</button>"#))
            #expect(!page.contains(">k<"))
            #expect(!page.contains(#"id="form-error""#))
            #expect(!page.contains(#"id="test-status""#))

            let (s3, _, location) = try await post(c, "/endpoints/\(endpoint.uuid)/test", cookie: cookie, [])
            #expect(s3 == .seeOther)
            let to = try #require(location)
            #expect(to.hasPrefix("/endpoints?test="))
            let pending = try await html(c, String(to.split(separator: "#")[0]), cookie: cookie)
            #expect(pending.contains(#"id="test-status" data-status="Pending""#))
            #expect(pending.contains(#"http-equiv="refresh" content="2""#))
            #expect(pending.contains(#"<td class="num pending">1</td>"#))
            #expect(!pending.contains("last error:"))

            let entry = try #require(try await f.alarms.outbox(OutboxQuery()).first)
            try await f.alarms.markAttemptFailed(id: entry.id!, error: "connection refused", at: AlarmWebFixture.now,
                                                 nextAttemptAt: AlarmWebFixture.now, giveUp: true)
            let failed = try await html(c, String(to.split(separator: "#")[0]), cookie: cookie)
            #expect(failed.contains(#"data-status="Failed""#))
            #expect(failed.contains("last error: connection refused"))
            #expect(failed.contains(#"<td class="num failed">1</td>"#))
            #expect(!failed.contains(#"http-equiv="refresh""#))
        }
    }
}
