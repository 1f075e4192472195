import AgentClient
import Foundation
import HTTPTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The web pages in a real browser: the real daemon, fed by a log and scrape targets, on an
/// ephemeral loopback port; Debian's headless Chromium opens every page (Tests/WebBrowser/browse.py
/// drives it over the DevTools protocol) and the test reads what the browser built: the alerts
/// by tier with their marks, the rules, the targets, the logs, the chart and its hover values.
/// Each page must load with no error in the browser — no console error, no exception, no
/// Content-Security-Policy violation, no failed load — and fit a 360 px screen.
///
/// Outside text is hostile throughout: a route named like a script, quotes, `</svg>`, a
/// right-to-left override and a NUL reach the pages through the log and the scrape, and must come
/// out as the text they were.
///
/// The run's screenshots of /alerts and /graph go to `.build/web-screenshots/`; with
/// `AGENT_WEB_SCREENSHOTS=docs` they replace the ones in docs/ that the README shows.
@Suite(.serialized) struct WebBrowserTests {
    static let hostileRoute = "/search?q=<script>window.__pwned=1</script>&x=\"'</svg>"
    /// A right-to-left override and a NUL in a label value.
    static let oddRoute = "/files/\u{202E}gpj.exe/\u{0}end"
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A scrape target on 127.0.0.1 serving the current content of a file (so a test can change
    /// what it exposes), and answering POSTs (webhooks) with 200.
    final class FilePeer {
        let process = Process()
        let port: Int
        let file: URL

        init(dir: URL) throws {
            file = dir.appendingPathComponent("peer.prom")
            let script = """
                import http.server, sys
                class H(http.server.BaseHTTPRequestHandler):
                    def do_GET(self):
                        body = open(sys.argv[1], "rb").read()
                        self.send_response(200); self.send_header("Content-Type", "text/plain; version=0.0.4")
                        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
                    def do_POST(self):
                        self.rfile.read(int(self.headers.get("Content-Length", "0")))
                        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
                    def log_message(self, *a): pass
                s = http.server.HTTPServer(("127.0.0.1", 0), H)
                print(s.server_address[1], flush=True)
                s.serve_forever()
                """
            try Self.body(door: 1, window: 0).write(to: file, atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script, file.path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let p = Int(line) else { throw DaemonProcess.Failure("peer did not start: \(line)") }
            port = p
        }

        static func body(door: Int, window: Int) -> String {
            """
            # TYPE peer_temperature gauge
            peer_temperature{room="<script>window.__pwned=3</script>",note="\u{202E}evil \\"quoted\\" </svg>"} 21.5
            # TYPE peer_door_open gauge
            peer_door_open{door="lab"} \(door)
            # TYPE peer_window_open gauge
            peer_window_open{window="lab"} \(window)

            """
        }

        func expose(door: Int, window: Int) throws {
            try Self.body(door: door, window: window).write(to: file, atomically: true, encoding: .utf8)
        }

        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// 40 minutes of access log: five routes (two hostile) with their own shares of the traffic,
    /// which rises and falls; errors that come and go on /api/orders and never stop on the hostile
    /// route; latencies in waves. Returns the number of lines.
    static func writeLog(_ path: String, now: Double) throws -> Int {
        var text = ""
        var lines = 0
        let routes: [(route: String, share: Double)] = [("/api/orders", 0.4), ("/api/users", 0.25), ("/health", 0.2), (hostileRoute, 0.1), (oddRoute, 0.05)]
        var rng = SplitMix(seed: 16)
        var t = now - 2400
        while t < now - 1 {
            let wave = sin(t / 300)
            var pick = rng.unit(), route = routes[0].route
            for r in routes {
                route = r.route
                pick -= r.share
                if pick < 0 { break }
            }
            let errorChance = route == hostileRoute ? 1.0 : route == "/api/orders" ? 0.1 + 0.06 * wave : 0.002
            let status = rng.unit() < errorChance ? 500 : 200
            let base = route == "/api/orders" ? 45.0 : route == "/health" ? 2.0 : 18.0
            let latency = base * (1 + 0.35 * wave) * exp(0.4 * (rng.unit() - 0.5))
            let escapedRoute = route.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\u{0}", with: "\\u0000")
            text += "{\"ts\":\(String(format: "%.3f", t)),\"route\":\"\(escapedRoute)\",\"status\":\(status),\"latency_ms\":\(String(format: "%.2f", latency))}\n"
            lines += 1
            // About 3 requests a second, more at the crest of a slower wave.
            t += 0.35 * (1 - 0.45 * sin(t / 700)) * (0.5 + rng.unit())
        }
        text += "not json at all\n{\"ts\": \"yesterday\", \"route\": \"/x\"}\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return lines + 2
    }

    /// A small deterministic generator (the data, hence the screenshots, are the same each run).
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func unit() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
    }

    struct Report: Decodable {
        struct Page: Decodable {
            var path: String
            var width: Int
            var status: Int?
            var headers: [String: String]?
            var problems: [String]
            var facts: Facts?
            var hover: Hover?
        }
        struct Facts: Decodable {
            struct Heading: Decodable { var id: String; var text: String? }
            struct Table: Decodable { var cls: String; var head: [String?]; var rows: [[String?]] }
            struct Chart: Decodable { var lines: Int; var bands: Int; var labels: [String?]; var unit: String? }
            struct AlertRow: Decodable { var name: String; var tier: String; var state: String?; var chips: [String?]; var annotations: [String]; var sparkline: Bool }
            var title: String
            var h1: String?
            var h2: [Heading]
            var tables: [Table]
            var charts: [Chart]
            var legend: [String?]
            var alerts: [AlertRow]
            var resolved: [String?]
            var errors: [String?]
            var scrollWidth: Int
            var innerWidth: Int
            var refreshShown: Bool
            var pwned: String?
            var background: String
            var colorScheme: String
            var text: String
        }
        struct Hover: Decodable { var text: String; var hot: Int }
        var browser: String?
        var pages: [Page]
    }

    /// Runs browse.py against `base` with `specs`; screenshots go to `shots`.
    static func browse(_ base: String, _ specs: [String], shots: URL? = nil, dark: Bool = false) throws -> Report {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", repository.appendingPathComponent("Tests/WebBrowser/browse.py").path, base]
        if let shots { arguments += ["--shots", shots.path] }
        if dark { arguments.append("--dark") }
        process.arguments = arguments + specs
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw DaemonProcess.Failure("browse.py failed (\(process.terminationStatus)):\n\(errors.suffix(3000))") }
        return try JSONDecoder().decode(Report.self, from: data)
    }

    /// The active alerts as the API lists them: (alertname, labels, state).
    static func activeAlerts(_ agent: DaemonProcess) -> [(name: String, labels: [String: String], state: String)] {
        guard let r = try? ControlClient(socketPath: agent.socket, timeout: 10).request("GET", "/api/v1/alerts"),
              let doc = try? JSONSerialization.jsonObject(with: r.body) as? [String: Any],
              let alerts = (doc["data"] as? [String: Any])?["alerts"] as? [[String: Any]] else { return [] }
        return alerts.compactMap { a in
            guard let labels = a["labels"] as? [String: String], let state = a["state"] as? String else { return nil }
            return (labels["alertname"] ?? "", labels, state)
        }
    }

    @Test func everyPageLoadsInChromiumWithoutErrorAndShowsWhatTheAgentKnows() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-web-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let peer = try FilePeer(dir: dir)
        let deadPort = try freeTCPPort()
        // The daemon logs the address it was given, not the one port 0 picks: a free port, as the other end-to-end tests do.
        let port = try freeTCPPort()
        let logPath = dir.appendingPathComponent("access.jsonl").path
        let logLines = try Self.writeLog(logPath, now: Date().timeIntervalSince1970)
        let rulesPath = dir.appendingPathComponent("web.yaml").path
        try """
            groups:
              - name: web
                interval: 1s
                rules:
                  - alert: ErrorRate
                    expr: |
                      sum by (route) (rate(http_requests_total{status="500"}[5m]))
                        / sum by (route) (rate(http_requests_total[5m]))
                    tiers:
                      - {severity: critical, above: 0.5}
                      - {severity: high, above: 0.03}
                    annotations:
                      summary: "{{ $labels.route }} fails {{ $value | humanizePercentage }} of requests"
                      runbook_url: "https://runbooks.example/error-rate"
                  - alert: LabDoorOpen
                    expr: peer_door_open > 0
                    labels: {severity: medium}
                    annotations: {summary: "the lab door is open"}
                  - alert: LabWindowOpen
                    expr: peer_window_open > 0
                    labels: {severity: low}
                  - alert: SlowBurn
                    expr: vector(1)
                    for: 1h
                    labels: {severity: low}
                  - record: route:http_requests:rate5m
                    expr: sum by (route) (rate(http_requests_total[5m]))
                  - record: broken:join
                    expr: http_requests_total * on(route) group_left http_requests_total
            """.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let agent = try DaemonProcess(extraConfig: """
            scrape:
              - job: lab
                scrape_interval: 1s
                targets: ["http://scraper:hunter2@127.0.0.1:\(peer.port)/metrics"]
              - job: gone
                scrape_interval: 1s
                targets: ["http://127.0.0.1:\(deadPort)/metrics"]
            logs:
              - path: \(logPath)
                job: api
                start_at: beginning
                timestamp: {field: ts}
                labels: [route]
                metrics:
                  - {name: http_requests_total, type: counter, labels: [route, status]}
                  - {name: http_request_duration_ms, type: distribution, field: latency_ms, labels: [route]}
            rule_files: [\(rulesPath)]
            notify:
              route: {receiver: hook, group_wait: 0s}
              receivers:
                - name: hook
                  webhook: {url: "http://127.0.0.1:\(peer.port)/hook?token=SECRET-WEBHOOK-TOKEN"}
            """, http: "127.0.0.1:\(port)", dir: dir)
        let base = "http://127.0.0.1:\(port)"

        // The state the pages must show: two tiers of ErrorRate (the high one inhibited by the
        // critical), the lab door firing and silenced, the window fired and resolved, SlowBurn pending.
        let ready = eventually(within: 90) {
            let a = Self.activeAlerts(agent)
            return a.contains { $0.name == "ErrorRate" && $0.labels["severity"] == "critical" && $0.state == "firing" }
                && a.contains { $0.name == "ErrorRate" && $0.labels["severity"] == "high" && $0.state == "firing" }
                && a.contains { $0.name == "LabDoorOpen" && $0.state == "firing" } && a.contains { $0.name == "SlowBurn" }
        }
        #expect(ready, "alerts: \(Self.activeAlerts(agent))\n\(agent.log.suffix(4000))")
        let silence = try agent.cli(["silence", "add", "alertname=\"LabDoorOpen\"", "--for", "1h", "--comment", "web test"])
        #expect(silence.status == 0, "\(silence.stderr)")
        try peer.expose(door: 1, window: 1)
        #expect(eventually(within: 60) { Self.activeAlerts(agent).contains { $0.name == "LabWindowOpen" && $0.state == "firing" } })
        try peer.expose(door: 1, window: 0)
        #expect(eventually(within: 60) { !Self.activeAlerts(agent).contains { $0.name == "LabWindowOpen" } })
        // Both targets scraped, the log read to its end.
        #expect(eventually(within: 60) {
            let page = (try? ControlClient(socketPath: agent.socket, timeout: 10).request("GET", "/targets")).map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            return page.components(separatedBy: "not yet").count == 1 && page.contains("badge down")
        })

        let rate = "graph?expr=" + percentEncoded("sum by (route) (rate(http_requests_total[5m]))") + "&range=30m"
        let latency = "graph?expr=" + percentEncoded("http_request_duration_ms{route=\"/api/orders\"}") + "&range=30m"
        // An alert's generatorURL, as Prometheus writes it.
        let generator = "graph?g0.expr=" + percentEncoded("sum by (route) (rate(http_requests_total[5m]))") + "&g0.tab=1&g0.range_input=30m"
        let pages = ["", "alerts", "rules", "targets", "logs", "status", rate, latency, generator,
                     "graph", "graph?expr=" + percentEncoded("sum(rate(x[5m]"), "graph?expr=" + percentEncoded("<script>window.__pwned=4</script>")]
        let shots = Self.repository.appendingPathComponent(".build/web-screenshots")
        let wide = try Self.browse(base, pages.map { page in
            page == "alerts" ? "1280:alerts:shot-web-alerts" : page == rate ? "1280:\(page):hover+shot-web-graph" : "1280:\(page)"
        }, shots: shots)
        let narrow = try Self.browse(base, pages.map { "360:\($0)" })
        let dark = try Self.browse(base, ["1280:", "1280:alerts"], dark: true)
        withExtendedLifetime(peer) {}

        for page in wide.pages + narrow.pages + dark.pages {
            #expect(page.problems.isEmpty, "\(page.width) px /\(page.path): the browser logged \(page.problems)")
            #expect(page.status == 200, "/\(page.path): HTTP \(page.status ?? 0)")
            #expect(page.headers?["content-security-policy"]?.hasPrefix("default-src 'none'") == true, "/\(page.path): no CSP")
            guard let f = page.facts else {
                Issue.record("/\(page.path): no facts")
                continue
            }
            #expect(f.pwned == nil, "/\(page.path): outside text ran as script")
            #expect(f.scrollWidth <= f.innerWidth, "\(page.width) px /\(page.path): the page is \(f.scrollWidth) px wide")
            #expect(f.refreshShown, "/\(page.path): the script did not run")
            for secret in ["hunter2", "SECRET-WEBHOOK-TOKEN"] { #expect(!f.text.contains(secret), "/\(page.path) shows \(secret)") }
        }
        func page(_ path: String, in report: Report = wide) throws -> Report.Facts {
            try #require(report.pages.first { $0.path == path }?.facts, "no page \(path)")
        }

        // Overview.
        let overview = try page("")
        #expect(overview.h1 == "Overview" && overview.text.contains("healthy") && overview.text.contains("ready"))
        #expect(overview.text.contains("firing") && overview.text.contains("of 2 up"), "\(overview.text)")
        #expect(overview.tables.contains { $0.head.contains("distributions") })

        // Alerts: by tier, critical first; the marks; the hostile route as its text; sparklines; the resolved window.
        let alerts = try page("alerts")
        let tiers = alerts.h2.map(\.id).filter { $0.hasPrefix("tier-") }
        #expect(tiers == ["tier-critical", "tier-high", "tier-medium", "tier-low"], "\(tiers)")
        let critical = alerts.alerts.filter { $0.tier == "tier-critical" }
        #expect(critical.map(\.name) == ["ErrorRate"], "\(critical)")
        #expect(critical.first?.chips.contains("route=" + Self.hostileRoute) == true, "\(critical.first?.chips ?? [])")
        #expect(critical.first?.annotations.first?.hasPrefix(Self.hostileRoute + " fails") == true, "\(critical.first?.annotations ?? [])")
        #expect(critical.first?.sparkline == true, "the critical alert's last 30 minutes")
        let high = alerts.alerts.filter { $0.tier == "tier-high" }
        #expect(high.count == 1 && high.first?.chips.contains("route=/api/orders") == true && high.first?.state?.contains("inhibited") == true, "\(high)")
        #expect(high.first?.sparkline == true)
        let door = alerts.alerts.first { $0.name == "LabDoorOpen" }
        #expect(door?.tier == "tier-medium" && door?.state?.contains("firing") == true && door?.state?.contains("silenced") == true, "\(String(describing: door))")
        let slow = alerts.alerts.first { $0.name == "SlowBurn" }
        #expect(slow?.tier == "tier-low" && slow?.state?.contains("pending") == true, "\(String(describing: slow))")
        // Once: the rule group still keeps it, and the store remembers its ALERTS series too.
        #expect(alerts.resolved.filter { $0?.contains("LabWindowOpen") == true }.count == 1, "\(alerts.resolved)")

        // Rules: expressions, tiers, health and the broken rule's error.
        let rules = try page("rules")
        let ruleRows = rules.tables.flatMap(\.rows)
        #expect(ruleRows.contains { ($0.first ?? "")?.contains("ErrorRate") == true && $0.contains { $0?.contains("critical > 0.5") == true } })
        let broken = ruleRows.first { ($0.first ?? "")?.contains("broken:join") == true }
        #expect(broken?.contains { $0?.hasPrefix("error") == true } == true, "\(String(describing: broken))")
        #expect(ruleRows.contains { ($0.first ?? "")?.contains("route:http_requests:rate5m") == true && $0.contains { $0 == "ok" } })

        // Targets: one up with samples, one down with its error; the password never shown.
        let targets = try page("targets")
        let lab = targets.tables.flatMap(\.rows).first { ($0.first ?? "")?.contains("127.0.0.1:\(peer.port)") == true }
        #expect(lab?.contains("up") == true && (lab?[5] ?? "")?.first.map { $0.isNumber && $0 != "0" } == true, "\(String(describing: lab))")
        #expect(lab?.first??.contains("scraper:<redacted>@") == true)
        let gone = targets.tables.flatMap(\.rows).first { ($0.first ?? "")?.contains("127.0.0.1:\(deadPort)") == true }
        #expect(gone?.contains("down") == true && (gone?.last ?? "")?.isEmpty == false, "\(String(describing: gone))")

        // Logs: the file, every line read, the malformed ones by reason.
        let logs = try page("logs")
        let file = logs.tables.first { $0.cls.contains("files") }?.rows.first
        #expect(file?.first == logPath && (file?[2] ?? "")?.filter(\.isNumber) == String(logLines), "\(String(describing: file)) for \(logLines) lines")
        let malformed = logs.tables.first { $0.cls.contains("malformed") }?.rows ?? []
        #expect(malformed.contains { $0.contains("not_json") && $0.last == "1" } && malformed.contains { $0.contains("bad_timestamp") }, "\(malformed)")

        // Graph: one line per route with a legend, axes with units, values under the pointer.
        let graph = try page(rate)
        #expect(graph.charts.count == 1 && graph.charts.first?.lines == 5, "\(graph.charts)")
        #expect(graph.legend.count == 5 && graph.legend.contains { $0?.contains(Self.hostileRoute) == true }, "\(graph.legend)")
        // The NUL shows as U+FFFD; the override is closed where the value ends.
        #expect(graph.legend.contains { $0?.contains("/files/\u{202E}gpj.exe/\u{FFFD}end\u{202C}") == true }, "\(graph.legend)")
        #expect(graph.charts.first?.unit == "/s" && graph.charts.first?.labels.contains { $0?.hasSuffix("/s") == true } == true)
        #expect(graph.charts.first?.labels.contains { $0?.contains("time (UTC)") == true } == true)
        let hover = try #require(wide.pages.first { $0.path == rate }?.hover, "no tooltip under the pointer")
        #expect(hover.hot == 1 && hover.text.contains("Z\n") && hover.text.contains("/s"), "\(hover.text)")
        // A notification's link (Prometheus's g0.expr) opens the same graph.
        let linked = try page(generator)
        #expect(linked.charts.first?.lines == 5, "\(linked.charts)")
        // A distribution: its quantile bands.
        let bands = try page(latency)
        #expect(bands.charts.first?.lines == 1 && (bands.charts.first?.bands ?? 0) >= 2 && bands.charts.first?.unit == "ms", "\(bands.charts)")
        #expect(bands.tables.first?.head.contains("median") == true)
        // Start page, a syntax error, hostile text in the query box.
        #expect(try page("graph").text.contains("http_request_duration_ms"))
        #expect(try page("graph?expr=" + percentEncoded("sum(rate(x[5m]")).errors.first??.contains("1:") == true)
        #expect(try page("graph?expr=" + percentEncoded("<script>window.__pwned=4</script>")).errors.isEmpty == false)

        // Status: the configuration, secrets redacted.
        let status = try page("status")
        #expect(status.text.contains("0.1.0") && status.text.contains("webhook") && status.text.contains("<redacted>"))

        // Dark mode follows the system setting.
        #expect(try page("", in: dark).colorScheme == "dark" && page("", in: dark).background != overview.background)

        // The same pages on the Unix socket.
        let socket = try #require(RawConnection(unixPath: agent.socket))
        _ = socket.send("GET /alerts HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n")
        let answer = try #require(socket.readResponse())
        #expect(answer.status == 200 && answer.headers["content-type"] == "text/html; charset=utf-8" && answer.body.contains("<h1>Alerts</h1>"))
        #expect(answer.headers["content-security-policy"] == "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

        if let target = ProcessInfo.processInfo.environment["AGENT_WEB_SCREENSHOTS"] {
            for name in ["web-alerts.png", "web-graph.png"] {
                let dir = target.hasPrefix("/") ? URL(fileURLWithPath: target) : Self.repository.appendingPathComponent(target)
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                let to = dir.appendingPathComponent(name)
                try? FileManager.default.removeItem(at: to)
                try FileManager.default.copyItem(at: shots.appendingPathComponent(name), to: to)
            }
        }
        #expect(agent.signal(SIGTERM) == 0)
    }

    func percentEncoded(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s
    }
}
