#if canImport(Glibc)
public import Glibc
#elseif canImport(Darwin)
public import Darwin
#endif

/// Maps positive values to logarithmic bucket indices with a guaranteed relative error.
///
/// Bucket `i` covers `(γ^(i-1), γ^i]` with `γ = (1 + α) / (1 − α)`; its representative value
/// `2γ^i / (γ + 1)` is within `α` of every value in the bucket (DDSketch, Masson et al. 2019).
public struct SketchMapping: Hashable, Sendable {
    /// The relative accuracy α.
    public let relativeAccuracy: Double
    /// γ, the ratio between consecutive bucket bounds.
    public let gamma: Double
    @usableFromInline let multiplier: Double
    /// Values below this magnitude count as zero (their index would not fit an `Int32`).
    public let minIndexableValue: Double

    /// A mapping with relative accuracy `alpha`, 0 < α < 1.
    public init(relativeAccuracy alpha: Double = 0.01) {
        precondition(alpha > 0 && alpha < 1, "relative accuracy must be in (0, 1)")
        relativeAccuracy = alpha
        gamma = (1 + alpha) / (1 - alpha)
        multiplier = 1 / log(gamma)
        // Keep indices well inside Int32 and values above the smallest normal double.
        minIndexableValue = max(exp((Double(Int32.min) + 2) / multiplier), Double.leastNormalMagnitude * gamma)
    }

    /// The bucket index of a positive value `v ≥ minIndexableValue`.
    @inlinable @inline(__always)
    public func index(of v: Double) -> Int32 {
        let x = log(v) * multiplier
        // Huge values saturate into the top bucket rather than trap.
        guard x < Double(Int32.max) else { return Int32.max }
        // ⌈x⌉ without a call to ceil (x86-64's baseline has no rounding instruction): truncation
        // is ⌈x⌉ for x ≤ 0 and ⌊x⌋ for x > 0, one less than ⌈x⌉ unless x is whole.
        let t = Int32(x)
        return Double(t) < x ? t + 1 : t
    }

    /// The representative value of bucket `i`.
    @inlinable
    public func value(at i: Int32) -> Double {
        2 * exp(Double(i) / multiplier) / (gamma + 1)
    }
}

/// Where one value goes in a sketch: its sign and, for a non-zero magnitude, its bucket index.
///
/// Computed once per observation (one logarithm) and applied to every ring of a series.
struct SketchBucket {
    /// −1, 0 (a magnitude below `minIndexableValue`) or +1.
    let sign: Int8
    let index: Int32

    @inline(__always)
    init(of v: Double, mapping: SketchMapping) {
        let magnitude = Swift.abs(v)
        if magnitude < mapping.minIndexableValue {
            sign = 0
            index = 0
        } else {
            sign = v > 0 ? 1 : -1
            index = mapping.index(of: magnitude)
        }
    }
}
