public import TimeSeries

/// Durations as Prometheus writes them in rule and test files: `90s`, `5m`, `1h30m`, `1d`, `2w`, `0`.
///
/// The grammar is Prometheus's `model.ParseDuration`: units `y w d h m s ms`, each at most once and
/// in that order, every number a non-negative integer; `0` alone is allowed. A year is 365 days.
public enum PrometheusDuration {
    static let units: [(suffix: String, ms: Int64)] = [
        ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000),
        ("m", 60_000), ("s", 1_000), ("ms", 1),
    ]

    /// The duration `text` denotes, in milliseconds, or nil when it is not a valid duration.
    public static func parse(_ text: String) -> Milliseconds? {
        if text == "0" { return 0 }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 else { return nil }
        var i = 0
        var total: Int64 = 0
        var nextUnit = 0  // units must come in order, each once
        while i < bytes.count {
            var n: Int64 = 0
            let start = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(bytes[i] - 0x30))
                guard !o1, !o2 else { return nil }
                n = a
                i += 1
            }
            guard i > start, i < bytes.count else { return nil }
            // The unit: "ms" must be tried before "m".
            var unitIndex: Int?
            if bytes[i] == UInt8(ascii: "m"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "s") {
                unitIndex = 6
                i += 2
            } else {
                switch bytes[i] {
                case UInt8(ascii: "y"): unitIndex = 0
                case UInt8(ascii: "w"): unitIndex = 1
                case UInt8(ascii: "d"): unitIndex = 2
                case UInt8(ascii: "h"): unitIndex = 3
                case UInt8(ascii: "m"): unitIndex = 4
                case UInt8(ascii: "s"): unitIndex = 5
                default: return nil
                }
                i += 1
            }
            guard let u = unitIndex, u >= nextUnit else { return nil }
            nextUnit = u + 1
            let (p, o3) = n.multipliedReportingOverflow(by: units[u].ms)
            let (s, o4) = total.addingReportingOverflow(p)
            guard !o3, !o4 else { return nil }
            total = s
        }
        return total
    }

    /// `ms` in Prometheus's canonical form (`1h30m`, `90s` is written `1m30s`, `0s` for zero).
    public static func format(_ ms: Milliseconds) -> String {
        if ms == 0 { return "0s" }
        var rest = ms
        var out = rest < 0 ? "-" : ""
        rest = rest.magnitude > Int64.max.magnitude ? Int64.max : abs(rest)
        for (suffix, size) in units where rest >= size {
            out += "\(rest / size)\(suffix)"
            rest %= size
        }
        return out
    }
}
