/// Reads a log line's time, in milliseconds since the epoch, from bytes without allocating.
enum LogTimestampParser {
    /// The last date and hour parsed (`2024-05-01T12`): log lines come in time order, so most
    /// lines share it and skip the calendar arithmetic.
    struct Cache {
        var head: UInt64 = 0
        var tail: UInt64 = 0
        var hourStart: Int64 = .min
    }

    /// `rfc3339(_:count:)` through `cache`.
    @inline(__always)
    static func rfc3339(_ p: UnsafePointer<UInt8>, count: Int, cache: inout Cache) -> Int64? {
        guard count >= 19 else { return nil }
        let raw = UnsafeRawPointer(p)
        let head = raw.loadUnaligned(as: UInt64.self)
        let tail = raw.loadUnaligned(fromByteOffset: 5, as: UInt64.self)
        if head == cache.head, tail == cache.tail, cache.hourStart != .min {
            return rest(p, count: count, hourStart: cache.hourStart)
        }
        guard let t = rfc3339(p, count: count) else { return nil }
        // Re-derive the hour's start from the full parse: the date and hour were valid.
        if let hour = twoDigits(p + 11) {
            let days = daysFromCivil(year: fourDigits(p)!, month: twoDigits(p + 5)!, day: twoDigits(p + 8)!)
            cache = Cache(head: head, tail: tail, hourStart: (Int64(days) * 24 + Int64(hour)) * 3_600_000)
        }
        return t
    }

    @inline(__always)
    private static func twoDigits(_ p: UnsafePointer<UInt8>) -> Int? {
        let a = p[0] &- UInt8(ascii: "0"), b = p[1] &- UInt8(ascii: "0")
        return a < 10 && b < 10 ? Int(a) * 10 + Int(b) : nil
    }

    @inline(__always)
    private static func fourDigits(_ p: UnsafePointer<UInt8>) -> Int? {
        guard let hi = twoDigits(p), let lo = twoDigits(p + 2) else { return nil }
        return hi * 100 + lo
    }

    /// `:MM:SS(.fraction)?(zone)?` after a known date and hour (bytes 13 on).
    private static func rest(_ p: UnsafePointer<UInt8>, count: Int, hourStart: Int64) -> Int64? {
        guard p[13] == UInt8(ascii: ":"), p[16] == UInt8(ascii: ":"), let minute = twoDigits(p + 14), let second = twoDigits(p + 17),
            minute <= 59, second <= 60
        else { return nil }
        guard let (millis, offsetMinutes) = fractionAndZone(p, count: count) else { return nil }
        return hourStart + Int64(minute * 60 + second - offsetMinutes * 60) * 1000 + Int64(millis)
    }

    /// The milliseconds and the zone offset (minutes) from byte 19 to the end.
    @inline(__always)
    private static func fractionAndZone(_ p: UnsafePointer<UInt8>, count: Int) -> (Int, Int)? {
        var i = 19
        var millis = 0
        if i < count, p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ",") {
            i += 1
            let start = i
            while i < count, p[i] &- UInt8(ascii: "0") < 10 {
                if i - start < 3 { millis = millis * 10 + Int(p[i] &- UInt8(ascii: "0")) }
                i += 1
            }
            guard i > start else { return nil }
            for _ in min(i - start, 3)..<3 { millis *= 10 }
        }
        var offsetMinutes = 0
        if i < count {
            switch p[i] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                i += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign = p[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard count - i >= 4, let h = twoDigits(p + i) else { return nil }
                i += 2
                if p[i] == UInt8(ascii: ":") { i += 1 }
                guard count - i >= 2, let m = twoDigits(p + i), h <= 23, m <= 59 else { return nil }
                i += 2
                offsetMinutes = sign * (h * 60 + m)
            default:
                return nil
            }
        }
        guard i == count else { return nil }
        return (millis, offsetMinutes)
    }

    /// RFC 3339: `YYYY-MM-DD(T|t| )HH:MM:SS(.fraction)?(Z|z|±HH:MM|±HHMM)?`. No zone is read as
    /// UTC (loggers often omit it). Fraction digits past milliseconds are truncated. Returns nil for
    /// anything else, including impossible dates (`2024-02-30`).
    static func rfc3339(_ p: UnsafePointer<UInt8>, count: Int) -> Int64? {
        guard count >= 19 else { return nil }
        @inline(__always) func digits(_ at: Int, _ n: Int) -> Int? {
            var v = 0
            for i in at..<(at + n) {
                let d = p[i] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        guard let year = digits(0, 4), p[4] == UInt8(ascii: "-"), let month = digits(5, 2), p[7] == UInt8(ascii: "-"),
            let day = digits(8, 2), p[10] | 0x20 == UInt8(ascii: "t") || p[10] == UInt8(ascii: " "),
            let hour = digits(11, 2), p[13] == UInt8(ascii: ":"), let minute = digits(14, 2), p[16] == UInt8(ascii: ":"),
            let second = digits(17, 2)
        else { return nil }
        guard month >= 1, month <= 12, day >= 1, day <= daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }
        guard let (millis, offsetMinutes) = fractionAndZone(p, count: count) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// An epoch number in `format`'s unit (auto: seconds below 1e11, milliseconds below 1e14,
    /// microseconds below 1e17, else nanoseconds) as milliseconds; nil when out of range.
    static func epoch(_ value: Double, format: LogTimestampSpec.Format) -> Int64? {
        let millis: Double
        switch format {
        case .unixSeconds: millis = value * 1000
        case .unixMilliseconds: millis = value
        case .auto, .rfc3339:
            let magnitude = abs(value)
            millis = magnitude < 1e11 ? value * 1000 : magnitude < 1e14 ? value : magnitude < 1e17 ? value / 1000 : value / 1_000_000
        }
        guard millis.isFinite, abs(millis) < 1e15 else { return nil }  // ±31 000 years
        return Int64(millis.rounded(.down))
    }
}
