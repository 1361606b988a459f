/// Per-device rate metrics (disks, NICs) and their `…All…` sums, shared by host and VM collection.
enum DeviceRates {
    /// How one counter of a device becomes metrics: `metric` per device, and `allMetric` (if any)
    /// summed over the devices that count toward the total.
    struct Field: Sendable {
        var counter: String
        var metric: String
        var allMetric: String?
        /// Multiplies the counter (sectors → bytes).
        var scale: Double = 1
    }

    /// One device's counters as read, by `Field.counter`.
    struct Device: Sendable, Equatable {
        var name: String
        var counters: [String: Double]
    }

    /// Emits, for each device and field with a delta this read, `metric` per second with label
    /// `deviceLabel` = the device name; then each `allMetric` as the sum over the devices for
    /// which `inTotal` holds and that have a delta for it this read (nothing when none has).
    /// Counters are keyed `<keyPrefix>:<device>:<counter>` in `rates`. With `rebaseOnly`, every
    /// counter is recorded as a new base and nothing is emitted.
    static func emit(_ devices: [Device], fields: [Field], deviceLabel: String, keyPrefix: String,
                     inTotal: (String) -> Bool = { _ in true }, rebaseOnly: Bool = false,
                     rates: inout CounterRates, now: Int64, into e: inout SampleEmitter) {
        var totals: [String: Double] = [:]
        for device in devices {
            for field in fields {
                guard let raw = device.counters[field.counter] else { continue }
                let key = "\(keyPrefix):\(device.name):\(field.counter)"
                let value = raw * field.scale
                if rebaseOnly {
                    rates.rebase(key, value, now: now)
                    continue
                }
                guard let d = rates.delta(key, value, now: now) else { continue }
                let perSecond = d.perSecond
                e.emit(field.metric, perSecond, [deviceLabel: device.name])
                if let all = field.allMetric, inTotal(device.name) { totals[all, default: 0] += perSecond }
            }
        }
        for field in fields {
            if let all = field.allMetric, let sum = totals[all] { e.emit(all, sum) }
        }
    }
}
