import TextRendering
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

    /// One-line summaries of alerts shown without detail, each escaped with `markup` and cut to
    /// 300, joined by `separator`, within `limit` in `unit`; the lines that do not fit and the
    /// `hidden` alerts (never listed) are counted in a last line, `… and N more`.
    static func list(_ lines: [String], hidden: Int, markup: Markup, limit: Int, unit: TextUnit, separator: String = "\n") -> String {
        var out = ""
        var used = 0
        var shown = 0
        for line in lines {
            let piece = (out.isEmpty ? "" : separator) + markup.fitted(line, 300, unit)
            let after = lines.count - shown - 1 + hidden
            let tail = after > 0 ? separator + "… and \(after) more" : ""
            if used + unit.count(piece) + unit.count(tail) > limit { break }
            out += piece
            used += unit.count(piece)
            shown += 1
        }
        let rest = lines.count - shown + hidden
        if rest > 0 { out += (out.isEmpty ? "" : separator) + "… and \(rest) more" }
        return out
    }

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

    /// A firing alert's last 30 minutes as one line: `` `▁▂▃▅▇█▇▅` min 120 max 870 last 640 (30m) ``,
    /// the bars in a code span when `code` (Slack, Mattermost, Discord, Google Chat's text); nil
    /// without a history or without a finite value in it.
    static func historyLine(_ alert: NotifiedAlert, code: Bool = true) -> String? {
        guard alert.status == .firing, let history = alert.history,
            // Outside a code span runs of spaces may collapse (HTML, Adaptive Cards): gaps are no-break spaces there.
            let line = Sparkline(history.values, maxWidth: maxSparklineWidth, gap: code ? " " : "\u{00A0}")
        else { return nil }
        let bars = code ? "`\(line.bars)`" : line.bars
        return "\(bars) min \(value(line.min)) max \(value(line.max)) last \(value(line.last)) (\(duration(history.window)))"
    }

    /// One character per minute of the default 30-minute history.
    static let maxSparklineWidth = 30

    /// `30m`, `1h`, `90s`: a window as people write it.
    static func duration(_ ms: Int64) -> String {
        if ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
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
