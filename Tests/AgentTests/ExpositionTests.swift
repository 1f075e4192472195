import AgentClient
import Foundation
import Ingest
import Testing
import TimeSeries
@testable import AgentDaemon
#if canImport(Glibc)
import Glibc
#endif

/// `listen.expose: all`: every stored series on /metrics, for a central Prometheus to scrape.
@Suite(.serialized) struct ExpositionTests {
    static let now: Timestamp = 1_700_000_000_000

    /// A store at `now` holding one case of everything the page must handle.
    static func sampleStore() -> SeriesStore {
        var config = StoreConfig()
        config.resolution = 1_000
        config.retention = 600_000
        let store = SeriesStore(config: config, clock: { now })
        store.write { w in
            _ = w.append(Labels(name: "room_temperature_celsius", ["room": "lab \"north\"\n\\"]), kind: .gauge, value: 21.5, at: now - 10_000)
            _ = w.append(Labels(name: "old_reading_celsius"), kind: .gauge, value: 3, at: now - 6 * 60_000)
            _ = w.append(Labels(name: "gone_celsius"), kind: .gauge, value: 7, at: now - 20_000)
            _ = w.append(Labels(name: "gone_celsius"), kind: .gauge, value: .staleMarker, at: now - 10_000)
            _ = w.append(Labels(name: "requests_total", ["code": "200", "host": "own"]), kind: .counter, value: 42, at: now - 5_000)
            _ = w.append(Labels(name: "requests_total", ["code": "500"]), kind: .counter, value: 3.25, at: now - 4_000)
            let latency = w.ref(for: Labels(name: "latency_seconds", ["route": "/a"]), kind: .distribution)!
            // 1 000 observations 0.001 … 1.000 over the last 100 s, and 100 older than the quantile window.
            for i in 1...1000 { _ = w.observe(latency, value: Double(i) / 1000, at: now - 100_000 + Int64(i) * 100) }
            for i in 0..<100 { _ = w.observe(latency, value: 50, at: now - 8 * 60_000 + Int64(i)) }
            _ = w.append(Labels(name: "mixed_value", ["a": "1"]), kind: .gauge, value: 1, at: now - 1_000)
            _ = w.append(Labels(name: "mixed_value", ["a": "2"]), kind: .gauge, value: 2, at: now - 1_000)
            _ = w.append(Labels(name: "mixed_value", ["a": "3"]), kind: .counter, value: 3, at: now - 1_000)
            let clash = w.ref(for: Labels(name: "clash"), kind: .distribution)!
            _ = w.observe(clash, value: 1, at: now - 1_000)
            _ = w.append(Labels(name: "clash_count"), kind: .gauge, value: 9, at: now - 1_000)
        }
        return store
    }

    static func page(_ store: SeriesStore) -> (text: String, skipped: Int) {
        let exposition = StoreExposition(store: store, externalLabels: Labels(["host": "api-1", "region": "eu"]))
        let (families, skipped) = exposition.families { _, _ in false }
        var w = ExpositionWriter()
        exposition.write(families, now: now, into: &w)
        return (String(decoding: w.bytes, as: UTF8.self), skipped)
    }

    @Test func gaugesAndCountersShowTheirNewestSampleWithItsTimestampAndTheExternalLabelsTheyLack() {
        let (text, skipped) = Self.page(Self.sampleStore())
        let lines = Set(text.split(separator: "\n").map(String.init))
        let now = Self.now
        for expected in [
            "# TYPE room_temperature_celsius gauge",
            #"room_temperature_celsius{room="lab \"north\"\n\\",host="api-1",region="eu"} 21.5 \#(now - 10_000)"#,
            "# TYPE requests_total counter",
            #"requests_total{code="200",host="own",region="eu"} 42 \#(now - 5_000)"#,
            #"requests_total{code="500",host="api-1",region="eu"} 3.25 \#(now - 4_000)"#,
            #"mixed_value{a="1",host="api-1",region="eu"} 1 \#(now - 1_000)"#,
            #"mixed_value{a="2",host="api-1",region="eu"} 2 \#(now - 1_000)"#,
            #"clash_count{host="api-1",region="eu"} 9 \#(now - 1_000)"#,
        ] {
            #expect(lines.contains(expected), "missing \(expected) in\n\(text)")
        }
        #expect(!text.contains("old_reading_celsius"), "a series older than the 5 min lookback is not shown")
        #expect(!text.contains("gone_celsius"), "a series whose newest sample is a stale marker is not shown")
        #expect(!text.contains("a=\"3\""), "a counter among gauges of one name is left out")
        #expect(!text.contains("TYPE clash summary"), "a summary whose _count name is taken is left out")
        #expect(skipped == 2)
        // One family per name, in name order.
        let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(types == types.sorted())
        #expect(Set(types).count == types.count)
    }

    @Test func aDistributionIsASummaryOverTheLastFiveMinutesWithCumulativeCountAndSum() throws {
        let (text, _) = Self.page(Self.sampleStore())
        #expect(text.contains("# TYPE latency_seconds summary\n"))
        // Quantiles over the window: the 1 000 recent observations only (the old 100 × 50 fell out).
        for (q, exact) in [("0.5", 0.5), ("0.9", 0.9), ("0.95", 0.95), ("0.99", 0.99)] {
            let prefix = #"latency_seconds{route="/a",host="api-1",region="eu",quantile="\#(q)"} "#
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(prefix) }, "no quantile \(q) in\n\(text)")
            let fields = line.dropFirst(prefix.count).split(separator: " ")
            #expect(fields.count == 1, "quantiles carry no timestamp: \(line)")
            let value = try #require(Double(String(fields[0])))
            #expect(abs(value - exact) <= 0.011 * exact, "quantile \(q): \(value) vs \(exact)")
        }
        // _count and _sum: everything since the series began, at the newest observation.
        let sum = (1...1000).reduce(0.0) { $0 + Double($1) / 1000 } + 100 * 50
        let sumLine = try #require(text.split(separator: "\n").first { $0.hasPrefix("latency_seconds_sum{") })
        #expect(sumLine.hasPrefix(#"latency_seconds_sum{route="/a",host="api-1",region="eu"} "#))
        #expect(abs(Double(String(sumLine.split(separator: " ")[1]))! - sum) < 1e-6)
        #expect(sumLine.hasSuffix(" \(Self.now)"))
        #expect(text.contains(#"latency_seconds_count{route="/a",host="api-1",region="eu"} 1100 \#(Self.now)"#))
    }

    @Test func promtoolParsesThePage() throws {
        let (text, _) = Self.page(Self.sampleStore())
        let result = try promtoolCheckMetrics(text)
        // 0: clean; 3: lint findings only (this page has names promtool's linter dislikes, such as a
        // counter without _total); 1 would be a page that does not parse.
        #expect(result.status == 0 || result.status == 3, "\(result.output)\n\(text)")
        #expect(!result.output.contains("error while linting"), "\(result.output)")
    }

    @Test func aLargeStoreIsWrittenInBoundedTime() {
        let config = StoreConfig()
        let store = SeriesStore(config: config, clock: { Self.now })
        store.write { w in
            for i in 0..<5_000 {
                _ = w.append(Labels(name: "metric_\(i % 50)_total", ["instance": "host-\(i)", "job": "node"]), kind: .counter, value: Double(i), at: Self.now - 1_000)
            }
        }
        let started = ContinuousClock.now
        let (text, skipped) = Self.page(store)
        let elapsed = ContinuousClock.now - started
        #expect(skipped == 0)
        #expect(text.split(separator: "\n").count == 5_000 + 2 * 50)
        // Generous (a debug build on a loaded 2-core machine); it measures ≈ 40 ms there.
        #expect(elapsed < .seconds(5), "\(elapsed)")
    }

    // MARK: The real daemon

    /// The e2e log: counters and a distribution with lint-clean names.
    static func logConfig(_ path: String) -> String {
        """
        logs:
          - path: \(path)
            job: api
            start_at: beginning
            timestamp: {field: ts}
            metrics:
              - {name: http_requests_total, type: counter, labels: [route, status]}
              - {name: http_request_duration_seconds, type: distribution, field: latency_s}
        """
    }

    static func writeLog(_ path: String, lines: Int) throws {
        let now = Date().timeIntervalSince1970
        var text = ""
        for i in 0..<lines {
            let t = now - 60 + 50 * Double(i) / Double(lines)
            text += "{\"ts\":\(String(format: "%.3f", t)),\"route\":\"/r\(i % 3)\",\"status\":\(i % 10 == 0 ? 500 : 200),\"latency_s\":\(Double(i % 100 + 1) / 1000)}\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func theDaemonServesEveryStoredSeriesAndPromtoolAcceptsThePage() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-expose-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let logPath = dir.appendingPathComponent("access.jsonl").path
        try Self.writeLog(logPath, lines: 3_000)
        let agent = try DaemonProcess(extraConfig: Self.logConfig(logPath), globalExtra: "  external_labels: {host: api-1}",
                                      listenExtra: "  expose: all", dir: dir)
        let client = ControlClient(socketPath: agent.socket, timeout: 5)
        var page = ""
        let complete = eventually {
            page = (try? client.request("GET", "/metrics")).map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            return page.contains(#"http_request_duration_seconds_count{job="api",host="api-1"} 3000 "#)
        }
        #expect(complete, "\(page)\n\(agent.log)")
        #expect(page.contains("# TYPE http_requests_total counter\n"))
        #expect(page.contains(#"http_requests_total{job="api",route="/r0",status="500",host="api-1"} 100 "#), "\(page)")
        #expect(page.contains(#"http_request_duration_seconds{job="api",host="api-1",quantile="0.95"} "#))
        #expect(page.contains(#"agent_build_info{version=""#), "the agent's own metrics stay on the page")
        #expect(!page.contains(#"instance="self""#), "the agent's own metrics are not repeated from the store")
        let result = try promtoolCheckMetrics(page)
        #expect(result.status == 0, "promtool check metrics: exit \(result.status)\n\(result.output)")
        agent.signal(SIGKILL)
    }

    @Test func aRealPrometheusScrapesTheAgent() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus") else {
            Issue.record("prometheus is not installed (make test-deps)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-prom-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let logPath = dir.appendingPathComponent("access.jsonl").path
        try Self.writeLog(logPath, lines: 1_000)
        let agentPort = try freeTCPPort()
        let agent = try DaemonProcess(extraConfig: Self.logConfig(logPath), globalExtra: "  external_labels: {host: api-1}",
                                      listenExtra: "  expose: all", http: "127.0.0.1:\(agentPort)", dir: dir)
        let prometheus = try PrometheusProcess(dir: dir, scraping: "127.0.0.1:\(agentPort)")
        defer { prometheus.stop() }
        func query(_ expr: String) -> [[String: Any]] {
            guard let encoded = expr.addingPercentEncoding(withAllowedCharacters: .alphanumerics),
                  let body = try? httpGet("http://127.0.0.1:\(prometheus.port)/api/v1/query?query=\(encoded)"),
                  let doc = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                  let data = doc["data"] as? [String: Any] else { return [] }
            return data["result"] as? [[String: Any]] ?? []
        }
        var counters: [[String: Any]] = []
        let scraped = eventually(within: 30) {
            counters = query(#"http_requests_total{host="api-1",status="500"}"#)
            return counters.count == 3
        }
        #expect(scraped, "Prometheus did not get the agent's series: \(counters)\n\(prometheus.log)\n\(agent.log)")
        let values = counters.compactMap { (($0["value"] as? [Any])?.last as? String).flatMap(Double.init) }
        #expect(values.reduce(0, +) == 100, "\(counters)")
        let p95 = query(#"http_request_duration_seconds{host="api-1",quantile="0.95"}"#)
        let p95Value = (p95.first?["value"] as? [Any])?.last as? String
        // Latencies 1…100 ms, ten of each: the exact p95 lies between 95 and 96 ms; the sketch is within 1 %.
        #expect(p95Value.flatMap(Double.init).map { $0 >= 0.095 * 0.99 && $0 <= 0.096 * 1.01 } == true, "\(p95)")
        #expect(query(#"http_request_duration_seconds_count{host="api-1"}"#).count == 1)
        #expect(query(#"agent_build_info{host="api-1"}"#).count == 1)
        agent.signal(SIGKILL)
    }
}

/// `promtool check metrics` on `page` (stdin): its exit status and what it printed.
func promtoolCheckMetrics(_ page: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["promtool", "check", "metrics"]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = output
    try process.run()
    // Write on another thread: a large page must not deadlock against promtool's output.
    let bytes = Data(page.utf8)
    let writer = Thread {
        input.fileHandleForWriting.write(bytes)
        try? input.fileHandleForWriting.close()
    }
    writer.start()
    let printed = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
}

/// A blocking GET through the agent's own HTTP client (loopback only).
func httpGet(_ url: String) throws -> [UInt8] {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<HTTPResponse, HTTPError>?
    testHTTPClient.start(HTTPRequest(url: url, timeoutMilliseconds: 5000)) {
        result = $0
        done.signal()
    }
    done.wait()
    let response = try result!.get()
    guard response.status == 200 else { throw DaemonProcess.Failure("GET \(url): HTTP \(response.status)") }
    return response.body
}

let testHTTPClient = HTTPClient()

/// The real Prometheus server (Debian's `prometheus`) scraping one target every second, with its
/// TSDB in a scratch folder; killed (SIGKILL) by `stop()`.
final class PrometheusProcess {
    let process = Process()
    let port: Int
    let logURL: URL

    convenience init(dir: URL, scraping target: String) throws {
        try self.init(dir: dir, config: """
            global: {scrape_interval: 1s, scrape_timeout: 1s}
            scrape_configs:
              - job_name: agents
                honor_labels: true
                static_configs: [{targets: ['\(target)']}]
            """)
    }

    /// Prometheus with `config` (its prometheus.yml) and its TSDB under `dir` (`name` keeps two apart).
    init(dir: URL, config text: String, name: String = "prometheus") throws {
        port = try freeTCPPort()
        let config = dir.appendingPathComponent("\(name).yml")
        try text.write(to: config, atomically: true, encoding: .utf8)
        logURL = dir.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        process.arguments = [
            "--config.file=\(config.path)", "--storage.tsdb.path=\(dir.appendingPathComponent("\(name)-tsdb").path)",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let ready = eventually(within: 30) { (try? httpGet("http://127.0.0.1:\(port)/-/ready")) != nil }
        guard ready else {
            stop()
            throw DaemonProcess.Failure("Prometheus not ready on port \(port):\n\(self.log)")
        }
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
