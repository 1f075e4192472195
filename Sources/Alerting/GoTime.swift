import TextRendering

/// Go's `time.Time.String()` (for UTC times) and `time.Duration.String()`, which templates print
/// for what `toTime`, `toDuration` and `humanizeTimestamp` return.
enum GoTime {
    /// `2006-01-02 15:04:05.999999999 +0000 UTC`: fractional seconds without trailing zeros, none when whole.
    static func string(nanoseconds ns: Int64) -> String {
        let (seconds, fraction) = ns.quotientAndRemainder(dividingBy: 1_000_000_000)
        let (s, nanos) = fraction < 0 ? (seconds - 1, fraction + 1_000_000_000) : (seconds, fraction)
        let (days, secondOfDay) = s.quotientAndRemainder(dividingBy: 86_400)
        let (day, sod) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        let (year, month, dayOfMonth) = CivilDate.from(days: day)
        var out = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(dayOfMonth, 2) + " "
        out += pad(sod / 3600, 2) + ":" + pad(sod / 60 % 60, 2) + ":" + pad(sod % 60, 2)
        if nanos != 0 {
            var digits = pad(nanos, 9)
            while digits.hasSuffix("0") { digits.removeLast() }
            out += "." + digits
        }
        return out + " +0000 UTC"
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let digits = String(v.magnitude)
        return (v < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `72h3m0.5s`, `1.5s`, `2ms`, `1µs`, `0s`, as Go writes a duration.
    static func durationString(_ d: Int64) -> String {
        if d == 0 { return "0s" }
        let negative = d < 0
        var u = d.magnitude
        var out: String
        if u < 1_000_000_000 {
            // Below a second: one unit, with a fraction.
            let (unit, scale): (String, UInt64) = u < 1000 ? ("ns", 1) : u < 1_000_000 ? ("µs", 1000) : ("ms", 1_000_000)
            out = fraction(u, scale) + unit
        } else {
            out = fraction(u % 60_000_000_000, 1_000_000_000) + "s"
            u /= 60_000_000_000
            if u > 0 {
                out = String(u % 60) + "m" + out
                u /= 60
                if u > 0 { out = String(u) + "h" + out }
            }
        }
        return (negative ? "-" : "") + out
    }

    /// `v / scale` with its fraction, trailing zeros dropped.
    static func fraction(_ v: UInt64, _ scale: UInt64) -> String {
        let whole = String(v / scale)
        guard scale > 1, v % scale != 0 else { return whole }
        var digits = String(v % scale)
        let width = String(scale).count - 1
        digits = String(repeating: "0", count: width - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return whole + "." + digits
    }
}

extension GoTime {
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    static let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// Go's `time.Time.Format(layout)` for a UTC time: the reference time's elements
    /// (`2006 01 02 15 04 05 Jan Monday MST -0700 .000 …`) replaced, everything else kept.
    static func format(nanoseconds ns: Int64, layout: String) -> String {
        let (seconds, fraction) = ns.quotientAndRemainder(dividingBy: 1_000_000_000)
        let (s, nanos) = fraction < 0 ? (seconds - 1, fraction + 1_000_000_000) : (seconds, fraction)
        let (days, secondOfDay) = s.quotientAndRemainder(dividingBy: 86_400)
        let (day, sod) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        let (year, month, dayOfMonth) = CivilDate.from(days: day)
        let weekday = Int(((day % 7) + 11) % 7)  // 1970-01-01 was a Thursday
        let yearStart = CivilDate.days(year: year, month: 1, day: 1)
        let yearDay = day - yearStart + 1
        let (hour, minute, second) = (sod / 3600, sod / 60 % 60, sod % 60)
        let b = Array(layout.utf8)
        var out = ""
        var i = 0
        func has(_ token: String) -> Bool {
            let t = Array(token.utf8)
            return i + t.count <= b.count && Array(b[i..<(i + t.count)]) == t
        }
        func take(_ token: String, _ value: String) -> Bool {
            guard has(token) else { return false }
            out += value
            i += token.utf8.count
            return true
        }
        while i < b.count {
            // Fractional seconds: `.000`/`,000` (fixed) or `.999` (trailing zeros dropped), after a digit-free position.
            if (b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",")), i + 1 < b.count, b[i + 1] == UInt8(ascii: "0") || b[i + 1] == UInt8(ascii: "9") {
                let digit = b[i + 1]
                var j = i + 1
                while j < b.count, b[j] == digit { j += 1 }
                if j == b.count || !(b[j] >= 0x30 && b[j] <= 0x39) {
                    let n = min(j - i - 1, 9)
                    var digits = String(pad(nanos, 9).prefix(n))
                    if digit == UInt8(ascii: "9") {
                        while digits.hasSuffix("0") { digits.removeLast() }
                        if !digits.isEmpty { out += "." + digits }
                    } else {
                        out += String(Character(Unicode.Scalar(b[i]))) + digits
                    }
                    i = j
                    continue
                }
            }
            if take("January", months[Int(month) - 1]) || take("Jan", String(months[Int(month) - 1].prefix(3)))
                || take("Monday", self.days[weekday]) || take("Mon", String(self.days[weekday].prefix(3)))
                || take("2006", pad(year, 4)) || take("MST", "UTC")
                || take("Z07:00", "Z") || take("Z0700", "Z") || take("Z07", "Z")
                || take("-07:00", "+00:00") || take("-0700", "+0000") || take("-07", "+00")
                || take("002", pad(yearDay, 3)) || take("__2", String(repeating: " ", count: max(0, 3 - String(yearDay).count)) + String(yearDay))
                || take("01", pad(month, 2)) || take("02", pad(dayOfMonth, 2)) || take("_2", (dayOfMonth < 10 ? " " : "") + String(dayOfMonth))
                || take("03", pad(hour % 12 == 0 ? 12 : hour % 12, 2)) || take("04", pad(minute, 2)) || take("05", pad(second, 2))
                || take("06", pad(year % 100, 2)) || take("15", pad(hour, 2))
                || take("PM", hour >= 12 ? "PM" : "AM") || take("pm", hour >= 12 ? "pm" : "am")
                || take("1", String(month)) || take("2", String(dayOfMonth)) || take("3", String(hour % 12 == 0 ? 12 : hour % 12))
                || take("4", String(minute)) || take("5", String(second)) {
                continue
            }
            out.unicodeScalars.append(Unicode.Scalar(b[i]))
            i += 1
        }
        return out
    }
}
