import Alarms
import Testing

/// The built-in alarm templates and their creation on a brand-new store.
@Suite struct EvaluatorBuiltInTests {
    @Test func templatesAreTheIssuesDefaultsWithStableUuids() {
        let t = BuiltInAlarms.templates()
        #expect(t.count == 5)
        #expect(Set(t.map(\.uuid)).count == 5)
        #expect(t.map(\.uuid) == BuiltInAlarms.templates(at: 42).map(\.uuid))
        for r in t {
            #expect(r.uuid.count == 32 && r.uuid.allSatisfy(\.isHexDigit))
            #expect(r.threshold == 80 && r.comparisonOperator == .greaterThanOrEqualTo && r.period == 300)
            #expect(r.repeatInterval == 1800 && r.emergencyLevel == .important && r.type == .any)
            #expect(r.enabled && r.builtIn)
        }
        #expect(Set(t.map { "\($0.namespace) \($0.metricName)" }) == [
            "ZStack/VM CPUAverageUsedUtilization", "ZStack/VM MemoryUsedInPercent",
            "ZStack/Host CPUAverageUsedUtilization", "ZStack/Host MemoryUsedInPercent",
            "ZStack/Host DiskUsedCapacityInPercent",
        ])
    }

    @Test func ensureCreatesThemOnceAndADeletedOneStaysDeleted() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        let created = try await BuiltInAlarms.ensure(in: store, at: 1_000)
        #expect(created.map(\.uuid) == BuiltInAlarms.templates().map(\.uuid))
        #expect(try await store.alarms().count == 5)
        #expect(try await BuiltInAlarms.ensure(in: store, at: 2_000).isEmpty)
        try await store.deleteAlarm(uuid: BuiltInAlarms.hostDiskUuid)
        #expect(try await BuiltInAlarms.ensure(in: store, at: 3_000).isEmpty)
        let left = try await store.alarms()
        #expect(left.count == 4 && !left.contains { $0.uuid == BuiltInAlarms.hostDiskUuid })
        #expect(left.allSatisfy { $0.builtIn && $0.createDate == 1_000 })
    }

    @Test func aStoreThatWasUsedGetsNoTemplates() async throws {
        let store = try SQLiteAlarmStore(path: nil)
        _ = try await store.createTopic(SNSTopic(uuid: "", name: "ops"), at: 1)
        #expect(try await BuiltInAlarms.ensure(in: store, at: 2).isEmpty)
        #expect(try await store.alarms().isEmpty)
    }
}
