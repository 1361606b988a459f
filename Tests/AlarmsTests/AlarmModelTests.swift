import Alarms
import Foundation
import Testing

@Suite struct AlarmModelTests {
    @Test func operatorsCompareAtTheBoundaryAsTheirNamesSay() {
        #expect(ComparisonOperator.greaterThanOrEqualTo.breaches(80, threshold: 80))
        #expect(!ComparisonOperator.greaterThan.breaches(80, threshold: 80))
        #expect(ComparisonOperator.lessThanOrEqualTo.breaches(80, threshold: 80))
        #expect(!ComparisonOperator.lessThan.breaches(80, threshold: 80))
        for op in ComparisonOperator.allCases { #expect(!op.breaches(.nan, threshold: 80)) }
    }

    @Test func aBadLabelOperatorNamesTheLabelAndTheChoices() {
        #expect(throws: AlarmValidationError.self) { try AlarmLabel(key: "VMUuid", op: "==", value: "x").matcher() }
        do {
            _ = try AlarmLabel(key: "VMUuid", op: "==", value: "x").matcher()
        } catch {
            #expect(error.description.contains("VMUuid") && error.description.contains("=~"))
        }
        #expect(throws: AlarmValidationError.self) { try AlarmLabel(key: "VMUuid", op: "=~", value: "(").matcher() }
    }

    @Test func noticesRoundTripThroughJSONAndKeepTheirKeys() throws {
        let notice = Notice.alarm(AlarmNotice(
            kind: .firing, alarmUuid: "a1", alarmName: "cpu", namespace: "ZStack/VM", metricName: "CPUUsedUtilization",
            threshold: 80, comparisonOperator: .greaterThanOrEqualTo, currentValue: 91.5, instanceKey: "VMUuid=v1",
            labels: ["VMUuid": "v1"], resourceId: "v1", previousStatus: .ok, currentStatus: .alarm,
            emergencyLevel: .important, time: 1_700_000_000_000, sequence: 1))
        let back = try JSONDecoder().decode(Notice.self, from: JSONEncoder().encode(notice))
        #expect(back == notice)
        #expect(OutboxEntry.key(back, endpointUuid: "e1") == "alarm:a1:VMUuid=v1:Firing:1700000000000@e1")
    }
}
