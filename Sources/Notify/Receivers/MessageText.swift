import TimeSeries

/// Text shared by the chat receivers: titles, one line per alert, colours by tier, truncation.
enum MessageText {
    /// The marker put where text was cut.
    static let marker = "…"

    /// `s` cut to at most `max` Unicode scalars, the last one being `…` when cut.
    static func truncate(_ s: String, _ max: Int) -> String {
        let scalars = s.unicodeScalars
        guard scalars.count > max else { return s }
        guard max > 0 else { return "" }
        return String(String.UnicodeScalarView(scalars.prefix(max - 1))) + marker
    }

    /// `s` cut to at most `max` UTF-8 bytes (on a scalar boundary), ending in `…` when cut.
    static func truncate(_ s: String, bytes max: Int) -> String {
        guard s.utf8.count > max else { return s }
        let budget = max - marker.utf8.count
        guard budget > 0 else { return "" }
        var out = String.UnicodeScalarView()
        var used = 0
        for scalar in s.unicodeScalars {
            let n = String(scalar).utf8.count
            if used + n > budget { break }
            used += n
            out.append(scalar)
        }
        return String(out) + marker
    }

    static func scalarCount(_ s: String) -> Int { s.unicodeScalars.count }

    /// The one-line summary of an alert: its `summary` annotation, else its name and labels.
    static func summary(_ alert: NotifiedAlert) -> String {
        if let summary = alert.annotations["summary"], !summary.isEmpty { return summary }
        let labels = alert.labels.labels.filter { $0.name != "alertname" && $0.name != "severity" }
        let detail = labels.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
        return detail.isEmpty ? alert.name : "\(alert.name) \(detail)"
    }

    /// The longer text of an alert: its `description` annotation, else its `message`.
    static func description(_ alert: NotifiedAlert) -> String? {
        for key in ["description", "message"] {
            if let d = alert.annotations[key], !d.isEmpty { return d }
        }
        return nil
    }

    /// The runbook link: `runbook_url` (or `runbook`) annotation.
    static func runbook(_ alert: NotifiedAlert) -> String? {
        for key in ["runbook_url", "runbook"] {
            if let r = alert.annotations[key], !r.isEmpty { return r }
        }
        return nil
    }

    /// `critical`, `critical (was high)`, or `resolved`.
    static func tierText(_ alert: NotifiedAlert) -> String {
        if alert.status == .resolved { return "resolved" }
        var t = alert.severity ?? "firing"
        if let before = alert.previousSeverity {
            t += SeverityOrder.rank(alert.severity ?? "") < SeverityOrder.rank(before) ? " (escalated from \(before))" : " (was \(before))"
        }
        return t
    }

    /// Labels other than `alertname`, as `name=value` pairs.
    static func labelPairs(_ alert: NotifiedAlert) -> [(String, String)] {
        alert.labels.labels.filter { $0.name != "alertname" }.map { ($0.name, $0.value) }
    }

    /// Value as people read it: up to 4 significant decimals, no exponent for ordinary sizes.
    static func value(_ v: Double) -> String {
        guard v.isFinite else { return "\(v)" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        let magnitude = abs(v)
        if magnitude >= 0.001, magnitude < 1e9 {
            var s = String(format4(v))
            while s.contains("."), s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
            return s
        }
        return "\(v)"
    }

    static func format4(_ v: Double) -> String {
        let scaled = (v * 10_000).rounded() / 10_000
        return "\(scaled)"
    }

    /// The plain-text body listing every alert, one block each.
    static func plainText(_ n: AlertNotification, bullet: String = "•") -> String {
        var lines: [String] = []
        for alert in n.alerts {
            var line = "\(bullet) [\(tierText(alert))] \(summary(alert))"
            if let d = description(alert) { line += "\n  \(d)" }
            if let r = runbook(alert) { line += "\n  Runbook: \(r)" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// Hex colour by tier (Slack, Mattermost); green when resolved.
    static func hexColor(_ severity: String?, resolved: Bool) -> String {
        if resolved { return "#2eb886" }
        switch SeverityOrder.rank(severity ?? "") {
        case 0: return "#d00000"
        case 1: return "#e8590c"
        case 2: return "#f2c744"
        case 3: return "#439fe0"
        default: return "#a0a0a0"
        }
    }

    /// The same colours as integers (Discord).
    static func intColor(_ severity: String?, resolved: Bool) -> Int64 {
        Int64(hexColor(severity, resolved: resolved).dropFirst(), radix: 16)!
    }

    /// RFC 3339 for payloads.
    static func time(_ ms: Timestamp) -> String { RFC3339.format(ms) }
}
