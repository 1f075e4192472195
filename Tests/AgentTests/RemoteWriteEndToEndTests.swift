import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Remote write against real receivers: Debian's Prometheus 2.42 (`--web.enable-remote-write-receiver`)
/// and VictoriaMetrics, on ephemeral loopback ports with scratch data folders. The agent scrapes
/// itself, tails a log (begun 90 s in the past: backfilled samples) and evaluates rules, on 1 s
/// slots, sending every second.
@Suite(.serialized) struct RemoteWriteEndToEndTests {
    static let rules = """
        groups:
          - name: rw
            interval: 1s
            rules:
              - record: job:http_requests:rate30s
                expr: sum by (job) (rate(http_requests_total[30s]))
              - alert: ServerErrors
                expr: sum(rate(http_requests_total{status="500"}[30s])) > 0
                for: 2s
                labels: {severity: high}
        """

    static let globalExtra = """
          resolution: 1s
          retention: 10m
          evaluation_interval: 1s
          external_labels: {host: e2e}
        """

    /// Scrape itself, tail `logPath`, the rules, and send to `endpoints` (name, url, extra queue keys).
    static func config(agentPort: Int, logPath: String, endpoints: [(name: String, url: String, queue: String)]) -> String {
        var text = """
            scrape:
              - job: self
                targets: [http://127.0.0.1:\(agentPort)/metrics]
            rule_files: [rules.yaml]
            logs:
              - path: \(logPath)
                job: api
                start_at: beginning
                timestamp: {field: ts}
                metrics:
                  - {name: http_requests_total, type: counter, labels: [route, status]}
                  - {name: http_request_duration_seconds, type: distribution, field: latency_s}
            remote_write:

            """
        for e in endpoints {
            text += "  - {url: \"\(e.url)\", name: \(e.name), queue_config: {batch_send_deadline: 1s\(e.queue.isEmpty ? "" : ", " + e.queue)}}\n"
        }
        return text
    }

    /// The agent's remote-write status, by endpoint name.
    static func status(_ agent: DaemonProcess) -> [String: [String: Any]] {
        guard let result = try? agent.cli(["status", "--output", "json"]), result.status == 0,
              let doc = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
              let endpoints = doc["remote_write"] as? [[String: Any]] else { return [:] }
        var out: [String: [String: Any]] = [:]
        for e in endpoints { if let name = e["name"] as? String { out[name] = e } }
        return out
    }

    /// Waits until every endpoint has acknowledged everything at or before `t` (ms).
    static func waitForWatermarks(_ agent: DaemonProcess, _ names: [String], through t: Int64, within seconds: Double = 120) -> Bool {
        eventually(within: seconds) {
            let s = status(agent)
            return names.allSatisfy { name in ((s[name]?["watermark"] as? NSNumber)?.int64Value ?? 0) >= t }
        }
    }

    /// A query time near `around` (seconds) at which no sample of the agent lies exactly at the time
    /// or `range` before it: Prometheus 2 selects `[t−range, t]`, Prometheus 3 (and the agent)
    /// `(t−range, t]`; away from samples they agree.
    static func queryTime(around: Double, range: Int64, agentPort: Int) throws -> Double {
        let base = Int64(around * 1000)
        let samples = keyed(try prometheusQuery(port: agentPort, "{__name__=~\".+\"}[\(range / 1000 + 20)s]", at: Double(base + 1000) / 1000))
        var times = Set<Int64>()
        for values in samples.values { for s in values { times.insert(s.t) } }
        var t = base
        while times.contains(t) || times.contains(t - range) { t += 1 }
        return Double(t) / 1000
    }

    @Test func prometheusAndVictoriaMetricsAnswerTheAgentsQueriesWithTheAgentsValues() throws {
        guard RemoteWriteReceiver.isInstalled(.prometheus), RemoteWriteReceiver.isInstalled(.victoriaMetrics) else {
            Issue.record("prometheus or victoria-metrics is not installed (make test-deps)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-rw-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let prometheus = try RemoteWriteReceiver(.prometheus, dir: dir)
        let victoria = try RemoteWriteReceiver(.victoriaMetrics, dir: dir)
        let log = try AccessLogWriter(path: dir.appendingPathComponent("access.jsonl").path, backfill: 900, seconds: 90)
        try Self.rules.write(to: dir.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)
        let agentPort = try freeTCPPort()
        let agent = try DaemonProcess(
            extraConfig: Self.config(agentPort: agentPort, logPath: log.path,
                                     endpoints: [("prometheus", prometheus.writeURL, ""), ("victoria", victoria.writeURL, "")]),
            globalExtra: Self.globalExtra, http: "127.0.0.1:\(agentPort)", dir: dir)
        log.start()
        defer { log.stop() }
        // Live data for a while: scrapes, rule evaluations, log lines, all on 1 s slots.
        Thread.sleep(forTimeInterval: 30)
        let range: Int64 = 150_000
        let t = try Self.queryTime(around: Date().timeIntervalSince1970 - 3, range: range, agentPort: agentPort)
        let through = Int64(t * 1000)
        #expect(Self.waitForWatermarks(agent, ["prometheus", "victoria"], through: through),
                "not everything up to \(through) was acknowledged: \(Self.status(agent))\n\(agent.log.suffix(2000))")

        // Every sample of every series, as stored: the agent's range selection against each receiver's.
        var mine = keyed(try prometheusQuery(port: agentPort, "{__name__=~\".+\"}[\(range / 1000)s]", at: t))
        for suffix in ["_count", "_sum"] {
            mine.merge(keyed(try prometheusQuery(port: agentPort, "http_request_duration_seconds\(suffix)[\(range / 1000)s]", at: t))) { a, _ in a }
        }
        #expect(mine.count > 100, "the agent holds its own metrics, the scraped ones, the log's and the rules'")
        #expect(mine.keys.contains { $0.contains("__name__=ALERTS,") } && mine.keys.contains { $0.contains("job:http_requests:rate30s") })
        let fromPrometheus = keyed(try prometheus.query("{host=\"e2e\"}[\(range / 1000)s]", at: t), dropping: ["host"])
        #expect(sampleDifference(agent: mine, receiver: fromPrometheus) == nil)
        // VictoriaMetrics needs a moment to make what it acknowledged searchable.
        var fromVictoria: SeriesValues = [:]
        let complete = eventually(within: 30) {
            fromVictoria = keyed((try? victoria.query("{host=\"e2e\"}[\(range / 1000)s]", at: t)) ?? [], dropping: ["host"])
            return sampleDifference(agent: mine, receiver: fromVictoria, tolerance: 1e-11, ignoreNaN: true) == nil
        }
        #expect(complete, "\(sampleDifference(agent: mine, receiver: fromVictoria, tolerance: 1e-11, ignoreNaN: true) ?? "")")

        // The same PromQL, the same values: gauges, counters, recorded series, rate, alerts.
        for expr in ["rate(http_requests_total[30s])", "increase(agent_samples_appended_total[45s])", "rate(http_request_duration_seconds_count[30s])",
                     "rate(http_request_duration_seconds_sum[1m]) / rate(http_request_duration_seconds_count[1m])",
                     "job:http_requests:rate30s", "sum by (job) (rate(http_requests_total[1m]))", "ALERTS", "up",
                     "max_over_time(process_resident_memory_bytes[1m])", "count_over_time(http_requests_total[1m])"] {
            let a = keyed(try prometheusQuery(port: agentPort, expr, at: t))
            let p = keyed(try prometheus.query(expr, at: t), dropping: ["host"])
            #expect(!a.isEmpty, "\(expr): the agent has an answer")
            #expect(sampleDifference(agent: a, receiver: p, tolerance: 1e-9) == nil, "Prometheus: \(expr)")
        }
        // MetricsQL's rate and increase do not extrapolate (by design), so VictoriaMetrics is asked
        // what both languages define alike.
        for expr in ["job:http_requests:rate30s", "up", "max_over_time(process_resident_memory_bytes[1m])",
                     "count_over_time(http_requests_total[1m])", "sum_over_time(http_request_duration_seconds_sum[30s])"] {
            // MetricsQL keeps the metric name where a function leaves the value's meaning alone.
            let a = keyed(try prometheusQuery(port: agentPort, expr, at: t), dropping: ["__name__"])
            let v = keyed(try victoria.query(expr, at: t), dropping: ["host", "__name__"])
            #expect(sampleDifference(agent: a, receiver: v, tolerance: 1e-9) == nil, "VictoriaMetrics: \(expr): \(v.keys.sorted().prefix(3))")
        }

        // Quantiles: each receiver's {quantile=…} series at a slot's newest observation equals the
        // agent's quantile_over_time over the same 5 minutes, and lies within the sketch's 1 % of
        // the exact quantile of the lines logged.
        let counts = try #require(mine["__name__=http_request_duration_seconds_count,job=api"])
        let tq = try #require(counts.last { $0.t <= through }).t
        for q in [0.5, 0.9, 0.95, 0.99] {
            let at = Double(tq) / 1000
            let a = keyed(try prometheusQuery(port: agentPort, "quantile_over_time(\(q), http_request_duration_seconds[5m])", at: at)).values.first?.first?.v
            let selector = "http_request_duration_seconds{quantile=\"\(q)\"}"
            let p = keyed(try prometheus.query(selector, at: at)).values.first?.first?.v
            let v = keyed(try victoria.query(selector, at: at)).values.first?.first?.v
            let exact = try #require(log.exactQuantile(q, from: 0, through: at))
            let agentValue = try #require(a, "quantile \(q) in the agent")
            #expect(p == agentValue, "Prometheus, quantile \(q)")
            #expect(v.map { abs($0 - agentValue) <= 1e-11 * agentValue } == true, "VictoriaMetrics, quantile \(q): \(String(describing: v)) for \(agentValue)")
            #expect(abs(agentValue - exact) <= 0.01 * exact, "quantile \(q): \(agentValue) for the exact \(exact)")
        }
        let s = Self.status(agent)
        for name in ["prometheus", "victoria"] {
            #expect((s[name]?["samples_failed"] as? Int) == 0 && (s[name]?["samples_dropped_retention"] as? Int) == 0, "\(name): \(s[name] ?? [:])")
        }
        agent.signal(SIGKILL)
    }

    @Test func anOutageWithAKillNineLosesNoSampleAndRepeatsNone() throws {
        guard RemoteWriteReceiver.isInstalled(.prometheus), RemoteWriteReceiver.isInstalled(.victoriaMetrics) else {
            Issue.record("prometheus or victoria-metrics is not installed (make test-deps)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-rw-outage-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let prometheus = try RemoteWriteReceiver(.prometheus, dir: dir)
        let victoria = try RemoteWriteReceiver(.victoriaMetrics, dir: dir)
        let log = try AccessLogWriter(path: dir.appendingPathComponent("access.jsonl").path, backfill: 100, seconds: 20)
        try Self.rules.write(to: dir.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)
        let agentPort = try freeTCPPort()
        let config = Self.config(agentPort: agentPort, logPath: log.path, endpoints: [
            ("prometheus", prometheus.writeURL, "min_backoff: 100ms, max_backoff: 1s"),
            ("victoria", victoria.writeURL, "min_backoff: 100ms, max_backoff: 1s"),
        ])
        var agent = try DaemonProcess(extraConfig: config, globalExtra: Self.globalExtra, http: "127.0.0.1:\(agentPort)", dir: dir)
        log.start()
        defer { log.stop() }
        Thread.sleep(forTimeInterval: 8)
        let before = Int64(Date().timeIntervalSince1970 * 1000) - 4_000
        #expect(Self.waitForWatermarks(agent, ["prometheus", "victoria"], through: before), "\(Self.status(agent))")

        // The receivers go down; while they are down the agent is killed and comes back.
        let outageStart = Date().timeIntervalSince1970
        prometheus.stop()
        victoria.stop()
        Thread.sleep(forTimeInterval: 6)
        agent.signal(SIGKILL)
        agent = try DaemonProcess(extraConfig: config, globalExtra: Self.globalExtra, http: "127.0.0.1:\(agentPort)", dir: dir)
        Thread.sleep(forTimeInterval: 6)
        let during = Self.status(agent)
        for name in ["prometheus", "victoria"] {
            #expect(((during[name]?["samples_retried"] as? Int) ?? 0) > 0, "\(name) was retried: \(during[name] ?? [:])")
        }
        try prometheus.start()
        try victoria.start()
        let outageEnd = Date().timeIntervalSince1970

        // Everything of the window, from before the outage to after it, is in each receiver once.
        let range = Int64((outageEnd - outageStart + 20).rounded(.up)) * 1000
        let t = try Self.queryTime(around: outageEnd, range: range, agentPort: agentPort)
        #expect(Self.waitForWatermarks(agent, ["prometheus", "victoria"], through: Int64(t * 1000)),
                "\(Self.status(agent))\n\(agent.log.suffix(2000))")
        let selector = "[\(range / 1000)s]"
        var mine = keyed(try prometheusQuery(port: agentPort, "{__name__=~\".+\"}" + selector, at: t))
        mine.merge(keyed(try prometheusQuery(port: agentPort, "http_request_duration_seconds_count" + selector, at: t))) { a, _ in a }
        // The second process's own metrics began at its start; the window holds the first's too.
        #expect(mine.count > 100)
        let fromPrometheus = keyed(try prometheus.query("{host=\"e2e\"}" + selector, at: t), dropping: ["host"])
        #expect(sampleDifference(agent: mine, receiver: fromPrometheus) == nil, "Prometheus after the outage")
        var fromVictoria: SeriesValues = [:]
        let complete = eventually(within: 30) {
            fromVictoria = keyed((try? victoria.query("{host=\"e2e\"}" + selector, at: t)) ?? [], dropping: ["host"])
            return sampleDifference(agent: mine, receiver: fromVictoria, tolerance: 1e-11, ignoreNaN: true) == nil
        }
        // VictoriaMetrics keeps a sample sent twice twice: equal sample lists mean none was.
        #expect(complete, "VictoriaMetrics after the outage: \(sampleDifference(agent: mine, receiver: fromVictoria, tolerance: 1e-11, ignoreNaN: true) ?? "")")
        agent.signal(SIGKILL)
    }

    @Test func unreachableRefusingAndTLSBrokenEndpointsAreCountedAndHoldNothingUp() throws {
        guard RemoteWriteReceiver.isInstalled(.prometheus) else {
            Issue.record("prometheus is not installed (make test-deps)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-rw-bad-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let prometheus = try RemoteWriteReceiver(.prometheus, dir: dir)
        let badRequest = try RefusingReceiver(status: 400)
        let tooLarge = try RefusingReceiver(status: 413)
        let closedPort = try freeTCPPort()
        let log = try AccessLogWriter(path: dir.appendingPathComponent("access.jsonl").path, backfill: 100, seconds: 20)
        try Self.rules.write(to: dir.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)
        let agentPort = try freeTCPPort()
        let fast = "min_backoff: 20ms, max_backoff: 200ms"
        let agent = try DaemonProcess(
            extraConfig: Self.config(agentPort: agentPort, logPath: log.path, endpoints: [
                ("good", prometheus.writeURL, ""),
                ("bad_request", "http://127.0.0.1:\(badRequest.port)/api/v1/write", fast),
                ("too_large", "http://127.0.0.1:\(tooLarge.port)/api/v1/write", fast),
                ("unreachable", "http://127.0.0.1:\(closedPort)/api/v1/write", fast),
                ("tls_broken", "https://127.0.0.1:\(badRequest.port)/api/v1/write", fast),
            ]),
            globalExtra: Self.globalExtra, http: "127.0.0.1:\(agentPort)", dir: dir)
        log.start()
        defer { log.stop() }
        var s: [String: [String: Any]] = [:]
        let failing = eventually(within: 60) {
            s = Self.status(agent)
            func n(_ name: String, _ key: String) -> Int { (s[name]?[key] as? Int) ?? 0 }
            return n("bad_request", "samples_failed") > 0 && n("too_large", "samples_failed") > 0
                && n("unreachable", "samples_retried") > 100
                && n("tls_broken", "samples_retried") > 100
        }
        #expect(failing, "\(s)")
        func lastError(_ name: String) -> String { (s[name]?["last_error"] as? String) ?? "" }
        #expect(lastError("bad_request").contains("400"))
        #expect(lastError("too_large").contains("413"))
        #expect(lastError("unreachable").lowercased().contains("connect"), "\(lastError("unreachable"))")
        #expect(lastError("tls_broken").contains("TLS"), "\(lastError("tls_broken"))")
        #expect(((s["bad_request"]?["samples_sent"] as? Int) ?? 0) == 0)

        // The good endpoint gets everything meanwhile: the others hold nothing up.
        let t = try Self.queryTime(around: Date().timeIntervalSince1970 - 3, range: 20_000, agentPort: agentPort)
        #expect(Self.waitForWatermarks(agent, ["good"], through: Int64(t * 1000)))
        let mine = keyed(try prometheusQuery(port: agentPort, "{__name__=~\".+\"}[20s]", at: t))
        let theirs = keyed(try prometheus.query("{host=\"e2e\"}[20s]", at: t), dropping: ["host"])
        #expect(sampleDifference(agent: mine, receiver: theirs) == nil)

        // Hundreds of failures, a few lines of log: each endpoint logs an error once, then at most once a minute.
        for name in ["bad_request", "too_large", "unreachable", "tls_broken"] {
            let lines = agent.logCount("remote_write \(name) (")
            #expect(lines >= 1 && lines <= 2, "\(name) logged \(lines) times")
        }
        agent.signal(SIGKILL)
    }
}
