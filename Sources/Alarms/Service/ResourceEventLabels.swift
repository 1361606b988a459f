import Control

/// How a resource event looks to event subscriptions: its ZWatch namespace and labels. Pure.
///
/// | resourceType | namespace | labels |
/// |---|---|---|
/// | `VmInstance` | `ZStack/VM` | `VMUuid`, `OldState`/`NewState` (from old/new), `HostUuid` when known |
/// | `Host` | `ZStack/Host` | `HostUuid`, `OldStatus`/`NewStatus` |
/// | other | `ZStack/<type>` | `ResourceUuid`, `OldValue`/`NewValue` |
///
/// Every event also gets `EventName`. Special cases: `VmCrash` (old = state before, new = libvirt's
/// reason) → `OldState`, `NewState=Crashed`, `CrashReason`; `HostChanged` (old/new = host uuids) →
/// `OldHostUuid`, `NewHostUuid`, and `HostUuid` = the new host.
public enum ResourceEventLabels {
    /// `ZStack/VM` for `VmInstance`, `ZStack/Host` for `Host`, else `ZStack/<resourceType>`.
    public static func namespace(of event: ResourceEvent) -> String {
        switch event.resourceType {
        case "VmInstance": "ZStack/VM"
        case "Host": "ZStack/Host"
        default: "ZStack/\(event.resourceType)"
        }
    }

    /// The labels of `event`; `vmHost` is the VM's host when the caller knows it (added as `HostUuid`).
    public static func labels(of event: ResourceEvent, vmHost: String? = nil) -> [String: String] {
        var l: [String: String] = ["EventName": event.eventType]
        func put(_ key: String, _ value: String?) { if let value { l[key] = value } }
        switch event.resourceType {
        case "VmInstance":
            l["VMUuid"] = event.resourceUuid
            put("HostUuid", vmHost)
            switch event.eventType {
            case ResourceEvent.EventType.vmCrash:
                put("OldState", event.oldValue)
                l["NewState"] = VMState.crashed.rawValue
                put("CrashReason", event.newValue)
            case ResourceEvent.EventType.hostChanged:
                put("OldHostUuid", event.oldValue)
                put("NewHostUuid", event.newValue)
                put("HostUuid", event.newValue)
            default:
                put("OldState", event.oldValue)
                put("NewState", event.newValue)
            }
        case "Host":
            l["HostUuid"] = event.resourceUuid
            put("OldStatus", event.oldValue)
            put("NewStatus", event.newValue)
        default:
            l["ResourceUuid"] = event.resourceUuid
            put("OldValue", event.oldValue)
            put("NewValue", event.newValue)
        }
        return l
    }

    /// The labels silences see for an event notice: the event labels plus `eventName`, `namespace`,
    /// `emergencyLevel`, `subscriptionUuid` and `subscriptionName`.
    public static func silenceLabels(_ labels: [String: String], subscription: EventSubscription) -> [String: String] {
        var l = labels
        l["eventName"] = subscription.eventName
        l["namespace"] = subscription.namespace
        l["emergencyLevel"] = subscription.emergencyLevel.rawValue
        l["subscriptionUuid"] = subscription.uuid
        l["subscriptionName"] = subscription.name
        return l
    }
}
