// Number parsing for exposition values and timestamps, on bytes and without allocating.
//
// Values take Clinger's fast path: a decimal with at most 19 significant digits whose mantissa fits
// in 2^53 and whose power of ten is within ±22 is one exact integer conversion and one correctly
// rounded multiplication or division, so the result is the correctly rounded double. That covers
// nearly every value exporters write (`1.7062912e+07`, `0.000123`, `42`); the rest (long mantissas,
// large exponents, hex floats, NaN/Inf spellings) go through the standard library's parser.

/// The double a value token spells, or nil when it is not a number. NaNs come back canonical.
@inline(__always)
func parseExpositionDouble(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
    var i = start
    guard i < end else { return nil }
    var negative = false
    if p[i] == UInt8(ascii: "-") {
        negative = true
        i += 1
    } else if p[i] == UInt8(ascii: "+") {
        i += 1
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var exp10 = 0
    var sawDigit = false
    var inexact = false
    while i < end {
        let d = p[i] &- UInt8(ascii: "0")
        guard d < 10 else { break }
        sawDigit = true
        if digits < 19 {
            if mantissa != 0 || d != 0 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                digits += 1
            }
        } else {
            exp10 += 1
            if d != 0 { inexact = true }
        }
        i += 1
    }
    if i < end && p[i] == UInt8(ascii: ".") {
        i += 1
        while i < end {
            let d = p[i] &- UInt8(ascii: "0")
            guard d < 10 else { break }
            sawDigit = true
            if digits < 19 {
                if mantissa != 0 || d != 0 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    digits += 1
                }
                exp10 -= 1
            } else if d != 0 {
                inexact = true
            }
            i += 1
        }
    }
    guard sawDigit else { return parseDoubleSlowly(p, start, end) }
    if i < end && (p[i] | 0x20) == UInt8(ascii: "e") {
        i += 1
        var expNegative = false
        if i < end && (p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+")) {
            expNegative = p[i] == UInt8(ascii: "-")
            i += 1
        }
        var e = 0
        var expDigits = 0
        while i < end {
            let d = p[i] &- UInt8(ascii: "0")
            guard d < 10 else { break }
            if e < 100_000 { e = e * 10 + Int(d) }
            expDigits += 1
            i += 1
        }
        guard expDigits > 0 else { return parseDoubleSlowly(p, start, end) }
        exp10 += expNegative ? -e : e
    }
    guard i == end else { return parseDoubleSlowly(p, start, end) }
    if mantissa == 0 { return negative ? -0.0 : 0.0 }
    guard !inexact, mantissa <= 1 << 53, exp10 >= -22, exp10 <= 22 else {
        return parseDoubleSlowly(p, start, end)
    }
    var v = Double(mantissa)
    if exp10 > 0 {
        v *= powerOfTen(exp10)
    } else if exp10 < 0 {
        v /= powerOfTen(-exp10)
    }
    return negative ? -v : v
}

/// 10^e for 0 ≤ e ≤ 22, all exact in a double.
@inline(__always)
func powerOfTen(_ e: Int) -> Double {
    switch e {
    case 0: 1e0
    case 1: 1e1
    case 2: 1e2
    case 3: 1e3
    case 4: 1e4
    case 5: 1e5
    case 6: 1e6
    case 7: 1e7
    case 8: 1e8
    case 9: 1e9
    case 10: 1e10
    case 11: 1e11
    case 12: 1e12
    case 13: 1e13
    case 14: 1e14
    case 15: 1e15
    case 16: 1e16
    case 17: 1e17
    case 18: 1e18
    case 19: 1e19
    case 20: 1e20
    case 21: 1e21
    default: 1e22
    }
}

/// The standard library's parser for what the fast path does not take, with Go's `ParseFloat`
/// limits: no blanks, no NaN payloads (`nan(…)`, `snan`), NaN made canonical.
@inline(never)
func parseDoubleSlowly(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
    guard end > start, end - start <= 1024 else { return nil }
    for i in start..<end {
        let c = p[i]
        if c <= 0x20 || c >= 0x7F || c == UInt8(ascii: "(") || c == UInt8(ascii: "_") { return nil }
    }
    let text = String(decoding: UnsafeBufferPointer(start: p + start, count: end - start), as: UTF8.self)
    if text.lowercased().hasSuffix("snan") { return nil }
    guard let v = Double(text) else { return nil }
    return v.isNaN ? Double.nan : v
}

/// A non-negative decimal integer of at most 19 digits (the text format's millisecond timestamps).
@inline(__always)
func parseInteger(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
    guard end > start else { return nil }
    var v: Int64 = 0
    for i in start..<end {
        let d = p[i] &- UInt8(ascii: "0")
        guard d < 10 else { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int64(d))
        if o1 || o2 { return nil }
        v = a
    }
    return v
}

/// `[-]digits[.digits]` seconds as milliseconds, exactly (digits past the millisecond truncated
/// toward zero, as Prometheus's `int64(ts*1000)` does); nil for other spellings.
@inline(__always)
func parseDecimalSecondsAsMilliseconds(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
    var i = start
    guard i < end else { return nil }
    var negative = false
    if p[i] == UInt8(ascii: "-") {
        negative = true
        i += 1
    } else if p[i] == UInt8(ascii: "+") {
        i += 1
    }
    var seconds: Int64 = 0
    var sawDigit = false
    while i < end {
        let d = p[i] &- UInt8(ascii: "0")
        guard d < 10 else { break }
        sawDigit = true
        guard seconds < 9_000_000_000_000_000 / 10_000 else { return nil }
        seconds = seconds * 10 + Int64(d)
        i += 1
    }
    var millis: Int64 = 0
    if i < end && p[i] == UInt8(ascii: ".") {
        i += 1
        var fractionDigits = 0
        while i < end {
            let d = p[i] &- UInt8(ascii: "0")
            guard d < 10 else { break }
            sawDigit = true
            if fractionDigits < 3 {
                millis = millis * 10 + Int64(d)
                fractionDigits += 1
            }
            i += 1
        }
        while fractionDigits < 3 {
            millis *= 10
            fractionDigits += 1
        }
    }
    guard sawDigit, i == end else { return nil }
    let ms = seconds * 1000 + millis
    return negative ? -ms : ms
}
