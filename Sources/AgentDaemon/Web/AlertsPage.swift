import Alerting
import TimeSeries

/// `/alerts`: the active alerts by tier, most severe first, each with its state, since when, its
/// value and last 30 minutes, labels and annotations, and whether a silence or an inhibition
/// mutes it; then the alerts resolved within the last hour.
enum AlertsPage {
    /// Tier order: the tiers of `SeverityTier.defaultOrder`, then any other severity by name, then none.
    static func tierRank(_ severity: String?) -> (Int, String) {
        guard let severity else { return (2, "") }
        if let i = SeverityTier.defaultOrder.firstIndex(of: severity) { return (0, String(i)) }
        return (1, severity)
    }

    static func render(_ s: Daemon.AlertsSnapshot, healthy: Bool) -> [UInt8] {
        var h = HTML(capacity: 32 * 1024 + s.active.count * 3_000)
        WebPage.begin(&h, section: .alerts, title: "Alerts", healthy: healthy)
        let firing = s.active.count { $0.alert.state == .firing }
        h.raw("<h1>Alerts</h1><p>")
        h.text("\(firing) firing, \(s.active.count - firing) pending; \(s.resolved.count) resolved in the last hour.")
        if !s.notifications { h.raw(" <span class=\"note\">No receivers are configured: alerts are not sent anywhere.</span>") }
        h.raw("</p>")
        if s.historiesSkipped > 0 {
            h.raw("<p class=\"note\">")
            h.text("\(s.historiesSkipped) alerts are shown without their last 30 minutes: computing them took longer than this page may wait.")
            h.raw("</p>")
        }
        for e in s.historyErrors { h.problem("Value history: " + e) }

        var tiers: [String?: [Daemon.AlertRow]] = [:]
        for row in s.active { tiers[row.alert.severity, default: []].append(row) }
        if tiers.isEmpty { h.empty("No alert is pending or firing.") }
        for severity in tiers.keys.sorted(by: { tierRank($0) < tierRank($1) }) {
            let rows = tiers[severity]!.sorted {
                ($0.alert.state == .firing ? 0 : 1, $0.alert.activeAt, $0.alert.name, $0.alert.identity.description)
                    < ($1.alert.state == .firing ? 0 : 1, $1.alert.activeAt, $1.alert.name, $1.alert.identity.description)
            }
            let id = "tier-" + (severity.flatMap(TierStyle.cssClass) ?? (severity == nil ? "none" : "other-\(tierIndex(severity, tiers))"))
            h.raw("<section class=\"tier\" aria-labelledby=\"")
            h.trusted(id)
            h.raw("\"><h2 id=\"")
            h.trusted(id)
            h.raw("\"")
            if let c = severity.flatMap(TierStyle.cssClass) {
                h.raw(" class=\"")
                h.trusted(c)
                h.raw("\"")
            }
            h.raw(">")
            if let severity { h.isolated(severity) } else { h.raw("no severity") }
            h.raw(" <small>(")
            h.integer(rows.count)
            h.raw(")</small></h2><div class=\"scroll\"><table class=\"alerts stack\"><thead><tr><th scope=\"col\">alert</th><th scope=\"col\">state</th>")
            h.raw("<th scope=\"col\">since</th><th scope=\"col\" class=\"num\">value</th><th scope=\"col\">last 30 min</th></tr></thead><tbody>")
            for row in rows { write(row, now: s.now, into: &h) }
            h.raw("</tbody></table></div></section>")
        }

        h.raw("<section aria-labelledby=\"h-resolved\"><h2 id=\"h-resolved\">Resolved in the last hour</h2>")
        if s.resolved.isEmpty {
            h.empty("None.")
        } else {
            h.raw("<div class=\"scroll\"><table class=\"resolved stack\"><thead><tr><th scope=\"col\">alert</th><th scope=\"col\">severity</th>")
            h.raw("<th scope=\"col\">active from</th><th scope=\"col\">resolved</th><th scope=\"col\" class=\"num\">lasted</th></tr></thead><tbody>")
            for r in s.resolved {
                h.raw("<tr><td><strong class=\"alertname\">")
                h.isolated(r.labels["alertname"] ?? "")
                h.raw("</strong>")
                h.labelChips(r.labels, skipping: ["alertname", Alert.severityLabel])
                annotations(r.annotations, into: &h)
                h.raw("</td><td data-label=\"severity\">")
                severityBadge(r.labels[Alert.severityLabel], into: &h)
                h.raw("</td><td class=\"nowrap\" data-label=\"active from\">")
                if let a = r.activeAt { h.time(a, now: s.now) } else { h.raw("<span class=\"muted\">–</span>") }
                h.raw("</td><td class=\"nowrap\" data-label=\"resolved\">")
                h.ago(r.resolvedAt, now: s.now)
                h.raw("</td>")
                h.numberCell(r.activeAt.map { WebFormat.span(r.resolvedAt - $0) } ?? "", label: "lasted")
                h.raw("</tr>")
            }
            h.raw("</tbody></table></div>")
        }
        h.raw("</section>")
        WebPage.end(&h, now: s.now)
        return h.bytes
    }

    /// A stable number for a severity outside the known tiers (its id must not carry its text).
    static func tierIndex(_ severity: String?, _ tiers: [String?: [Daemon.AlertRow]]) -> Int {
        tiers.keys.compactMap { $0 }.filter { TierStyle.cssClass($0) == nil }.sorted().firstIndex(of: severity ?? "") ?? 0
    }

    static func write(_ row: Daemon.AlertRow, now: Timestamp, into h: inout HTML) {
        let a = row.alert
        h.raw(row.silencedBy.isEmpty && !row.inhibited ? "<tr data-alertname=\"" : "<tr class=\"muted\" data-alertname=\"")
        h.text(a.name)
        h.raw("\"><td><strong class=\"alertname\">")
        h.isolated(a.name)
        h.raw("</strong>")
        h.labelChips(a.labels, skipping: ["alertname", Alert.severityLabel])
        annotations(a.annotations, into: &h)
        h.raw("</td><td class=\"state\" data-label=\"state\">")
        h.raw(a.state == .firing ? "<span class=\"badge firing\">firing</span>" : "<span class=\"badge pending\">pending</span>")
        if !row.silencedBy.isEmpty {
            h.raw(" <span class=\"badge muted silenced\" title=\"")
            h.text("silenced by " + row.silencedBy.joined(separator: ", "))
            h.raw("\">silenced</span>")
        }
        if row.inhibited { h.raw(" <span class=\"badge muted inhibited\" title=\"a more severe firing alert mutes it\">inhibited</span>") }
        if let previous = a.previousSeverity, let changed = a.severityChangedAt {
            h.raw("<br><small class=\"note\">")
            h.text("was \(previous) until \(WebFormat.ago(changed, now: now))")
            h.raw("</small>")
        }
        h.raw("</td><td class=\"nowrap\" data-label=\"since\">")
        h.time(a.state == .firing ? (a.firedAt ?? a.activeAt) : a.activeAt, now: now)
        h.raw("<br><small class=\"note\">")
        h.text(a.state == .firing ? "active " + WebFormat.ago(a.activeAt, now: now) : "pending " + WebFormat.span(now - a.activeAt))
        h.raw("</small></td>")
        h.numberCell(WebFormat.value(a.value), label: "value")
        h.raw("<td class=\"sparkcell\" data-label=\"last 30 min\">")
        if let history = row.history {
            let values = history.values
            SparklineSVG.write(&h, values: values, tier: a.severity)
            let finite = values.filter(\.isFinite)
            if let lo = finite.min(), let hi = finite.max() {
                h.raw("<small>")
                h.text("\(WebFormat.value(lo)) … \(WebFormat.value(hi))")
                h.raw("</small>")
            }
        } else {
            h.raw("<span class=\"muted\">–</span>")
        }
        h.raw("</td></tr>")
    }

    static func severityBadge(_ severity: String?, into h: inout HTML) {
        guard let severity else {
            h.raw("<span class=\"muted\">–</span>")
            return
        }
        h.raw("<span class=\"badge")
        if let c = TierStyle.cssClass(severity) {
            h.raw(" ")
            h.trusted(c)
        }
        h.raw("\">")
        h.isolated(severity)
        h.raw("</span>")
    }

    /// Annotations, `summary` and `description` first; a runbook link only for http(s) URLs.
    static func annotations(_ annotations: [String: String], into h: inout HTML) {
        guard !annotations.isEmpty else { return }
        let order = ["summary": 0, "description": 1]
        let keys = annotations.keys.sorted { (order[$0] ?? 2, $0) < (order[$1] ?? 2, $1) }
        h.raw("<dl class=\"ann\">")
        for key in keys {
            let value = annotations[key]!
            h.raw("<dt>")
            h.text(key)
            h.raw("</dt><dd>")
            let lower = value.lowercased()
            if key.hasSuffix("_url") || key == "runbook", lower.hasPrefix("https://") || lower.hasPrefix("http://") {
                h.raw("<a rel=\"noopener noreferrer\"")
                h.attribute("href", value)
                h.raw(">")
                h.isolated(value)
                h.raw("</a>")
            } else {
                h.isolated(value)
            }
            h.raw("</dd>")
        }
        h.raw("</dl>")
    }
}
