@testable import TimeSeries

/// A deterministic generator (SplitMix64) so every run sees the same data.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normal() -> Double {
        let u1 = max(unit(), 1e-300), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

/// A store clock fixed at a time the test sets.
final class TestClock: @unchecked Sendable {
    var now: Timestamp
    init(_ now: Timestamp) { self.now = now }
    var function: @Sendable () -> Timestamp { { self.now } }
}

/// True when `estimate` is within relative error `alpha` of `exact` (with floating-point slack).
func withinRelativeError(_ estimate: Double, _ exact: Double, _ alpha: Double) -> Bool {
    if exact == 0 { return estimate == 0 }
    return abs(estimate - exact) <= alpha * abs(exact) * (1 + 1e-9) + 1e-300
}

#if canImport(Glibc)
import Glibc
#endif
