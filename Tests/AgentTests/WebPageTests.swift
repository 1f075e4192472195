@testable import AgentDaemon
@testable import Alerting
import Foundation
import HTTPServing
@testable import Ingest
import Query
import Testing
import TimeSeries

/// Outside text that must come out of every page as inert, readable text.
struct Hostile: CustomTestStringConvertible, Sendable {
    let name: String
    let text: String
    var testDescription: String { name }

    static let all = [
        Hostile(name: "script element", text: "<script>window.__pwned=1</script>"),
        Hostile(name: "attribute break-out", text: "\"><img src=x onerror=alert(1)>'"),
        Hostile(name: "closing svg", text: "</svg></table><b>bold</b>"),
        Hostile(name: "right-to-left override", text: "\u{202E}gpj.exe"),
        Hostile(name: "nested isolates and overrides", text: "\u{2067}a\u{202D}b\u{2069}c\u{202B}d"),
        Hostile(name: "NUL and controls", text: "a\u{0}b\u{1}c\u{7F}d\u{85}e"),
        Hostile(name: "entity", text: "&lt;&amp;&#x3c;"),
    ]
}

@Suite struct WebPageTests {
    // MARK: Escaping

    @Test(arguments: Hostile.all) func escapedTextHasNoMarkupAndNoControlCharacters(_ h: Hostile) {
        let out = HTML.escape(h.text)
        #expect(!out.contains("<") && !out.contains(">") && !out.contains("\"") && !out.contains("'"))
        #expect(!out.unicodeScalars.contains { $0.value < 0x20 || ($0.value >= 0x7F && $0.value <= 0x9F) })
        // Read back as a browser would, it is the text with control characters made visible as U+FFFD.
        let unescaped = out.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
        let expected = String(String.UnicodeScalarView(h.text.unicodeScalars.map {
            $0.value < 0x20 || ($0.value >= 0x7F && $0.value <= 0x9F) ? "\u{FFFD}" : $0
        }))
        // What the text left open is closed at its end, and only that.
        #expect(unescaped.hasPrefix(expected))
        #expect(unescaped.dropFirst(expected.count).unicodeScalars.allSatisfy { $0 == "\u{202C}" || $0 == "\u{2069}" })
    }

    @Test func bidirectionalControlsAreClosedWhereTheTextEnds() {
        #expect(HTML.escape("\u{202E}gpj.exe") == "\u{202E}gpj.exe\u{202C}")
        #expect(HTML.escape("\u{2067}a\u{202D}b\u{2069}c\u{202B}d") == "\u{2067}a\u{202D}b\u{2069}c\u{202B}d\u{202C}")
        #expect(HTML.escape("\u{2066}\u{202E}x") == "\u{2066}\u{202E}x\u{202C}\u{2069}")
        #expect(HTML.escape("closed \u{202E}x\u{202C} stays") == "closed \u{202E}x\u{202C} stays")
        #expect(HTML.escape("stray \u{202C}\u{2069}") == "stray \u{202C}\u{2069}")
    }

    @Test func labelValuesAreIsolatedSoAnOverrideCannotReorderWhatFollows() {
        var h = HTML()
        h.labels(Labels(name: "m", ["a": "\u{202E}xyz", "b": "plain"]))
        let out = String(decoding: h.bytes, as: UTF8.self)
        #expect(out.contains("<bdi>\u{202E}xyz\u{202C}</bdi>"), "closed, and isolated")
        #expect(out.contains("<bdi>plain</bdi>"))
    }

    @Test func numbersAreWrittenExactly() {
        var h = HTML()
        for n in [0, 7, 10, 99, 1234567, -42, Int.min] {
            h.integer(n)
            h.raw(" ")
        }
        h.tenths(12.34)
        h.raw(" ")
        h.tenths(-0.05)
        h.raw(" ")
        h.tenths(5)
        #expect(String(decoding: h.bytes, as: UTF8.self) == "0 7 10 99 1234567 -42 \(Int.min) 12.3 -0.1 5")
    }

    // MARK: Pages with hostile data

    /// Checks a rendered page: one script element (ours), no element from outside text, no
    /// control character, and every bidirectional override inside a `<bdi>` or a tag.
    static func checkInert(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let page = String(decoding: bytes, as: UTF8.self)
        #expect(page.components(separatedBy: "<script").count == 2, "one script element, the page's own", sourceLocation: sourceLocation)
        for element in ["<img", "<b>bold", "</svg></table>"] {
            #expect(!page.contains(element), "\(element) from outside text", sourceLocation: sourceLocation)
        }
        #expect(!page.contains("window.__pwned=1</script>"), sourceLocation: sourceLocation)
        #expect(!bytes.contains(0), "a NUL byte", sourceLocation: sourceLocation)
        #expect(!page.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || ($0.value >= 0x7F && $0.value <= 0x9F) },
                "a control character", sourceLocation: sourceLocation)
        // Bidirectional controls from outside text are closed where that text ends: none is open
        // where markup begins or ends, so none reorders the page around it.
        var open: [Unicode.Scalar] = []
        for (i, c) in page.unicodeScalars.enumerated() {
            switch c.value {
            case 0x202A...0x202B, 0x202D...0x202E, 0x2066...0x2068: open.append(c)
            case 0x202C: if let last = open.last, last.value < 0x2066 { open.removeLast() }
            case 0x2069: if let k = open.lastIndex(where: { $0.value >= 0x2066 }) { open.removeSubrange(k...) }
            case 0x3C, 0x3E:
                #expect(open.isEmpty, "a bidirectional control left open before markup at scalar \(i)", sourceLocation: sourceLocation)
                open.removeAll()
            default: break
            }
        }
    }

    static let now: Timestamp = 1_760_000_000_000

    static func hostileAlert(_ text: String, severity: String?, state: Alert.State) -> Alert {
        var a = Alert(identity: Labels(["alertname": "Hostile" + text, "route": text, "job": "api"]), severity: severity,
                      annotations: ["summary": text, "runbook_url": "javascript:alert(1)", "description": "line\n" + text],
                      state: state, value: 0.7, activeAt: now - 600_000, firedAt: state == .pending ? nil : now - 300_000,
                      resolvedAt: state == .resolved ? now - 60_000 : nil, source: "rules.yaml:" + text)
        a.evaluatedAt = now - 1_000
        return a
    }

    @Test(arguments: Hostile.all) func alertsPageKeepsHostileLabelsAndAnnotationsInert(_ h: Hostile) {
        let active = [
            Daemon.AlertRow(alert: Self.hostileAlert(h.text, severity: "critical", state: .firing), silencedBy: [h.text], inhibited: false,
                            history: ValueHistory(end: Self.now - 1_000, points: [Sample(timestamp: Self.now - 61_000, value: 0.5), Sample(timestamp: Self.now - 1_000, value: 0.7)])),
            Daemon.AlertRow(alert: Self.hostileAlert(h.text, severity: h.text, state: .pending), silencedBy: [], inhibited: true, history: nil),
        ]
        let resolved = [Daemon.ResolvedRow(labels: Labels(["alertname": h.text, "severity": h.text]), annotations: ["summary": h.text],
                                           activeAt: Self.now - 900_000, resolvedAt: Self.now - 60_000, source: "")]
        let page = AlertsPage.render(Daemon.AlertsSnapshot(now: Self.now, active: active, resolved: resolved, historiesSkipped: 0,
                                                           historyErrors: [h.text], notifications: true), healthy: true)
        Self.checkInert(page)
        let text = String(decoding: page, as: UTF8.self)
        // A javascript: runbook is not a link.
        #expect(!text.contains("href=\"javascript:"))
        #expect(text.contains(HTML.escape(h.text)))
    }

    @Test func alertsPageOrdersTiersFromCriticalToLowThenOthers() {
        let alerts = ["low", "warning", "critical", "medium", "high"].map { severity in
            Daemon.AlertRow(alert: Alert(identity: Labels(["alertname": "A" + severity]), severity: severity, annotations: [:], state: .firing,
                                         value: 1, activeAt: Self.now), silencedBy: [], inhibited: false, history: nil)
        } + [Daemon.AlertRow(alert: Alert(identity: Labels(["alertname": "Bare"]), severity: nil, annotations: [:], state: .pending, value: 1,
                                          activeAt: Self.now), silencedBy: [], inhibited: false, history: nil)]
        let page = String(decoding: AlertsPage.render(Daemon.AlertsSnapshot(now: Self.now, active: alerts, resolved: [], historiesSkipped: 0,
                                                                            historyErrors: [], notifications: false), healthy: true), as: UTF8.self)
        let order = ["tier-critical", "tier-high", "tier-medium", "tier-low", "tier-other-0", "tier-none"].map { page.range(of: "id=\"\($0)\"")?.lowerBound }
        #expect(order.allSatisfy { $0 != nil }, "\(order)")
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())
    }

    @Test(arguments: Hostile.all) func rulesTargetsLogsAndGraphPagesKeepHostileTextInert(_ h: Hostile) throws {
        let quoted = h.text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\u{0}", with: "\\u0000").replacingOccurrences(of: "\u{1}", with: "\\u0001")
            .replacingOccurrences(of: "\u{7F}", with: "\\u007F").replacingOccurrences(of: "\u{85}", with: "\\u0085")
        let yaml = """
            groups:
              - name: "\(quoted)"
                rules:
                  - alert: Hostile
                    expr: |
                      vector(1) > 0 # \(quoted)
                    labels: {team: "\(quoted)"}
                    tiers: [{severity: critical, above: 0.5}]
            """
        let file = try RuleFile.parse(yaml, path: "rules.yaml")
        let group = file.groups[0]
        let status = GroupStatus(name: group.name, file: "rules/" + h.text + ".yaml", interval: 15_000, lastEvaluatedAt: Self.now - 1_000,
                                 lastEvaluationDuration: .milliseconds(2), lastError: h.text, evaluations: 3, failedRuleEvaluations: 1,
                                 rules: [RuleStatus(name: "Hostile", kind: .alerting, health: .error(h.text), lastEvaluatedAt: Self.now,
                                                    lastEvaluationDuration: .microseconds(300), activeAlerts: 1)])
        Self.checkInert(RulesPage.render([(status, group)], now: Self.now, healthy: false))

        var target = ScrapeTarget(url: "http://user:pw@127.0.0.1:9/metrics?x=" + h.text, job: h.text, labels: ["env": h.text])
        target.instance = h.text
        var report = ScrapeReport(timestamp: Self.now - 2_000, duration: .milliseconds(12), error: ScrapeError(.http, h.text))
        report.samplesScraped = 12
        let targetsPage = TargetsPage.render([Daemon.TargetRow(target: target, report: report, consecutiveFailures: 2)], now: Self.now, healthy: true)
        Self.checkInert(targetsPage)
        #expect(!String(decoding: targetsPage, as: UTF8.self).contains("user:pw@"), "the URL's password is redacted")

        var stats = LogFileStats()
        stats.lines = 10
        let logs = [Daemon.LogRow(paths: ["/var/log/" + h.text], job: h.text, metrics: [h.text],
                                  files: [Daemon.LogFileRow(path: "/var/log/" + h.text, stats: stats, offset: 99, rotated: true, linesPerSecond: 1.5)],
                                  malformed: [("/var/log/" + h.text, h.text, 3)], problems: [("/var/log/" + h.text, h.text)])]
        Self.checkInert(LogsPage.render(logs, activity: LogActivity.Snapshot(lastPoll: Self.now, lastPollDuration: .milliseconds(1)), now: Self.now, healthy: true))

        var graph = Daemon.GraphSnapshot(expression: h.text, range: 3_600_000, fixedEnd: Self.now, start: Self.now - 3_600_000, end: Self.now, step: 60_000,
                                         unit: .milliseconds, now: Self.now)
        let values = (0..<61).map { $0 % 7 == 0 ? Double.nan : Double($0) }
        graph.series = [Daemon.GraphSeries(labels: Labels(name: "x", ["l": h.text]), values: values,
                                           quantiles: [0.05: values, 0.25: values, 0.75: values, 0.95: values])]
        graph.isDistribution = true
        graph.warnings = [h.text]
        Self.checkInert(GraphPage.render(graph, healthy: true))
        graph.problem = h.text
        Self.checkInert(GraphPage.render(graph, healthy: true))
        graph.problem = nil
        graph.expression = ""
        graph.metricNames = [h.text]
        Self.checkInert(GraphPage.render(graph, healthy: true))
    }

    @Test func statusPageShowsWhereSecretsComeFromButNeverTheirValues() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-web-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try AgentConfig.parse("""
            global: {state_dir: \(dir.path), external_labels: {host: "<script>x</script>"}}
            scrape:
              - job: api
                targets: ["http://scraper:hunter2@127.0.0.1:9100/metrics"]
                headers: {X-Token: tok-SECRET-1}
            notify:
              route: {receiver: hook}
              receivers:
                - name: hook
                  webhook: {url: "https://hooks.example.com/services/T0/B0/SECRET-2?token=SECRET-3", headers: {Authorization: "Bearer SECRET-4"}}
                - name: chat
                  slack: {url_file: /run/credentials/slack_url}
            remote_write:
              - url: "https://rw:SECRET-5@metrics.example.com/api/v1/write?key=SECRET-6"
            """, file: dir.appendingPathComponent("agent.yaml").path)
        let page = String(decoding: StatusPage.render(config, startedAt: Self.now, now: Self.now, healthy: true), as: UTF8.self)
        for secret in ["hunter2", "tok-SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4", "SECRET-5", "SECRET-6"] {
            #expect(!page.contains(secret), "\(secret) is on the page")
        }
        #expect(page.contains("secret file /run/credentials/slack_url"))
        #expect(page.contains("https://hooks.example.com/&lt;redacted&gt;"))
        #expect(page.contains("scraper:&lt;redacted&gt;@127.0.0.1:9100"))
        Self.checkInert(Array(page.utf8))
    }

    // MARK: Pieces

    @Test func urlsLoseOnlyThePasswordOfTheirUserInformation() {
        #expect(WebRedaction.url("http://u:p@h:1/x?y=1") == "http://u:<redacted>@h:1/x?y=1")
        #expect(WebRedaction.url("http://u@h/x") == "http://u@h/x")
        #expect(WebRedaction.url("http://h/x?a=b@c") == "http://h/x?a=b@c")
        #expect(WebRedaction.url("https://u:p:q@h") == "https://u:<redacted>@h")
        #expect(WebRedaction.url("not a url") == "not a url")
    }

    @Test(arguments: [
        ("http_request_duration_seconds", "s"), ("latency_ms", "ms"), ("rate(http_requests_total[5m])", "/s"),
        ("sum by (route) (rate(node_network_receive_bytes_total[5m]))", "B/s"), ("count(up)", ""),
        ("rate(errors_total[5m]) / rate(requests_total[5m])", ""), ("quantile_over_time(0.95, latency_ms[5m])", "ms"),
        ("histogram_quantile(0.9, rate(x_seconds_bucket[5m]))", "s"), ("x_bytes * 8", "?"), ("process_resident_memory_bytes > 1e9", "B"),
    ])
    func unitsFollowTheMetricNamesAndWhatTheExpressionDoes(_ c: (String, String)) throws {
        let unit = ValueUnit.of(try PromQL.parse(c.0))
        #expect((unit?.symbol ?? "?") == c.1, "\(c.0)")
    }

    @Test func tickLabelsPickAReadableScale() {
        let ms = ValueUnit.milliseconds
        #expect(ms.format(250, scale: ms.scale(for: 400)) == "250 ms")
        #expect(ms.format(1500, scale: ms.scale(for: 2000)) == "1.5 s")
        #expect(ValueUnit.bytes.format(2_500_000, scale: ValueUnit.bytes.scale(for: 3e6)) == "2.5 MB")
        #expect(ValueUnit.none.perSecond.format(0.25, scale: ValueUnit.none.perSecond.scale(for: 0.5)) == "0.25/s")
        let t = LineChart.ticks(lo: 3, hi: 97)
        #expect(t.lo == 0 && t.hi == 100 && t.ticks == [0, 20, 40, 60, 80, 100])
        let flat = LineChart.ticks(lo: 5, hi: 5)
        #expect(flat.lo < 5 && flat.hi > 5)
        #expect(LineChart.timeTicks(start: 0, end: 3_600_000).step == 600_000)
    }

    @Test func graphLinksAreFormEncoded() {
        #expect(GraphPage.query(expr: "rate(x{a=\"b c\"}[5m])", range: 3_600_000, end: nil) == "expr=rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29&range=1h")
    }

    @Test func logRatesFollowTheLastPolls() {
        let activity = LogActivity()
        #expect(activity.snapshot().lastPoll == nil)
        activity.record([("/a", 0)], at: 1_000, monotonic: 10_000, took: .milliseconds(1))
        #expect(activity.snapshot().files["/a"]?.linesPerSecond == nil, "one poll gives no rate")
        for i in 1...20 { activity.record([("/a", 50 * i), ("/b", 7)], at: 1_000, monotonic: 10_000 + Int64(i) * 1_000, took: .zero) }
        let s = activity.snapshot()
        #expect(s.files["/a"]?.linesPerSecond == 50)
        #expect(s.files["/b"]?.linesPerSecond == 0)
        #expect(s.rounds == 21)
        activity.record([("/b", 9)], at: 1_000, monotonic: 40_000, took: .zero)
        #expect(activity.snapshot().files["/a"] == nil, "a path no longer followed is forgotten")
    }

    @Test func staticAssetsRevalidateByETag() {
        let first = WebAssets.css.response(to: Request(http: HTTPRequest(method: "GET", path: "/static/app.css")))
        #expect(first.status == 200 && first.body == WebAssets.css.bytes)
        let etag = try? #require(first.headers["etag"])
        let again = WebAssets.css.response(to: Request(http: HTTPRequest(method: "GET", path: "/static/app.css",
                                                                         headers: HTTPHeaders([("if-none-match", etag ?? "")]))))
        #expect(again.status == 304 && again.body.isEmpty)
        let other = WebAssets.css.response(to: Request(http: HTTPRequest(method: "GET", path: "/static/app.css",
                                                                         headers: HTTPHeaders([("if-none-match", "\"other\"")]))))
        #expect(other.status == 200)
    }

    @Test func everyPageSendsTheContentSecurityPolicy() {
        let r = WebPage.response([], timing: .init(wall: .milliseconds(3), cpu: .microseconds(2500), query: nil))
        #expect(r.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        #expect(r.headers["content-security-policy"]?.contains("script-src 'self'") == true)
        #expect(r.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)
        #expect(r.headers["server-timing"] == "page;dur=3.000, cpu;dur=2.500")
        let graph = WebPage.response([], timing: .init(wall: .milliseconds(3), cpu: .milliseconds(2), query: .microseconds(1500)))
        #expect(graph.headers["server-timing"] == "page;dur=3.000, cpu;dur=2.000, query;dur=1.500")
    }
}
