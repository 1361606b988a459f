import Alarms
import Foundation

/// Notices and endpoints shared by the sender tests.
enum SenderFixture {
    static let time: Int64 = 1_763_721_061_123  // 2025-11-21T10:31:01.123Z

    static func alarm(_ kind: AlarmNoticeKind = .firing, name: String = "cpu-high", value: Double? = 91.5,
                      labels: [String: String] = ["VMUuid": "vm-1", "HostUuid": "host-1"], time: Int64 = time) -> Notice {
        .alarm(AlarmNotice(
            kind: kind, alarmUuid: "alarm-\(name)", alarmName: name, namespace: "ZStack/VM", metricName: "CPUAverageUsedUtilization",
            threshold: 80, comparisonOperator: .greaterThanOrEqualTo, currentValue: value,
            instanceKey: labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
            labels: labels, resourceId: labels["VMUuid"] ?? "", previousStatus: kind == .recovery ? .alarm : (kind == .firing ? .ok : .alarm),
            currentStatus: kind == .recovery ? .ok : .alarm, emergencyLevel: .important, time: time, sequence: kind == .repeating ? 2 : 1))
    }

    static func event(time: Int64 = time) -> Notice {
        .event(EventNotice(subscriptionUuid: "sub-1", subscriptionName: "vm-state", namespace: "ZStack/VM", eventName: "VMStateChanged",
                           labels: ["VMUuid": "vm-2", "OldState": "Running", "NewState": "Stopped"], resourceId: "vm-2",
                           resourceType: "VmInstance", emergencyLevel: .normal, time: time, eventSequence: 42))
    }

    static func attempt(_ endpoint: SNSEndpoint, _ notices: [Notice]) -> DeliveryAttempt {
        DeliveryAttempt(endpoint: endpoint, notices: notices, idempotencyKeys: notices.map { OutboxEntry.key($0, endpointUuid: endpoint.uuid) })
    }

    static func http(_ url: String, username: String? = nil, password: String? = nil, secret: String? = nil,
                     format: HTTPEndpointConfig.Format = .zstack, template: String? = nil, recoveryTemplate: String? = nil) -> SNSEndpoint {
        SNSEndpoint(uuid: "ep-http", name: "webhook", config: .http(HTTPEndpointConfig(url: url, username: username, password: password,
                                                                                         secret: secret, format: format)),
                    template: template, recoveryTemplate: recoveryTemplate)
    }

    static func dingTalk(_ url: String, secret: String? = nil, atMobiles: [String] = [], atAll: Bool = false,
                         template: String? = nil) -> SNSEndpoint {
        SNSEndpoint(uuid: "ep-ding", name: "robot", config: .dingTalk(DingTalkEndpointConfig(url: url, secret: secret, atMobiles: atMobiles, atAll: atAll)),
                    template: template)
    }

    static func email(port: Int, security: EmailEndpointConfig.Security = .none, username: String? = nil, password: String? = nil,
                      recipients: [String] = ["ops@example.com", "oncall@example.org"], html: Bool = false) -> SNSEndpoint {
        SNSEndpoint(uuid: "ep-mail", name: "mail", config: .email(EmailEndpointConfig(
            smtpServer: "127.0.0.1", smtpPort: port, security: security, username: username, password: password,
            from: "Stratus Alarms <alarms@stratus.example>", recipients: recipients, html: html, insecureSkipVerify: true)))
    }
}
