import TimeSeries

/// Limits repeated log messages per key (an integration): the first one is logged, then at most
/// one per `interval`, each saying how many were not; VictoriaMetrics' "similar messages dropped".
///
/// A value type owned by whoever owns the logging (the outbox queue); bounded by the number of
/// integrations, as `retain` forgets the ones a reload removed.
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

    /// Forgets every key not derived from `names` (keys are a name, or a tag, `\u{1}` and a name):
    /// integrations a reload removed.
    mutating func retain(_ names: Set<String>) {
        let keep: (String) -> Bool = { key in
            names.contains(key) || key.split(separator: "\u{1}", maxSplits: 1).last.map { names.contains(String($0)) } ?? false
        }
        lastLogged = lastLogged.filter { keep($0.key) }
        suppressed = suppressed.filter { keep($0.key) }
    }

    /// After a success: forgets the key; returns the count suppressed when there had been failures.
    mutating func recovered(_ key: String) -> Int? {
        guard lastLogged[key] != nil else { return nil }
        lastLogged[key] = nil
        return suppressed.removeValue(forKey: key) ?? 0
    }
}
