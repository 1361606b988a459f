/// Decimal mantissas: a value `v` is "decimal at scale s" when some integer `m` with
/// `|m| <= 2^53` gives `Double(m) / 10^s == v` bit for bit. Then `v` is stored as `m`.
///
/// Because `Double(m)` and `10^s` (s <= 9) are exact and IEEE division rounds correctly, a value
/// decimal at scale s is also decimal at every larger scale whose mantissa stays within 2^53:
/// both divisions round the same rational. So a chunk's scale only ever grows.
enum DecimalScale {
    static let maxScale = 9
    /// 10^s as doubles (exact).
    static let pow10: [Double] = (0...maxScale).map { s in (0..<s).reduce(1.0) { x, _ in x * 10 } }
    /// 10^s as integers.
    static let pow10Int: [Int64] = (0...maxScale).map { s in (0..<s).reduce(Int64(1)) { x, _ in x * 10 } }
    /// Mantissas are limited to ±2^53 so that `Double(m)` is exact.
    static let maxMantissa: Int64 = 1 << 53

    /// The mantissa of `v` at `scale`, or nil when `v` is not decimal at that scale (NaN, ±Inf,
    /// -0.0, more decimals, too large).
    @inline(__always)
    static func mantissa(_ v: Double, scale: Int) -> Int64? {
        let x = v * pow10[scale]
        guard x.magnitude <= 9_007_199_254_740_992.0 else { return nil }   // 2^53; false for NaN
        let m = Int64(x.rounded())
        guard (Double(m) / pow10[scale]).bitPattern == v.bitPattern else { return nil }
        return m
    }

    /// The smallest scale `s >= from` at which `v` is decimal, with its mantissa.
    static func smallestScale(of v: Double, from: Int = 0) -> (scale: Int, mantissa: Int64)? {
        guard v.isFinite, from <= maxScale else { return nil }
        for s in from...maxScale {
            if let m = mantissa(v, scale: s) { return (s, m) }
        }
        return nil
    }

    /// The value of mantissa `m` at `scale`.
    @inline(__always)
    static func value(_ m: Int64, scale: Int) -> Double { Double(m) / pow10[scale] }

    /// The sum of `values`: exact (the correctly rounded decimal sum, as chunk headers store it)
    /// when every value is decimal at a common scale and the mantissa sum fits Int64, else the
    /// plain left-to-right floating-point sum.
    static func sum<C: Collection>(_ values: C) -> Double where C.Element == Double {
        var scale = 0
        var msum: Int64 = 0
        var exact = true
        for v in values {
            if let m = mantissa(v, scale: scale) {
                let (s, o) = msum.addingReportingOverflow(m)
                if o { exact = false; break }
                msum = s
            } else if let (s, m) = smallestScale(of: v, from: scale + 1) {
                let (scaled, o1) = msum.multipliedReportingOverflow(by: pow10Int[s - scale])
                let (total, o2) = scaled.addingReportingOverflow(m)
                if o1 || o2 { exact = false; break }
                msum = total
                scale = s
            } else {
                exact = false
                break
            }
        }
        if exact && !values.isEmpty { return value(msum, scale: scale) }
        var total = 0.0
        for v in values { total += v }
        return total
    }
}
