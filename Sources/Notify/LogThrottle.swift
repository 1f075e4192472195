import TimeSeries

/// Limits repeated log messages per key (an integration): the first one is logged, then at most
/// one per `interval`, each saying how many were not; VictoriaMetrics' "similar messages dropped".
///
/// A value type owned by whoever owns the logging (the outbox queue).
struct LogThrottle {
    let interval: Int64
    var lastLogged: [String: Timestamp] = [:]
    var suppressed: [String: Int] = [:]

    init(interval: Int64) { self.interval = interval }

    /// The number of messages suppressed since the last one, when this one may be logged; nil to stay quiet.
    mutating func allow(_ key: String, now: Timestamp) -> Int? {
        if let last = lastLogged[key], now - last < interval {
            suppressed[key, default: 0] += 1
            return nil
        }
        lastLogged[key] = now
        let count = suppressed[key] ?? 0
        suppressed[key] = 0
        return count
    }

    /// After a success: forgets the key; returns the count suppressed when there had been failures.
    mutating func recovered(_ key: String) -> Int? {
        guard lastLogged[key] != nil else { return nil }
        lastLogged[key] = nil
        return suppressed.removeValue(forKey: key) ?? 0
    }
}
