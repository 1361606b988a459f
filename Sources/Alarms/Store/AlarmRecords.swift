import Foundation
import GRDB

// Internal GRDB records, one per table. Each wraps a public model value and delegates its
// Codable conformance to it, so the columns are exactly the model's property names and nested
// arrays / dictionaries / enums-with-payload become JSON text (GRDB's rule for nested containers).

struct AlarmRuleRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "alarm"
    var value: AlarmRule
    init(_ value: AlarmRule) { self.value = value }
    init(from decoder: any Decoder) throws { value = try AlarmRule(from: decoder) }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

struct TopicRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "sns_topic"
    var value: SNSTopic
    init(_ value: SNSTopic) { self.value = value }
    init(from decoder: any Decoder) throws { value = try SNSTopic(from: decoder) }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

struct EndpointRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "sns_endpoint"
    private enum Extra: String, CodingKey { case type }
    var value: SNSEndpoint
    init(_ value: SNSEndpoint) { self.value = value }
    init(from decoder: any Decoder) throws { value = try SNSEndpoint(from: decoder) }
    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
        var c = encoder.container(keyedBy: Extra.self)
        try c.encode(value.type, forKey: .type)
    }
}

struct SubscriptionRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "topic_subscription"
    var endpointUuid: String
    var topicUuid: String
}

struct EventSubscriptionRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "event_subscription"
    var value: EventSubscription
    init(_ value: EventSubscription) { self.value = value }
    init(from decoder: any Decoder) throws { value = try EventSubscription(from: decoder) }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

struct SilenceRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "silence"
    var value: Silence
    init(_ value: Silence) { self.value = value }
    init(from decoder: any Decoder) throws { value = try Silence(from: decoder) }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

struct HistoryRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "alarm_history"
    var value: AlarmHistoryEntry
    init(from decoder: any Decoder) throws { value = try AlarmHistoryEntry(from: decoder) }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

struct OutboxRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "outbox"
    var value: OutboxEntry
    init(from decoder: any Decoder) throws { value = try OutboxEntry(from: decoder) }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

/// Hand-written JSON for the hot path of `commit` (JSONEncoder costs microseconds per call, and a
/// round may write 100,000 label sets). Output is plain JSON that `JSONDecoder` reads back.
enum FastJSON {
    /// `{"k":"v",…}` with keys sorted.
    static func object(_ d: [String: String]) -> String {
        if d.isEmpty { return "{}" }
        var out = "{"
        out.reserveCapacity(d.count * 48)
        var first = true
        for k in d.keys.sorted() {
            if !first { out.append(",") }
            first = false
            appendString(k, to: &out)
            out.append(":")
            appendString(d[k]!, to: &out)
        }
        out.append("}")
        return out
    }

    static func appendString(_ s: String, to out: inout String) {
        out.append("\"")
        var needsEscape = false
        for u in s.utf8 where u < 0x20 || u == 0x22 || u == 0x5C { needsEscape = true; break }
        if !needsEscape {
            out.append(s)
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out.append("\\\"")
                case "\\": out.append("\\\\")
                case "\n": out.append("\\n")
                case "\r": out.append("\\r")
                case "\t": out.append("\\t")
                default:
                    if scalar.value < 0x20 {
                        let hex = String(scalar.value, radix: 16)
                        out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
        }
        out.append("\"")
    }
}
