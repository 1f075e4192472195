import AgentClient
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The agent as the Prometheus ecosystem's clients see it, beside a real Prometheus 2.42 (Debian's)
/// fed the same data: the same target page (`histograms.prom`, served by the Ingest tests' Python
/// server) scraped every second and the same rule file evaluated every second.
///
/// - Every endpoint answers in Prometheus's shapes: `Clients/prometheus_clients.py compare` asks
///   both the same requests and compares keys and JSON types recursively (values differ by nature:
///   times, durations, the agent's own series). The differences allowed are the Prometheus 3
///   additions the agent answers with and its documented extras (listed in the script).
/// - Every call of PyPI's prometheus-api-client works (`… client`), against the agent and, as a
///   check of the script itself, against Prometheus.
/// - `promtool query instant|range|labels|series` work against the agent.
/// - A real Prometheus federating `/federate?match[]=…` gets the samples it gets from `expose: all`.
@Suite(.serialized) struct PrometheusClientsTests {
    static let clients = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients/prometheus_clients.py")
    /// The venv scripts/contract-deps.sh (make test-deps) installs prometheus-api-client into.
    static let venvPython = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/py-clients/bin/python").path

    static let rules = """
        groups:
          - name: web
            interval: 1s
            rules:
              - record: job:http_requests:rate1m
                expr: sum by (job) (rate(http_requests_total[1m]))
                labels: {team: web}
              - alert: HotRoom
                expr: temperature_celsius > 20
                labels: {severity: warning}
                annotations: {summary: "Room at {{ $value }}"}
              - alert: SlowRPC
                expr: rpc_duration_seconds_count > 0
                for: 1h
                labels: {severity: critical}
        """

    /// The page server, a scratch folder with the rule file, and the agent scraping the page.
    struct Setup {
        let server: ScrapeCommandTests.PageServer
        let dir: URL
        let agent: DaemonProcess
        let agentURL: String
        let rulesPath: String
        let rules: String

        init(listenExtra: String = "", rules: String = PrometheusClientsTests.rules) throws {
            server = try ScrapeCommandTests.PageServer()
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-promapi-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            rulesPath = dir.appendingPathComponent("rules.yaml").path
            self.rules = rules
            try rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
            let port = try freeTCPPort()
            agent = try DaemonProcess(
                extraConfig: """
                    rule_files: [\(rulesPath)]
                    scrape:
                      - job: web
                        targets: [\(server.url("/pages/histograms.prom"))]
                    """,
                globalExtra: "  evaluation_interval: 1s\n  external_labels: {host: api-1}", listenExtra: listenExtra,
                http: "127.0.0.1:\(port)", dir: dir)
            agentURL = "http://127.0.0.1:\(port)"
        }

        /// Prometheus's scrape job for the page, as the agent's `web` job scrapes it.
        var webJob: String {
            """
              - job_name: web
                metrics_path: /pages/histograms.prom
                static_configs: [{targets: ['127.0.0.1:\(server.port)']}]
            """
        }
    }

    /// GET `url` as JSON (an object), nil when it fails.
    static func json(_ url: String) -> [String: Any]? {
        (try? httpGet(url)).flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
    }

    /// True once `base` has the data every comparison needs: the alert firing, the other pending,
    /// the recording rule's value and the page's metadata.
    static func hasEverything(_ base: String) -> Bool {
        let alerts = ((json(base + "/api/v1/alerts")?["data"] as? [String: Any])?["alerts"] as? [[String: Any]]) ?? []
        let states = Set(alerts.compactMap { a in ((a["labels"] as? [String: String])?["alertname"]).map { "\($0)=\(a["state"] ?? "")" } })
        let recorded = ((json(base + "/api/v1/query?query=job:http_requests:rate1m")?["data"] as? [String: Any])?["result"] as? [Any])?.count ?? 0
        let metadata = (json(base + "/api/v1/metadata")?["data"] as? [String: Any])?.count ?? 0
        return states.contains("HotRoom=firing") && states.contains("SlowRPC=pending") && recorded > 0 && metadata >= 4
    }

    static func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try run(venvPython, [clients.path] + arguments)
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let printed = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
    }

    @Test func theAgentAnswersAsPrometheus242DoesAndItsClientsWork() throws {
        let prometheusInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus")
        #expect(prometheusInstalled, "prometheus is not installed (make test-deps)")
        guard prometheusInstalled else { return }
        let clientInstalled = try FileManager.default.isExecutableFile(atPath: Self.venvPython)
            && Self.run(Self.venvPython, ["-c", "import prometheus_api_client"]).status == 0
        #expect(clientInstalled, "PyPI's prometheus-api-client is not in \(Self.venvPython) (make test-deps: scripts/contract-deps.sh)")
        guard clientInstalled else { return }

        let setup = try Setup()
        defer { try? FileManager.default.removeItem(at: setup.dir) }
        let twin = try PrometheusProcess(dir: setup.dir, config: """
            global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
            rule_files: [\(setup.rulesPath)]
            scrape_configs:
            \(setup.webJob)
            """, name: "twin")
        defer { twin.stop() }
        let prometheusURL = "http://127.0.0.1:\(twin.port)"
        let ready = eventually(within: 60) { Self.hasEverything(setup.agentURL) && Self.hasEverything(prometheusURL) }
        #expect(ready, "agent or Prometheus without the data set:\n\(setup.agent.log)\n\(twin.log)")
        guard ready else { return }

        let now = String(Int(Date().timeIntervalSince1970))
        let compared = try Self.python(["compare", setup.agentURL, prometheusURL, now])
        #expect(compared.status == 0, "keys or types differ from Prometheus 2.42's:\n\(compared.output)")
        #expect(compared.output.contains("same rules\n") && compared.output.contains("same targets/metadata"), "\(compared.output)")

        let agentClient = try Self.python(["client", setup.agentURL])
        #expect(agentClient.status == 0, "prometheus-api-client against the agent:\n\(agentClient.output)")
        #expect(agentClient.output.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count == 16, "\(agentClient.output)")
        let twinClient = try Self.python(["client", prometheusURL])
        #expect(twinClient.status == 0, "the client script against Prometheus itself:\n\(twinClient.output)")

        // promtool, as a user types it.
        let t = Int(Date().timeIntervalSince1970)
        let instant = try Self.run("/usr/bin/env", ["promtool", "query", "instant", setup.agentURL, #"http_requests_total{code="500"}"#])
        #expect(instant.status == 0 && instant.output.contains(#"code="500""#) && instant.output.contains("=> 3 @["), "\(instant.output)")
        let range = try Self.run("/usr/bin/env", ["promtool", "query", "range", "--start=\(t - 5)", "--end=\(t)", "--step=1s", setup.agentURL, "temperature_celsius"])
        #expect(range.status == 0 && range.output.contains("21.5 @["), "\(range.output)")
        let labels = try Self.run("/usr/bin/env", ["promtool", "query", "labels", setup.agentURL, "job"])
        #expect(labels.status == 0 && labels.output.split(separator: "\n").contains("web"), "\(labels.output)")
        let series = try Self.run("/usr/bin/env", ["promtool", "query", "series", "--match=rpc_duration_seconds_count", setup.agentURL])
        #expect(series.status == 0 && series.output.contains(#"{__name__="rpc_duration_seconds_count", instance="127.0.0.1:\#(setup.server.port)", job="web"}"#),
                "\(series.output)")
        setup.agent.signal(SIGKILL)
    }

    @Test func aPrometheusFederatingTheAgentGetsTheSamplesOfTheExposeAllPage() throws {
        let prometheusInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus")
        #expect(prometheusInstalled, "prometheus is not installed (make test-deps)")
        guard prometheusInstalled else { return }
        // Without the recording rule: promtool's lint refuses the ':' of a recorded name (as it does on
        // Prometheus's own /federate), and this test is about the scraped families.
        let setup = try Setup(listenExtra: "  expose: all", rules: Self.rules.replacingOccurrences(
            of: "      - record: job:http_requests:rate1m\n        expr: sum by (job) (rate(http_requests_total[1m]))\n        labels: {team: web}\n", with: ""))
        #expect(!setup.rules.contains("record:"))
        defer { try? FileManager.default.removeItem(at: setup.dir) }
        let agentHost = setup.agentURL.dropFirst("http://".count)
        // Two jobs on the agent, both with honor_labels: /federate with a selector, and /metrics.
        let federator = try PrometheusProcess(dir: setup.dir, config: """
            global: {scrape_interval: 1s, scrape_timeout: 1s}
            scrape_configs:
              - job_name: federate
                honor_labels: true
                metrics_path: /federate
                params: {'match[]': ['{job="web"}']}
                static_configs: [{targets: ['\(agentHost)']}]
                metric_relabel_configs: [{target_label: via, replacement: federate}]
              - job_name: exposeall
                honor_labels: true
                static_configs: [{targets: ['\(agentHost)']}]
                metric_relabel_configs: [{target_label: via, replacement: all}]
            """, name: "federator")
        defer { federator.stop() }
        let page = #"__name__=~"http_request_duration_seconds.*|rpc_duration_seconds.*|http_requests_total|temperature_celsius""#
        func samples(_ via: String) -> Set<String> {
            let query = "{\(page),via=\"\(via)\"}".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let result = ((Self.json("http://127.0.0.1:\(federator.port)/api/v1/query?query=\(query)")?["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
            return Set(result.map { r in
                var labels = (r["metric"] as? [String: String]) ?? [:]
                labels["via"] = nil
                let value = (r["value"] as? [Any])?.last as? String ?? "?"
                return labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + " " + value
            })
        }
        var federated = Set<String>(), exposed = Set<String>()
        // The page's 26 series: 2 × (6 buckets, sum, count), 5 quantiles, sum, count, 2 counters, a gauge.
        let both = eventually(within: 60) {
            federated = samples("federate")
            exposed = samples("all")
            return federated.count == 26 && exposed.count == 26
        }
        #expect(both, "federated \(federated.count), exposed \(exposed.count):\n\(federator.log)\n\(setup.agent.log)")
        #expect(federated == exposed, "only federated: \(federated.subtracting(exposed))\nonly exposed: \(exposed.subtracting(federated))")
        let bucket = "__name__=http_request_duration_seconds_bucket,host=api-1,instance=127.0.0.1:\(setup.server.port),job=web,le=+Inf,route=/api 144320"
        #expect(federated.contains(bucket), "the series keeps its own job and instance and gets the external label: \(federated.sorted().prefix(3))")

        // The pages themselves pass promtool's checks.
        let metrics = String(decoding: try httpGet(setup.agentURL + "/metrics"), as: UTF8.self)
        #expect(metrics.contains("# TYPE http_request_duration_seconds histogram\n") && metrics.contains("# TYPE rpc_duration_seconds summary\n"))
        let checked = try promtoolCheckMetrics(metrics)
        #expect(checked.status == 0, "promtool check metrics on /metrics: exit \(checked.status)\n\(checked.output)")
        let match = #"{job="web"}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let federatePage = String(decoding: try httpGet(setup.agentURL + "/federate?match[]=\(match)"), as: UTF8.self)
        let checkedFederate = try promtoolCheckMetrics(federatePage)
        #expect(checkedFederate.status == 0, "promtool check metrics on /federate: exit \(checkedFederate.status)\n\(checkedFederate.output)")
        setup.agent.signal(SIGKILL)
    }
}
