import AgentClient
import TextRendering
import JSON
import Alerting
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Ingest
import Logging
import Notify
import Query
import TimeSeries

/// `agent demo`: the whole loop on this machine in under a minute.
///
/// A simulated service appends a JSONL access log whose latency and error rate rise and fall
/// (`DemoService`); the agent's own components — the log pipeline, the store, the repository's
/// rule files (`api.yaml`, `latency.yaml`) and the notifier with a file receiver — follow it in
/// virtual time running `speed` times faster than the clock, so that `for: 2m` takes seconds.
/// What happens is printed as it happens: phases, alert transitions through the tiers, and each
/// notification as the receiver got it.
public struct Demo {
    public var speed: Double = 20
    public var rulesDirectory: String
    let print: @Sendable (String) -> Void

    public init(rulesDirectory: String, speed: Double = 20, print: @escaping @Sendable (String) -> Void) {
        self.rulesDirectory = rulesDirectory
        self.speed = speed
        self.print = print
    }

    static let logsYAML = """
        logs:
          - path: PATH
            job: api
            start_at: beginning
            timestamp: {field: ts}
            labels: [route]
            metrics:
              - {name: http_requests_total, type: counter, labels: [route, status]}
              - {name: http_request_duration_ms, type: distribution, field: latency_ms}
        """

    static let notifyYAML = """
        notify:
          route: {receiver: console, group_by: [alertname], group_wait: 10s, group_interval: 30s, repeat_interval: 4h}
          receivers:
            - name: console
              file: {path: PATH}
        """

    /// Runs the scenario to its end; returns a process exit status.
    public func run() throws -> Int32 {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-demo-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logPath = dir + "/access.jsonl", notificationsPath = dir + "/notifications.jsonl"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)

        // Virtual time: the wall clock at the start, then `speed` times faster.
        let origin = SeriesStore.systemClock()
        let realStart = DispatchTime.now().uptimeNanoseconds
        let speed = self.speed
        let clock: @Sendable () -> Timestamp = {
            origin + Timestamp(Double(DispatchTime.now().uptimeNanoseconds - realStart) / 1e6 * speed)
        }
        var quiet = Logger(label: "agent.demo")
        quiet.logLevel = .error

        let store = SeriesStore(config: StoreConfig(), clock: clock)
        let mappings = try LogsConfig.decode(yaml: Demo.logsYAML.replacingScalars(of: "PATH", with: logPath), file: "demo")
        let pipeline = try LogPipeline(mapping: mappings[0], store: store, logger: quiet, clock: clock)
        let ruleFiles = try RulesComponent.load(globs: ["api.yaml", "latency.yaml"], relativeTo: rulesDirectory)
        var notifyConfig = try NotifyConfig.parse(Demo.notifyYAML.replacingScalars(of: "PATH", with: notificationsPath), file: "demo")
        notifyConfig.externalURL = "https://ops.example.org"
        let rules = RulesComponent(files: ruleFiles, store: store, evaluationInterval: 15_000, externalLabels: [:],
                                   externalURL: notifyConfig.externalURL)
        let notifier = Notifier(configuration: try notifyConfig.notifierConfiguration(stateDir: dir), transport: CurlTransport(client: HTTPClient()),
                                logger: quiet, clock: clock, history: RuleValueHistory(groups: { rules.groups }, logger: quiet))
        try notifier.open()
        notifier.start()
        defer { notifier.stop(timeout: .seconds(2)) }

        print("agent demo: a simulated API writes \(logPath)")
        print("the agent tails it with rules/api.yaml and rules/latency.yaml; time runs \(Int(speed))× faster (mm:ss is the service's time)\n")

        let service = DemoService()
        var rng = SystemRandomNumberGenerator()
        var written: Milliseconds = 0
        var phase = ""
        var nextEvaluation = [Timestamp](repeating: origin, count: rules.groups.count)
        var known: [UInt64: (state: Alert.State, severity: String?)] = [:]
        var notificationsRead = 0
        let end = DemoService.length + 60_000
        let log = open(logPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw CLIError("cannot open \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(log) }

        while true {
            let now = clock()
            let offset = now - origin
            if offset > end { break }
            if let p = DemoService.phase(at: offset), p.name != phase {
                phase = p.name
                print("\(Demo.stamp(offset)) ── service: \(p.name) (median latency \(Int(p.medianLatency)) ms, \(Demo.percent(p.errorRate)) errors)")
            }
            let lines = service.lines(from: written, to: min(offset, DemoService.length), origin: origin, rng: &rng)
            if !lines.isEmpty { writeAll(log, Array(lines.utf8)) }
            written = max(written, min(offset, DemoService.length))
            pipeline.poll()

            var evaluated = false
            for (i, group) in rules.groups.enumerated() where now >= nextEvaluation[i] {
                _ = group.evaluate(at: now)
                nextEvaluation[i] = now + group.interval
                evaluated = true
            }
            if evaluated {
                let alerts = rules.alerts()
                for alert in alerts { report(alert, at: offset, known: &known) }
                notifier.receive(alerts)
            }
            notifier.tick()
            notificationsRead = printNotifications(from: notificationsPath, skipping: notificationsRead, origin: origin)
            usleep(50_000)
        }
        usleep(300_000)
        _ = printNotifications(from: notificationsPath, skipping: notificationsRead, origin: origin)

        // What `agent query p95 http_request_duration_ms --by route` would have said over the run.
        print("\np95 latency per route over the whole run (merged sketches, within 1 %):")
        let now = clock()
        store.read { r in
            for ref in r.series(named: "http_request_duration_ms").sorted(by: { (r.labels(of: $0)?.description ?? "") < (r.labels(of: $1)?.description ?? "") }) {
                guard let s = r.summary(of: ref, from: origin - 1, through: now), let labels = r.labels(of: ref) else { continue }
                let route = String("  \(labels["route"] ?? "?")".prefix(16))
                print(route + String(repeating: " ", count: 16 - route.count)
                      + "p95 \(CFormat.printf("%6.1f", s.quantile(0.95))) ms   p99 \(CFormat.printf("%6.1f", s.quantile(0.99))) ms   \(s.count) requests")
            }
        }
        print("\nthat was the whole loop: log → store → tiered rules → notifications. Run your own with: agent run --config FILE")
        return 0
    }

    private func report(_ alert: Alert, at offset: Milliseconds, known: inout [UInt64: (state: Alert.State, severity: String?)]) {
        let key = alert.fingerprint
        let before = known[key]
        known[key] = (alert.state, alert.severity)
        guard before?.state != alert.state || before?.severity != alert.severity else { return }
        let who = "\(alert.name)\(alert.identity["route"].map { "{route=\"\($0)\"}" } ?? "")"
        let tier = alert.severity ?? "-"
        let value = alert.name.contains("Latency") ? "\(Int(alert.value)) ms" : Demo.percent(alert.value)
        let what: String
        switch (before?.state, alert.state) {
        case (_, .pending): what = "pending (\(tier)), value \(value)"
        case (.firing?, .firing):
            let order = ["critical", "high", "medium", "low"]
            let up = (order.firstIndex(of: tier) ?? 9) < (order.firstIndex(of: before?.severity ?? "") ?? 9)
            what = "\(up ? "ESCALATED" : "de-escalated") \(before?.severity ?? "-") → \(tier), value \(value)"
        case (_, .firing): what = "FIRING \(tier), value \(value)"
        case (_, .resolved): what = "resolved"
        }
        print("\(Demo.stamp(offset))    alert \(who): \(what)")
    }

    /// Prints the notifications the file receiver wrote since `skipping` lines; returns the new count.
    private func printNotifications(from path: String, skipping: Int, origin: Timestamp) -> Int {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return skipping }
        let lines = text.split(separator: "\n")
        for line in lines.dropFirst(skipping) {
            guard let doc = JSON.parse(line.utf8), case .object = doc else { continue }
            let common = doc["commonLabels"]?.object.compactMapValues(\.string) ?? [:]
            let alerts = doc["alerts"]?.array ?? []
            let summaries = alerts.compactMap { $0["annotations"]?["summary"]?.string }
            let status = (doc["status"]?.string ?? "").uppercased()
            let reason = doc["reason"]?.string ?? ""
            print("         ↳ notification (\(reason)): \(status) \(common["alertname"] ?? "") [\(common["severity"] ?? "mixed")] — "
                  + (summaries.count == 1 ? summaries[0] : "\(alerts.count) alerts: " + summaries.prefix(3).joined(separator: "; ")))
            // The firing alert's last 30 minutes, as chat receivers show them.
            if let points = alerts.lazy.compactMap({ $0["history"].map(\.array) }).first,
               let line = Sparkline(points.map { $0.array.last?.double ?? .nan }, maxWidth: 30) {
                print("           \(line.bars)  min \(CFormat.printf("%.4g", line.min)) max \(CFormat.printf("%.4g", line.max)) last \(CFormat.printf("%.4g", line.last)) (30m)")
            }
        }
        return lines.count
    }

    static func stamp(_ offset: Milliseconds) -> String {
        let s = max(0, offset / 1000)
        return (s / 60 < 10 ? "0" : "") + String(s / 60) + ":" + (s % 60 < 10 ? "0" : "") + String(s % 60)
    }

    static func percent(_ v: Double) -> String { CFormat.printf("%.1f", v * 100) + " %" }
}
