/// Parses a JSON number from bytes without allocating in the common case.
///
/// Fast path (Clinger): up to 19 significant digits whose value fits in 53 bits, scaled by a power
/// of ten of at most 22, is exact in one floating-point multiplication or division — that covers
/// every latency, size and status code a log writes. Anything else (more digits, a large exponent)
/// falls back to the standard library's correctly rounded conversion.
enum JSONFieldNumberParser {
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The value of `count` bytes that form exactly one JSON number, or nil when they do not.
    static func parse(_ s: UnsafePointer<UInt8>, count: Int) -> Double? {
        if count <= 21, let value = parsePlain(s, count: count) { return value }
        return parseAny(s, count: count)
    }

    /// A plain decimal, `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with at most 19 digits (latencies, sizes,
    /// status codes): one pass over the bytes with no exit but the end, then one exact division.
    /// Nil for anything else (exponents, more digits, invalid bytes), which `parseAny` decides.
    @inline(__always)
    static func parsePlain(_ s: UnsafePointer<UInt8>, count: Int) -> Double? {
        guard count > 0 else { return nil }
        let negative = s[0] == UInt8(ascii: "-")
        let first = negative ? 1 : 0
        var mantissa: UInt64 = 0
        var dot = -1
        var bad = false
        var i = first
        while i < count {
            let c = s[i]
            let d = c &- UInt8(ascii: "0")
            if d < 10 {
                mantissa = mantissa &* 10 &+ UInt64(d)
            } else if c == UInt8(ascii: "."), dot < 0 {
                dot = i
            } else {
                bad = true
            }
            i += 1
        }
        let digits = count - first - (dot >= 0 ? 1 : 0)
        guard !bad, digits >= 1, digits <= 19, dot != first, dot != count - 1 else { return nil }
        // No leading zero before other integer digits ("01"); "0" and "0.5" are fine.
        guard s[first] != UInt8(ascii: "0") || count - first == 1 || dot == first + 1 else { return nil }
        guard mantissa <= 1 << 53 else { return nil }
        let m = Double(mantissa)
        // At most 18 fraction digits: 10^k is exact and so is the correctly rounded quotient.
        let value = dot < 0 ? m : m / powersOfTen[count - 1 - dot]
        return negative ? -value : value
    }

    /// Any JSON number: Clinger's fast path, else the standard library's conversion.
    static func parseAny(_ s: UnsafePointer<UInt8>, count: Int) -> Double? {
        var i = 0
        guard count > 0 else { return nil }
        let negative = s[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        guard i < count else { return nil }

        var mantissa: UInt64 = 0
        var digits = 0  // significant digits taken into the mantissa
        var exponent = 0
        var inexact = false

        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

        if s[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            guard isDigit(s[i]) else { return nil }
            while i < count, isDigit(s[i]) {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(s[i] &- UInt8(ascii: "0"))
                    digits += 1
                } else {
                    exponent += 1
                    inexact = true
                }
                i += 1
            }
        }
        if i < count, s[i] == UInt8(ascii: ".") {
            i += 1
            guard i < count, isDigit(s[i]) else { return nil }
            while i < count, isDigit(s[i]) {
                let d = s[i] &- UInt8(ascii: "0")
                if mantissa == 0, d == 0 {
                    exponent -= 1  // leading zeros of a fraction are not significant
                } else if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    digits += 1
                    exponent -= 1
                } else {
                    inexact = true
                }
                i += 1
            }
        }
        if i < count, s[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            guard i < count else { return nil }
            var exponentNegative = false
            if s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") {
                exponentNegative = s[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < count, isDigit(s[i]) else { return nil }
            var e = 0
            while i < count, isDigit(s[i]) {
                if e < 100_000 { e = e * 10 + Int(s[i] &- UInt8(ascii: "0")) }
                i += 1
            }
            exponent += exponentNegative ? -e : e
        }
        guard i == count else { return nil }

        if mantissa == 0 && !inexact { return negative ? -0.0 : 0.0 }
        if !inexact, mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            let m = Double(mantissa)
            let value = exponent < 0 ? m / powersOfTen[-exponent] : m * powersOfTen[exponent]
            return negative ? -value : value
        }
        return Double(String(decoding: UnsafeBufferPointer(start: s, count: count), as: UTF8.self))
    }
}
