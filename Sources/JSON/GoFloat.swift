/// Go's shortest float formatting (`strconv.FormatFloat(v, 'f' or 'e', -1, 64)`), the one number
/// text behind our JSON numbers (`encoding/json`'s rules), Prometheus's sample values and
/// templates' `%v`: the shortest digits that read back to the same double, laid out as Go does.
public enum GoFloat {
    /// Digits of the shortest round-tripping representation and the position of the decimal point
    /// (value = 0.d1d2… × 10^point).
    public static func decompose(_ v: Double) -> (negative: Bool, digits: [UInt8], point: Int) {
        // Swift's description is the shortest round-tripping text too (Errol/Ryu-like); only its
        // layout differs from Go's, so it is taken apart here.
        var text = Array(abs(v).description.utf8)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            exponent = Int(String(decoding: text[(e + 1)...], as: UTF8.self)) ?? 0
            text = Array(text[..<e])
        }
        var digits: [UInt8] = []
        var point = 0
        var seenPoint = false
        for c in text {
            if c == UInt8(ascii: ".") {
                seenPoint = true
                continue
            }
            digits.append(c)
            if !seenPoint { point += 1 }
        }
        // Strip leading zeros (moving the point) and trailing zeros.
        while digits.count > 1, digits[0] == UInt8(ascii: "0") {
            digits.removeFirst()
            point -= 1
        }
        while digits.count > 1, digits[digits.count - 1] == UInt8(ascii: "0") { digits.removeLast() }
        return (v < 0, digits, point + exponent)
    }

    /// The digits in fixed notation (`'f'`): `123.45`, `0.001`, `1200`.
    public static func fixed(_ digits: [UInt8], _ point: Int) -> String {
        if point <= 0 {
            return "0." + String(repeating: "0", count: -point) + String(decoding: digits, as: UTF8.self)
        }
        if point >= digits.count {
            return String(decoding: digits, as: UTF8.self) + String(repeating: "0", count: point - digits.count)
        }
        return String(decoding: digits[..<point], as: UTF8.self) + "." + String(decoding: digits[point...], as: UTF8.self)
    }

    /// The digits in exponent notation (`'e'`): `1.5e-07`, `1e+21` (at least two exponent digits).
    public static func exponent(_ digits: [UInt8], _ point: Int) -> String {
        var out = String(decoding: digits[..<1], as: UTF8.self)
        if digits.count > 1 { out += "." + String(decoding: digits[1...], as: UTF8.self) }
        let e = point - 1
        out += e < 0 ? "e-" : "e+"
        out += abs(e) < 10 ? "0\(abs(e))" : "\(abs(e))"
        return out
    }

    /// `strconv.FormatFloat(v, 'e', -1, 64)`: `1e+00`, `-2.5e-07`, `NaN`, `+Inf`, `-Inf` (how
    /// Prometheus's `/api/v1/alerts` writes an alert's value).
    public static func exponentText(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == 0 { return v.sign == .minus ? "-0e+00" : "0e+00" }
        let (negative, digits, point) = decompose(v)
        return (negative ? "-" : "") + exponent(digits, point)
    }

    /// A number as Go's `encoding/json` writes a float64: fixed notation, exponent notation below
    /// 1e-6 and from 1e21 on with `e-07` shortened to `e-7`; integers without a fraction
    /// (`1`, `0.25`, `1e-7`, `1e+21`, `10000000000000000`). NaN and infinities, which JSON cannot
    /// carry (Go refuses them), as `null`.
    public static func json(_ v: Double) -> String {
        guard v.isFinite else { return "null" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (negative, digits, point) = decompose(v)
        let magnitude = abs(v)
        guard magnitude < 1e-6 || magnitude >= 1e21 else { return (negative ? "-" : "") + fixed(digits, point) }
        var s = Array(((negative ? "-" : "") + exponent(digits, point)).utf8)
        let n = s.count
        if n >= 4, s[n - 4] == UInt8(ascii: "e"), s[n - 3] == UInt8(ascii: "-"), s[n - 2] == UInt8(ascii: "0") {
            s[n - 2] = s[n - 1]
            s.removeLast()
        }
        return String(decoding: s, as: UTF8.self)
    }
}
