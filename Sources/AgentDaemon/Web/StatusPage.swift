import AgentClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Ingest
import Notify
import RemoteWrite
import TimeSeries
import YAMLSupport
#if canImport(Glibc)
import Glibc
#endif

/// `/status`: the configuration in force (the last one a reload accepted) and the build.
///
/// Secrets never reach the page: a notification URL or key is shown as where it is read from
/// (`secret file /run/credentials/…`, `environment variable SLACK_URL`, `inline secret`), header
/// values as `<redacted>`, the password of a URL's user information as `<redacted>`, a
/// remote-write URL without its credentials and query (as its metrics show it).
enum StatusPage {
    struct Build {
        var version = AgentVersion.string
        var swift: String = {
            #if swift(>=6.2)
            "6.2 or later"
            #elseif swift(>=6.1)
            "6.1"
            #else
            "6.0"
            #endif
        }()
        var configuration: String = {
            #if DEBUG
            "debug"
            #else
            "release"
            #endif
        }()
        var system: String = {
            var u = utsname()
            guard uname(&u) == 0 else { return "unknown" }
            func field<T>(_ value: T) -> String {
                withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            }
            return "\(field(u.sysname)) \(field(u.release)) \(field(u.machine))"
        }()
        var pid = Int(getpid())
        var executable = CommandLine.arguments.first ?? ""
    }

    static func render(_ config: AgentConfig, startedAt: Timestamp, now: Timestamp, healthy: Bool) -> [UInt8] {
        var h = HTML(capacity: 24 * 1024)
        WebPage.begin(&h, section: .status, title: "Status", healthy: healthy)
        let build = Build()
        h.raw("<h1>Status</h1><section aria-labelledby=\"h-build\"><h2 id=\"h-build\">Build</h2><dl class=\"facts\">")
        row(&h, "Version", build.version)
        row(&h, "Build", build.configuration)
        row(&h, "Swift", build.swift)
        row(&h, "System", build.system)
        row(&h, "Executable", build.executable)
        row(&h, "Process", "pid \(build.pid), started \(WebFormat.time(startedAt))")
        h.raw("</dl></section>")

        h.raw("<section aria-labelledby=\"h-config\"><h2 id=\"h-config\">Configuration</h2><p class=\"note\">")
        h.text("From \(config.source), as last loaded (storage, listeners and the state folder as at start). Secrets are not shown.")
        h.raw("</p><h3>global</h3><dl class=\"facts\">")
        let g = config.global
        row(&h, "resolution", YAMLReader.formatDuration(g.store.resolution))
        row(&h, "retention", YAMLReader.formatDuration(g.store.retention))
        row(&h, "tiers", g.store.tiers.isEmpty ? "none" : g.store.tiers.map {
            "\(YAMLReader.formatDuration($0.resolution)) for \(YAMLReader.formatDuration($0.retention))"
        }.joined(separator: ", "))
        row(&h, "series_limit", "\(g.store.seriesLimit)")
        row(&h, "series_expiry", g.store.expireAfter.map(YAMLReader.formatDuration) ?? "off")
        row(&h, "sketch_accuracy", "\(g.store.sketchAccuracy)")
        row(&h, "sketch_max_buckets", "\(g.store.sketchMaxBuckets)")
        row(&h, "scrape_interval", YAMLReader.formatDuration(g.scrapeInterval))
        row(&h, "scrape_timeout", YAMLReader.formatDuration(g.scrapeTimeout))
        row(&h, "evaluation_interval", YAMLReader.formatDuration(g.evaluationInterval))
        row(&h, "checkpoint_interval", YAMLReader.formatDuration(g.checkpointInterval))
        row(&h, "reload_check_interval", YAMLReader.formatDuration(g.reloadCheckInterval))
        row(&h, "state_dir", g.stateDir)
        h.raw("<dt>external_labels</dt><dd>")
        if g.externalLabels.isEmpty { h.raw("none") } else { h.labelChips(Labels(g.externalLabels)) }
        h.raw("</dd></dl><h3>listen</h3><dl class=\"facts\">")
        let l = config.listen
        row(&h, "socket", l.socket)
        row(&h, "http", l.http ?? "off")
        row(&h, "expose", l.expose.rawValue)
        row(&h, "max_connections", "\(l.maxConnections)")
        row(&h, "query_timeout", YAMLReader.formatDuration(l.queryTimeout))
        row(&h, "query_max_concurrency", "\(l.queryMaxConcurrency)")
        row(&h, "idle_timeout", YAMLReader.formatDuration(l.idleTimeout))
        row(&h, "read_header_timeout", YAMLReader.formatDuration(l.readHeaderTimeout))
        h.raw("</dl><h3>rule_files and gate_files</h3>")
        list(&h, config.ruleFiles + config.gateFiles, empty: "none")

        h.raw("<h3>scrape</h3>")
        if config.scrape.isEmpty {
            h.empty("none")
        } else {
            h.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">job</th><th scope=\"col\">url</th><th scope=\"col\">format</th>")
            h.raw("<th scope=\"col\">interval / timeout</th><th scope=\"col\">request</th></tr></thead><tbody>")
            for t in config.scrape {
                h.raw("<tr><td>")
                h.isolated(t.job)
                h.raw("</td><td><code>")
                h.text(WebRedaction.url(t.url))
                h.raw("</code></td><td>")
                h.text(t.format.rawValue)
                h.raw("</td><td class=\"nowrap\">")
                h.text("\(YAMLReader.formatDuration(t.interval)) / \(YAMLReader.formatDuration(t.timeout))")
                h.raw("</td><td>")
                var request: [String] = t.http.headers.map { "\($0.name): <redacted>" }
                if let a = t.http.authorization { request.append("\(a)") }
                h.text(request.isEmpty ? "–" : request.joined(separator: "; "))
                h.raw("</td></tr>")
            }
            h.raw("</tbody></table></div>")
        }

        h.raw("<h3>logs</h3>")
        if config.logs.isEmpty {
            h.empty("none")
        } else {
            h.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">paths</th><th scope=\"col\">job</th><th scope=\"col\">start_at</th>")
            h.raw("<th scope=\"col\">labels</th><th scope=\"col\">metrics</th></tr></thead><tbody>")
            for m in config.logs {
                h.raw("<tr><td><code>")
                h.text(m.paths.joined(separator: ", "))
                h.raw("</code></td><td>")
                h.text(m.job ?? "–")
                h.raw("</td><td>")
                h.text(m.startAt.rawValue)
                h.raw("</td><td>")
                h.text(m.labels.isEmpty ? "–" : m.labels.map(\.name).joined(separator: ", "))
                h.raw("</td><td>")
                h.text(m.metrics.map { "\($0.name) (\($0.kind)\($0.field.map { " of " + $0 } ?? ""))" }.joined(separator: ", "))
                h.raw("</td></tr>")
            }
            h.raw("</tbody></table></div>")
        }

        h.raw("<h3>notify</h3>")
        let n = config.notify
        if n.receivers.isEmpty {
            h.empty("No receivers: nothing is sent.")
        } else {
            h.raw("<dl class=\"facts\">")
            row(&h, "external_url", n.externalURL.isEmpty ? "–" : n.externalURL)
            row(&h, "outbox", "max age \(Int(n.outbox.maxAge.components.seconds)) s, backoff \(Int(n.outbox.initialBackoff.components.seconds))–\(Int(n.outbox.maxBackoff.components.seconds)) s, \(n.outbox.maxEntries) entries")
            h.raw("</dl>")
            if let route = n.route {
                h.raw("<p>Routes:</p><ul class=\"routes\">")
                write(route, into: &h)
                h.raw("</ul>")
            }
            h.raw("<p>Inhibition:</p>")
            list(&h, n.inhibitRules.map { "\($0.source) mutes \($0.target) with equal \($0.equal.joined(separator: ", "))" }, empty: "none")
            h.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">receiver</th><th scope=\"col\">integration</th><th scope=\"col\">destination</th></tr></thead><tbody>")
            for r in n.receivers {
                for i in r.integrations {
                    h.raw("<tr><td>")
                    h.isolated(r.name)
                    h.raw("</td><td>")
                    h.text(i.kind)
                    h.raw("</td><td>")
                    h.text(destination(i))
                    h.raw("</td></tr>")
                }
            }
            h.raw("</tbody></table></div>")
        }

        h.raw("<h3>remote_write</h3>")
        if config.remoteWrite.isEmpty {
            h.empty("none")
        } else {
            list(&h, config.remoteWrite.map { e in
                var parts = ["\(e.name): \(e.redactedURL)", "timeout \(YAMLReader.formatDuration(e.timeout))"]
                if !e.headers.isEmpty { parts.append(e.headers.map { "\($0.name): <redacted>" }.joined(separator: ", ")) }
                if let a = e.authorization { parts.append("\(a)") }
                return parts.joined(separator: "; ")
            }, empty: "none")
        }
        h.raw("</section>")
        WebPage.end(&h, now: now)
        return h.bytes
    }

    static func destination(_ i: NotifyConfig.IntegrationConfig) -> String {
        var parts: [String]
        switch i.destination {
        case .http(let endpoint):
            switch endpoint.url {
            case .inline(let url): parts = ["URL \(RedactedURL.string(url))"]
            default: parts = ["URL from \(endpoint.url)"]
            }
            if !endpoint.headers.isEmpty { parts.append(endpoint.headers.map { "\($0.name): <redacted>" }.joined(separator: ", ")) }
            if let hmac = endpoint.hmacSecret { parts.append("signed with the key of \(hmac)") }
        case .file(let path): parts = ["file \(path)"]
        case .stdout: parts = ["standard output"]
        }
        if let secret = i.bodySecret { parts.append("key from \(secret.secret)") }
        if !i.sendResolved { parts.append("no resolved notifications") }
        return parts.joined(separator: "; ")
    }

    static func write(_ route: Route.Spec, into h: inout HTML) {
        h.raw("<li><code>")
        var parts: [String] = []
        parts.append(route.matchers.isEmpty ? "every alert" : "{" + route.matchers.map(\.description).joined(separator: ", ") + "}")
        parts.append("→ \(route.receiver ?? "(parent's receiver)")")
        switch route.groupBy {
        case .labels(let names)?: parts.append("group by \(names.isEmpty ? "nothing" : names.joined(separator: ", "))")
        case .all?: parts.append("group by every label")
        case nil: break
        }
        if let d = route.groupWait { parts.append("wait \(d)") }
        if let d = route.groupInterval { parts.append("interval \(d)") }
        if let d = route.repeatInterval { parts.append("repeat \(d)") }
        if route.continue { parts.append("continue") }
        h.text(parts.joined(separator: " · "))
        h.raw("</code>")
        if !route.routes.isEmpty {
            h.raw("<ul>")
            for child in route.routes { write(child, into: &h) }
            h.raw("</ul>")
        }
        h.raw("</li>")
    }

    static func row(_ h: inout HTML, _ term: String, _ value: String) {
        h.raw("<dt>")
        h.text(term)
        h.raw("</dt><dd>")
        h.text(value)
        h.raw("</dd>")
    }

    static func list(_ h: inout HTML, _ items: [String], empty: StaticString) {
        guard !items.isEmpty else {
            h.empty(empty)
            return
        }
        h.raw("<ul>")
        for item in items {
            h.raw("<li><code>")
            h.text(item)
            h.raw("</code></li>")
        }
        h.raw("</ul>")
    }
}
