/// Int64s as RFC 3339 text in UTC, the way Go's `time.Time` marshals them
/// (`2024-05-01T12:00:00.5Z`: fraction only when non-zero, trailing zeros dropped), and read back
/// as Go's `time.Parse(time.RFC3339Nano, …)` reads them. The one date format of the agent: API
/// parameters, notification payloads, state files, the CLI's tables (no `ISO8601DateFormatter`, which
/// needs full Foundation).
public enum RFC3339 {
    /// Go's zero `time.Time`, which Alertmanager's webhook sends as `endsAt` of a firing alert.
    public static let zero = "0001-01-01T00:00:00Z"

    /// `ms` (milliseconds since the epoch) as RFC 3339 in UTC.
    public static func format(_ ms: Int64) -> String {
        let days = floorDiv(ms, 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = CivilDate.from(days: days)
        let seconds = msOfDay / 1000, fraction = msOfDay % 1000
        var s = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(seconds / 3600, 2) + ":"
            + pad(seconds / 60 % 60, 2) + ":" + pad(seconds % 60, 2)
        if fraction != 0 {
            var f = pad(fraction, 3)
            while f.hasSuffix("0") { f.removeLast() }
            s += "." + f
        }
        return s + "Z"
    }

    /// `ms` as RFC 3339 in UTC with exactly three fraction digits (`2024-05-01T12:00:00.000Z`), as
    /// go-openapi's `strfmt.DateTime` marshals times in Alertmanager's API.
    public static func formatMillis(_ ms: Int64) -> String {
        let fraction = ms - floorDiv(ms, 1000) * 1000
        return String(format(ms - fraction).dropLast()) + "." + pad(fraction, 3) + "Z"
    }

    /// Milliseconds since the epoch of `2024-05-01T12:00:00.123456789+02:00` (sub-millisecond
    /// digits truncated, as Prometheus's `timestamp.FromTime`); nil unless it is exactly that shape
    /// with a four-digit year and every field in range (Go refuses the rest too).
    public static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ digits: Int) -> Int64? {
            guard i + digits <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<digits {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += digits
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2), expect(84),
              let hour = number(2), expect(58), let minute = number(2), expect(58), let second = number(2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { return nil }
        var ms: Int64 = 0
        if i < b.count && b[i] == 46 {
            i += 1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
            let digits = i - start
            guard digits >= 1, digits <= 9 else { return nil }
            for k in 0..<3 { ms = ms * 10 + (k < digits ? Int64(b[start + k] - 48) : 0) }
        }
        var offset: Int64 = 0
        if expect(90) {
            // UTC
        } else if i < b.count, b[i] == 43 || b[i] == 45 {
            let sign: Int64 = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = number(2), expect(58), let om = number(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let seconds = CivilDate.days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return seconds * 1000 + ms
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
