/// rate/increase/delta and irate/idelta over one window, as Prometheus' `extrapolatedRate` and
/// `instantValue` (promql/functions.go) compute them. Times in ms, rates per second.
enum PromQLRate {
    /// `increase`/`rate` (`isCounter`) or `delta`: the change over the window, corrected for counter
    /// resets and extrapolated towards the window's edges; nil with fewer than two points.
    static func extrapolated(
        _ points: ArraySlice<Point>, rangeStart: Int64, rangeEnd: Int64, range: Int64, isCounter: Bool, isRate: Bool
    ) -> Double? {
        guard points.count >= 2, let first = points.first, let last = points.last else { return nil }
        var result = last.value - first.value
        if isCounter {
            var previous = first.value
            for p in points.dropFirst() {
                if p.value < previous { result += previous }
                previous = p.value
            }
        }
        var durationToStart = Double(first.timestamp - rangeStart) / 1000
        var durationToEnd = Double(rangeEnd - last.timestamp) / 1000
        let sampledInterval = Double(last.timestamp - first.timestamp) / 1000
        let averageBetweenSamples = sampledInterval / Double(points.count - 1)
        // Extrapolate to an edge only when a sample is missing there by at most 10% more than the
        // average spacing; else assume the series starts/ends half a spacing beyond its samples.
        let threshold = averageBetweenSamples * 1.1
        var extrapolateTo = sampledInterval
        if durationToStart >= threshold { durationToStart = averageBetweenSamples / 2 }
        if isCounter && result > 0 && first.value >= 0 {
            // A counter does not go below zero: do not extrapolate past where it would be zero.
            let durationToZero = sampledInterval * (first.value / result)
            if durationToZero < durationToStart { durationToStart = durationToZero }
        }
        extrapolateTo += durationToStart
        if durationToEnd >= threshold { durationToEnd = averageBetweenSamples / 2 }
        extrapolateTo += durationToEnd
        var factor = extrapolateTo / sampledInterval
        if isRate { factor /= Double(range) / 1000 }
        return result * factor
    }

    /// `irate` (`isRate`, a drop counts as a reset) or `idelta`: from the last two points of the window.
    static func instant(_ points: ArraySlice<Point>, isRate: Bool) -> Double? {
        guard points.count >= 2 else { return nil }
        let last = points[points.endIndex - 1]
        let previous = points[points.endIndex - 2]
        var result = isRate && last.value < previous.value ? last.value : last.value - previous.value
        let interval = last.timestamp - previous.timestamp
        guard interval != 0 else { return nil }
        if isRate { result /= Double(interval) / 1000 }
        return result
    }
}
