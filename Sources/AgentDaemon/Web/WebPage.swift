import AgentClient
import HTTPServing
import Notify
import TextRendering
import TimeSeries
#if canImport(Glibc)
import Glibc
#endif

/// The frame every page shares — head, navigation, footer — and the response it goes out in.
///
/// Pages are read-only and self-contained: server-rendered HTML with inline SVG, one style sheet
/// and one script from the agent itself (`WebAssets`), links relative to the page (so the agent
/// also works behind a reverse proxy under a path prefix). The Content-Security-Policy allows
/// nothing else: no inline script or style, no other origin, no framing, no `<base>`.
enum WebPage {
    /// The navigation entries, in order; a page names its own to mark it current.
    enum Section: String, CaseIterable, Sendable {
        case overview, alerts, rules, targets, logs, graph, status

        var title: String {
            switch self {
            case .overview: "Overview"
            case .alerts: "Alerts"
            case .rules: "Rules"
            case .targets: "Targets"
            case .logs: "Logs"
            case .graph: "Graph"
            case .status: "Status"
            }
        }

        /// The link, relative to any page (they all sit at the root).
        var href: StaticString {
            switch self {
            case .overview: "./"
            case .alerts: "alerts"
            case .rules: "rules"
            case .targets: "targets"
            case .logs: "logs"
            case .graph: "graph"
            case .status: "status"
            }
        }
    }

    /// What a page may load and do: only the agent's own style sheet and script, images from
    /// itself or `data:` (the favicon), forms posting to itself; never framed, no `<base>`.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'"

    /// The head, the navigation and the start of `<main>`; `healthy` decides the badge beside the nav.
    static func begin(_ html: inout HTML, section: Section, title: String, healthy: Bool) {
        html.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        html.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        html.raw("<meta name=\"color-scheme\" content=\"light dark\"><meta name=\"referrer\" content=\"no-referrer\">")
        html.raw("<title>")
        html.text(title)
        html.raw(" · agent</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"static/app.css\">")
        html.raw("<script src=\"static/app.js\" defer></script></head>\n<body><header><nav aria-label=\"Pages\"><a class=\"brand\" href=\"./\">agent</a>")
        for s in Section.allCases {
            html.raw("<a href=\"")
            html.raw(s.href)
            html.raw("\"")
            if s == section { html.raw(" aria-current=\"page\"") }
            html.raw(">")
            html.text(s.title)
            html.raw("</a>")
        }
        html.raw(healthy ? "<span class=\"health ok\">● healthy</span>" : "<span class=\"health bad\">● unhealthy</span>")
        html.raw("<label hidden><input type=\"checkbox\" id=\"refresh\"> refresh every 30 s</label></nav></header>\n<main>")
    }

    /// Closes `<main>` and the document, with the footer.
    static func end(_ html: inout HTML, now: Timestamp) {
        html.raw("</main>\n<footer>agent ")
        html.text(AgentVersion.string)
        html.raw(" · ")
        html.raw("<time datetime=\"")
        html.text(RFC3339.format(now))
        html.raw("\">")
        html.text(WebFormat.time(now))
        html.raw("</time> · times in UTC</footer>\n</body></html>\n")
    }

    /// What a page cost: wall time, the CPU time of the thread that rendered it (the figure that
    /// does not grow with other processes' load), and the part of the wall time its queries took.
    struct Timing {
        var wall: Duration
        var cpu: Duration
        var query: Duration?
    }

    /// CPU time of the calling thread so far.
    static func threadCPUTime() -> Duration {
        var ts = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 else { return .zero }
        return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
    }

    /// A page's answer: HTML with the policy and headers every page carries, and what the page
    /// took to read its data and render (`Server-Timing`, which `make bench` reads).
    static func response(_ body: [UInt8], status: Int = 200, timing: Timing) -> HTTPResponse {
        func ms(_ d: Duration) -> String {
            CFormat.printf("%.3f", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
        }
        var serverTiming = "page;dur=" + ms(timing.wall) + ", cpu;dur=" + ms(timing.cpu)
        if let query = timing.query { serverTiming += ", query;dur=" + ms(query) }
        return HTTPResponse(status: status, headers: HTTPHeaders([
            ("content-type", "text/html; charset=utf-8"),
            ("content-security-policy", contentSecurityPolicy),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", "no-store"),
            ("server-timing", serverTiming),
        ]), body: body)
    }
}

/// How the pages write times, durations, sizes and values.
enum WebFormat {
    /// `2025-01-31 12:00:05Z`: RFC 3339 without the fraction, with a space, as people read it.
    static func time(_ ms: Timestamp) -> String {
        var s = RFC3339.format(ms - ((ms % 1000) + 1000) % 1000)
        if let t = s.firstIndex(of: "T") { s.replaceSubrange(t...t, with: " ") }
        return s
    }

    /// A span of time, coarsely: `850 ms`, `42 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`.
    static func span(_ ms: Milliseconds) -> String {
        let a = ms.magnitude
        let sign = ms < 0 ? "-" : ""
        if a < 1000 { return "\(sign)\(a) ms" }
        let s = a / 1000
        if s < 60 { return "\(sign)\(s) s" }
        if s < 3600 { return "\(sign)\(s / 60) min" + (s % 60 == 0 ? "" : " \(s % 60) s") }
        if s < 86_400 { return "\(sign)\(s / 3600) h" + (s % 3600 / 60 == 0 ? "" : " \(s % 3600 / 60) min") }
        return "\(sign)\(s / 86_400) d" + (s % 86_400 / 3600 == 0 ? "" : " \(s % 86_400 / 3600) h")
    }

    /// How long ago `t` was, seen from `now`.
    static func ago(_ t: Timestamp, now: Timestamp) -> String {
        t > now ? "in " + span(t - now) : span(now - t) + " ago"
    }

    /// A duration in seconds, to the unit that reads best: `0.41 ms`, `12.5 ms`, `1.24 s`.
    static func seconds(_ s: Double) -> String {
        guard s.isFinite else { return "–" }
        if s < 0.001 { return CFormat.printf("%.0f µs", s * 1e6) }
        if s < 1 { return CFormat.printf(s < 0.01 ? "%.2f ms" : "%.1f ms", s * 1000) }
        return CFormat.printf("%.2f s", s)
    }

    /// Bytes in binary units: `512 B`, `12.4 KiB`, `3.1 MiB`.
    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while abs(v) >= 1024, u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(n) B" : CFormat.printf(v < 10 ? "%.2f" : "%.1f", v) + " " + units[u]
    }

    /// A sample value as people read it: up to 6 significant digits, `NaN`, `+Inf`.
    static func value(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        return CFormat.printf("%.6g", v)
    }

    /// A count with thin separators: `12 345`.
    static func count(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = n < 0 ? "-" : ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "\u{202F}" }
            out.append(c)
        }
        return out
    }
}

extension HTML {
    /// `<time datetime="…">2025-01-31 12:00:05Z</time>` with how long ago as its title.
    mutating func time(_ t: Timestamp, now: Timestamp) {
        raw("<time datetime=\"")
        text(RFC3339.format(t))
        raw("\" title=\"")
        text(WebFormat.ago(t, now: now))
        raw("\">")
        text(WebFormat.time(t))
        raw("</time>")
    }

    /// `3 min ago` with the exact time as its title.
    mutating func ago(_ t: Timestamp, now: Timestamp) {
        raw("<time datetime=\"")
        text(RFC3339.format(t))
        raw("\" title=\"")
        text(WebFormat.time(t))
        raw("\">")
        text(WebFormat.ago(t, now: now))
        raw("</time>")
    }

    /// A table cell with a number, right-aligned.
    mutating func numberCell(_ s: String, label: StaticString? = nil) {
        raw("<td class=\"num\"")
        if let label {
            raw(" data-label=\"")
            raw(label)
            raw("\"")
        }
        raw(">")
        text(s)
        raw("</td>")
    }

    /// A `<p class="empty">` saying there is nothing to show.
    mutating func empty(_ s: StaticString) {
        raw("<p class=\"empty\">")
        raw(s)
        raw("</p>")
    }

    /// A problem box (an error message from outside, kept as written).
    mutating func problem(_ message: String) {
        raw("<div class=\"problem\" role=\"alert\">")
        text(message)
        raw("</div>")
    }
}
