import Ingest
import TimeSeries
import YAMLSupport

/// `/targets`: each scrape target's health, last scrape, its duration, samples and error, by job.
enum TargetsPage {
    static func render(_ rows: [Daemon.TargetRow], now: Timestamp, healthy: Bool) -> [UInt8] {
        var h = HTML(capacity: 16 * 1024 + rows.count * 600)
        WebPage.begin(&h, section: .targets, title: "Targets", healthy: healthy)
        h.raw("<h1>Targets</h1>")
        if rows.isEmpty { h.empty("No targets are configured (scrape:).") }
        var jobs: [String] = []
        var byJob: [String: [Daemon.TargetRow]] = [:]
        for r in rows {
            if byJob[r.target.job] == nil { jobs.append(r.target.job) }
            byJob[r.target.job, default: []].append(r)
        }
        for (j, job) in jobs.enumerated() {
            let members = byJob[job]!
            let up = members.count { $0.report?.up == true }
            h.raw("<section aria-labelledby=\"job-")
            h.integer(j)
            h.raw("\"><h2 id=\"job-")
            h.integer(j)
            h.raw("\">")
            h.isolated(job)
            h.raw(" <small>(")
            h.text("\(up)/\(members.count) up")
            h.raw(")</small></h2><div class=\"scroll\"><table class=\"targets stack\"><thead><tr><th scope=\"col\">endpoint</th><th scope=\"col\">health</th>")
            h.raw("<th scope=\"col\">labels</th><th scope=\"col\" class=\"num\">last scrape</th><th scope=\"col\" class=\"num\">duration</th>")
            h.raw("<th scope=\"col\" class=\"num\">samples</th><th scope=\"col\">error</th></tr></thead><tbody>")
            for r in members { write(r, now: now, into: &h) }
            h.raw("</tbody></table></div></section>")
        }
        WebPage.end(&h, now: now)
        return h.bytes
    }

    static func write(_ r: Daemon.TargetRow, now: Timestamp, into h: inout HTML) {
        h.raw("<tr><td><code class=\"endpoint\">")
        h.text(WebRedaction.url(r.target.url))
        h.raw("</code><br><small class=\"note\">")
        h.text("\(r.target.format.rawValue), every \(YAMLReader.formatDuration(r.target.interval)), timeout \(YAMLReader.formatDuration(r.target.timeout))")
        h.raw("</small></td><td data-label=\"health\">")
        switch r.report?.up {
        case true?: h.raw("<span class=\"badge up\">up</span>")
        case false?:
            h.raw("<span class=\"badge down\">down</span>")
            if r.target.format == .health, r.consecutiveFailures > 0 {
                h.raw("<br><small class=\"note\">")
                h.text("\(r.consecutiveFailures) failures in a row")
                h.raw("</small>")
            }
        case nil: h.raw("<span class=\"badge unknown\">unknown</span>")
        }
        h.raw("</td><td data-label=\"labels\">")
        var labels = r.target.labels
        labels["instance"] = r.target.instance
        h.labelChips(Labels(labels))
        h.raw("</td>")
        if let report = r.report {
            h.raw("<td class=\"num\" data-label=\"last scrape\">")
            h.ago(report.timestamp, now: now)
            h.raw("</td>")
            h.numberCell(WebFormat.seconds(RulesComponent.seconds(report.duration)), label: "duration")
            h.raw("<td class=\"num\" data-label=\"samples\">")
            h.text(WebFormat.count(report.samplesScraped))
            if report.bodyBytes > 0 {
                h.raw("<br><small class=\"note\">")
                h.text(WebFormat.bytes(report.bodyBytes))
                h.raw("</small>")
            }
            h.raw("</td><td data-label=\"error\">")
            if let e = report.error {
                h.raw("<span class=\"bad error\">")
                h.text(e.description)
                h.raw("</span>")
            }
            if report.refused.total > 0 {
                h.raw("<small class=\"note\">")
                h.text("\(report.refused.total) samples refused (series limit \(report.refused.seriesLimit), out of order \(report.refused.outOfOrder))")
                h.raw("</small>")
            }
            h.raw("</td>")
        } else {
            h.raw("<td class=\"num muted\">not yet</td><td></td><td></td><td></td>")
        }
        h.raw("</tr>")
    }
}

/// `/logs`: each configured log, its files with offset, lines, lines per second, rotations, and
/// malformed lines by reason.
enum LogsPage {
    static func render(_ logs: [Daemon.LogRow], activity: LogActivity.Snapshot, now: Timestamp, healthy: Bool) -> [UInt8] {
        var h = HTML(capacity: 16 * 1024)
        WebPage.begin(&h, section: .logs, title: "Logs", healthy: healthy)
        h.raw("<h1>Logs</h1>")
        if logs.isEmpty {
            h.empty("No logs are configured (logs:).")
        } else {
            h.raw("<p>")
            if let last = activity.lastPoll {
                h.raw("Last read ")
                h.ago(last, now: now)
                h.raw(" in ")
                h.text(WebFormat.seconds(RulesComponent.seconds(activity.lastPollDuration)))
                h.text(" (every \(WebFormat.span(LogsComponent.pollInterval)); \(activity.rounds) rounds).")
            } else {
                h.raw("Not read yet.")
            }
            h.raw("</p>")
        }
        for (i, log) in logs.enumerated() {
            h.raw("<section aria-labelledby=\"log-")
            h.integer(i)
            h.raw("\"><h2 id=\"log-")
            h.integer(i)
            h.raw("\"><code>")
            h.text(log.paths.joined(separator: ", "))
            h.raw("</code></h2><p class=\"note\">")
            h.text("job \(log.job ?? "–") · metrics: \(log.metrics.isEmpty ? "none" : log.metrics.joined(separator: ", "))")
            h.raw("</p>")
            for p in log.problems { h.problem("\(p.path): \(p.problem)") }
            if log.files.isEmpty {
                h.empty("No file matches yet.")
            } else {
                h.raw("<div class=\"scroll\"><table class=\"files\"><thead><tr><th scope=\"col\">file</th><th scope=\"col\" class=\"num\">offset</th>")
                h.raw("<th scope=\"col\" class=\"num\">lines</th><th scope=\"col\" class=\"num\">lines/s</th><th scope=\"col\" class=\"num\">read</th>")
                h.raw("<th scope=\"col\" class=\"num\">rotations</th><th scope=\"col\" class=\"num\">truncations</th><th scope=\"col\" class=\"num\">errors</th></tr></thead><tbody>")
                for f in log.files {
                    h.raw("<tr><td><code>")
                    h.text(f.path)
                    h.raw("</code>")
                    if f.rotated { h.raw(" <span class=\"badge muted\">rotated, finishing</span>") }
                    if f.offset == nil { h.raw(" <span class=\"badge muted\">not open</span>") }
                    h.raw("</td>")
                    h.numberCell(f.offset.map { WebFormat.count(Int($0)) } ?? "–")
                    h.numberCell(WebFormat.count(f.stats.lines))
                    h.numberCell(f.linesPerSecond.map { WebFormat.value(($0 * 10).rounded() / 10) } ?? "–")
                    h.numberCell(WebFormat.bytes(f.stats.bytes))
                    h.numberCell("\(f.stats.rotations)")
                    h.numberCell("\(f.stats.truncations)")
                    h.numberCell("\(f.stats.errors)")
                    h.raw("</tr>")
                }
                h.raw("</tbody></table></div>")
            }
            h.raw("<h3>Malformed lines</h3>")
            if log.malformed.isEmpty {
                h.empty("None.")
            } else {
                h.raw("<div class=\"scroll\"><table class=\"malformed\"><thead><tr><th scope=\"col\">file</th><th scope=\"col\">reason</th><th scope=\"col\" class=\"num\">lines</th></tr></thead><tbody>")
                for m in log.malformed.sorted(by: { ($0.path, $0.reason) < ($1.path, $1.reason) }) {
                    h.raw("<tr><td><code>")
                    h.text(m.path)
                    h.raw("</code></td><td>")
                    h.text(m.reason)
                    h.raw("</td>")
                    h.numberCell(WebFormat.count(m.count))
                    h.raw("</tr>")
                }
                h.raw("</tbody></table></div>")
            }
            h.raw("</section>")
        }
        WebPage.end(&h, now: now)
        return h.bytes
    }
}

/// Secrets out of what pages show.
enum WebRedaction {
    /// A URL without the password of its user information (`https://user:<redacted>@host/…`).
    static func url(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        let userinfo = rest[..<at]
        let user = userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let hasPassword = userinfo.contains(":")
        return String(url[..<schemeEnd.upperBound]) + user + (hasPassword ? ":<redacted>" : "") + String(rest[at...])
    }
}
