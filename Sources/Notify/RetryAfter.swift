import TimeSeries
import TextRendering

/// Reads an HTTP `Retry-After` value: delay-seconds (`120`) or an IMF-fixdate
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 9110 §10.2.3). Anything else is ignored (nil).
enum RetryAfter {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Milliseconds to wait from `now`; 0 for a date in the past.
    static func milliseconds(_ value: String, now: Timestamp) -> Int64? {
        let v = value.trimmingSpaces
        if let seconds = Int64(v), seconds >= 0 { return seconds > 86_400 * 365 ? nil : seconds * 1000 }
        // "Wed, 21 Oct 2015 07:28:00 GMT"
        let parts = v.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
            let day = Int64(parts[1]), let month = months.firstIndex(of: String(parts[2])), let year = Int64(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let h = Int64(clock[0]), let m = Int64(clock[1]), let s = Int64(clock[2]),
            (1...31).contains(day), (0..<24).contains(h), (0..<60).contains(m), (0...60).contains(s)
        else { return nil }
        let days = CivilDate.days(year: year, month: Int64(month + 1), day: day)
        let at = ((days * 24 + h) * 60 + m) * 60_000 + s * 1000
        return max(0, at - now)
    }
}
