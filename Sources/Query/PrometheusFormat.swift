public import TimeSeries
import JSON

/// Number and time formatting exactly as Prometheus prints them, so that JSON output, label
/// values made by `count_values` and test messages compare equal to Prometheus's text.
public enum PrometheusFormat {
    /// Shortest decimal that reads back as `v`, in Go's `strconv.FormatFloat(v, 'f', -1, 64)` form
    /// (never an exponent); `NaN`, `+Inf`, `-Inf` for the special values.
    public static func float(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (negative, digits, point) = decompose(v)
        return (negative ? "-" : "") + fixed(digits, point)
    }

    /// A sample value as Prometheus's HTTP API writes it: fixed notation, except exponent notation
    /// below 1e-6 and from 1e21 on (`1e+21`, `1.5e-07`).
    public static func sampleValue(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let magnitude = abs(v)
        guard magnitude < 1e-6 || magnitude >= 1e21 else { return float(v) }
        let (negative, digits, point) = decompose(v)
        return (negative ? "-" : "") + GoFloat.exponent(digits, point)
    }

    /// Unix seconds with millisecond fraction, as the HTTP API writes timestamps (`1700000000.5` is
    /// written `1700000000.500`).
    public static func timestamp(_ t: Timestamp) -> String {
        let negative = t < 0
        let m = t.magnitude
        var out = negative ? "-" : ""
        out += String(m / 1000)
        let fraction = m % 1000
        if fraction != 0 {
            out += "."
            if fraction < 100 { out += "0" }
            if fraction < 10 { out += "0" }
            out += String(fraction)
        }
        return out
    }

    /// Digits of the shortest round-tripping representation and the position of the decimal point
    /// (value = 0.d1d2… × 10^point); Go's and Prometheus's number formats are built from these.
    public static func decompose(_ v: Double) -> (negative: Bool, digits: [UInt8], point: Int) { GoFloat.decompose(v) }

    static func fixed(_ digits: [UInt8], _ point: Int) -> String { GoFloat.fixed(digits, point) }
}
