import Alarms
import Foundation

/// A temporary directory removed on deinit, and fixtures for the alarm store tests.
final class AlarmStoreTempDir: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("alarmstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var dbPath: String { url.appendingPathComponent("alarms.sqlite").path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

enum AlarmStoreFixtures {
    static func rule(_ name: String = "cpu high", actions: [String] = [], uuid: String = "") -> AlarmRule {
        AlarmRule(uuid: uuid, name: name, namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization",
                  labels: [AlarmLabel(key: "VMUuid", op: "=~", value: "a.*")], comparisonOperator: .greaterThanOrEqualTo,
                  threshold: 80, period: 300, actions: actions)
    }

    static func http(_ name: String = "hook", url: String = "http://127.0.0.1:9/hook") -> SNSEndpoint {
        SNSEndpoint(uuid: "", name: name, config: .http(HTTPEndpointConfig(url: url)))
    }

    static func email(recipients: [String] = ["ops@example.com"]) -> SNSEndpoint {
        SNSEndpoint(uuid: "", name: "mail", config: .email(EmailEndpointConfig(
            smtpServer: "127.0.0.1", smtpPort: 2525, from: "alarms@example.com", recipients: recipients)))
    }

    static func alarmNotice(alarmUuid: String = "a1", key: String = "VMUuid=v1", time: Int64 = 1_000, sequence: Int = 1) -> Notice {
        .alarm(AlarmNotice(kind: .firing, alarmUuid: alarmUuid, alarmName: "cpu high", namespace: "ZStack/VM",
                           metricName: "CPUAverageUsedUtilization", threshold: 80, comparisonOperator: .greaterThanOrEqualTo,
                           currentValue: 95, instanceKey: key, labels: ["VMUuid": "v1"], resourceId: "v1",
                           previousStatus: .ok, currentStatus: .alarm, emergencyLevel: .important, time: time, sequence: sequence))
    }
}
