import Foundation

/// The functions the PromQL subset knows, with their argument and result types.
enum PromQLFunction: String, Sendable, CaseIterable {
    // Range-vector functions.
    case rate, irate, increase, delta, idelta
    case avgOverTime = "avg_over_time", minOverTime = "min_over_time", maxOverTime = "max_over_time"
    case sumOverTime = "sum_over_time", countOverTime = "count_over_time", lastOverTime = "last_over_time"
    // Instant-vector math.
    case abs, ceil, floor, sqrt, exp, ln, log2, log10
    // Conversions and clock.
    case time, vector, scalar

    var argumentTypes: [PromQLType] {
        switch self {
        case .rate, .irate, .increase, .delta, .idelta, .avgOverTime, .minOverTime, .maxOverTime, .sumOverTime,
            .countOverTime, .lastOverTime:
            [.matrix]
        case .abs, .ceil, .floor, .sqrt, .exp, .ln, .log2, .log10, .scalar: [.vector]
        case .vector: [.scalar]
        case .time: []
        }
    }

    var returnType: PromQLType {
        switch self {
        case .time, .scalar: .scalar
        default: .vector
        }
    }

    /// The window aggregate a `*_over_time` function reads, which an `AggregatingStore` answers itself.
    var windowFunction: RangeFunction? {
        switch self {
        case .avgOverTime: .avg
        case .minOverTime: .min
        case .maxOverTime: .max
        case .sumOverTime: .sum
        case .countOverTime: .count
        case .lastOverTime: .last
        default: nil
        }
    }

    /// The per-sample function of an instant-vector math function.
    var mathFunction: (@Sendable (Double) -> Double)? {
        switch self {
        case .abs: { Swift.abs($0) }
        case .ceil: { Foundation.ceil($0) }
        case .floor: { Foundation.floor($0) }
        case .sqrt: { Foundation.sqrt($0) }
        case .exp: { Foundation.exp($0) }
        case .ln: { Foundation.log($0) }
        case .log2: { Foundation.log2($0) }
        case .log10: { Foundation.log10($0) }
        default: nil
        }
    }
}
