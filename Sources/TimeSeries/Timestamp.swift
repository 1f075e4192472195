/// Milliseconds since the Unix epoch, as Prometheus counts time.
public typealias Timestamp = Int64

/// A duration in milliseconds.
public typealias Milliseconds = Int64

extension Double {
    /// Prometheus's staleness marker: a NaN with a fixed payload that ends a series.
    public static let staleMarker = Double(bitPattern: 0x7ff0_0000_0000_0002)

    /// True for the exact staleness-marker NaN, not for other NaNs.
    @inlinable public var isStaleMarker: Bool { bitPattern == 0x7ff0_0000_0000_0002 }
}

/// Integer division rounding towards negative infinity, so slot indices are right before 1970 too.
@inlinable
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Remainder that is never negative for a positive divisor.
@inlinable
func floorMod(_ a: Int64, _ b: Int64) -> Int64 {
    let r = a % b
    return r < 0 ? r + b : r
}
