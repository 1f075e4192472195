import Foundation
import Testing
import AgentDaemon
#if canImport(Glibc)
import Glibc
#endif

/// A local peer on 127.0.0.1: serves an exposition page at GET /metrics and records every POST
/// body (webhook notifications) as one line in a file.
final class LocalPeer {
    let process = Process()
    let port: Int
    let received: URL

    init(dir: URL) throws {
        received = dir.appendingPathComponent("webhooks.jsonl")
        let script = """
            import http.server, sys, json
            out = open(sys.argv[1], "a")
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    body = b"# TYPE peer_temperature gauge\\npeer_temperature{room=\\"lab\\"} 21.5\\n"
                    self.send_response(200); self.send_header("Content-Type", "text/plain; version=0.0.4")
                    self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
                def do_POST(self):
                    n = int(self.headers.get("Content-Length", "0")); body = self.rfile.read(n)
                    out.write(json.dumps(json.loads(body)) + "\\n"); out.flush()
                    self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
                def log_message(self, *a): pass
            s = http.server.HTTPServer(("127.0.0.1", 0), H)
            print(s.server_address[1], flush=True)
            s.serve_forever()
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, received.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let p = Int(line) else { throw DaemonProcess.Failure("local peer did not start: \(line)") }
        port = p
    }

    var webhooks: [String] { ((try? String(contentsOf: received, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }

    deinit {
        // SIGKILL: the test process's ignored SIGTERM is inherited by the child.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite(.serialized) struct EndToEndTests {
    /// Writes `latencies` as an access log with timestamps over the last minutes; every 10th is a 500.
    static func writeLog(_ path: String, latencies: [Double]) throws {
        let now = Date().timeIntervalSince1970
        var text = ""
        for (i, latency) in latencies.enumerated() {
            let t = now - 240 + 200 * Double(i) / Double(latencies.count)
            text += "{\"ts\":\(String(format: "%.3f", t)),\"route\":\"/r\(i % 3)\",\"status\":\(i % 10 == 0 ? 500 : 200),\"latency_ms\":\(latency)}\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func scrapeTailRulesAndWebhookWorkTogetherAndP95IsWithinTheSketchAccuracy() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-loop-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let peer = try LocalPeer(dir: dir)
        let logPath = dir.appendingPathComponent("access.jsonl").path
        var rng = SystemRandomNumberGenerator()
        let latencies = (0..<20_000).map { _ in exp(3 + 0.8 * Double.random(in: -2...2, using: &rng)) * Double.random(in: 0.5...1.5, using: &rng) }
        try Self.writeLog(logPath, latencies: latencies)
        let rulesPath = dir.appendingPathComponent("errors.yaml").path
        try """
            groups:
              - name: errors
                interval: 1s
                rules:
                  - alert: ServerErrors
                    expr: sum(increase(http_requests_total{status="500"}[10m])) > 0
                    labels: {team: api}
                    annotations: {summary: "{{ $value | printf \\"%.0f\\" }} errors"}
            """.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let agent = try DaemonProcess(extraConfig: """
            scrape:
              - job: peer
                scrape_interval: 1s
                targets: [http://127.0.0.1:\(peer.port)/metrics]
            logs:
              - path: \(logPath)
                job: api
                start_at: beginning
                timestamp: {field: ts}
                metrics:
                  - {name: http_requests_total, type: counter, labels: [route, status]}
                  - {name: http_request_duration_ms, type: distribution, field: latency_ms}
            rule_files: [\(rulesPath)]
            notify:
              route: {receiver: hook, group_wait: 0s}
              receivers:
                - name: hook
                  webhook: {url: http://127.0.0.1:\(peer.port)/alerts}
            """, dir: dir)
        // The alert reaches the webhook.
        eventually(within: 60) { !peer.webhooks.isEmpty }
        let hook = try #require(peer.webhooks.first, "no webhook arrived:\n\(agent.log)")
        let payload = try JSONSerialization.jsonObject(with: Data(hook.utf8)) as? [String: Any]
        #expect((payload?["commonLabels"] as? [String: String])?["alertname"] == "ServerErrors")
        #expect(payload?["version"] as? String == "4")
        // The scrape landed (targets start within one interval, spread by a stable offset).
        var scraped = ""
        try eventually {
            scraped = try agent.cli(["query", "peer_temperature", "--output", "json"]).stdout
            return scraped.contains("21.5")
        }
        #expect(scraped.contains("21.5"), "\(scraped)")
        // agent query p95 equals the exact p95 of the tailed lines within the sketch's 1 %.
        let result = try agent.cli(["query", "p95", "http_request_duration_ms", "--window", "10m", "--output", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let value = ((doc?["result"] as? [[String: Any]])?.first?["value"] as? [Any])?.last as? String
        let p95 = try #require(value.flatMap(Double.init), "\(result.stdout)")
        let sorted = latencies.map { Double(String(format: "%.15g", $0))! }.sorted()
        let exact = sorted[Int((0.95 * Double(sorted.count - 1)).rounded(.down))]
        #expect(abs(p95 - exact) <= 0.01 * exact * (1 + 1e-9), "p95 \(p95) vs exact \(exact)")
        #expect(agent.signal(SIGTERM) == 0)
        withExtendedLifetime(peer) {}
        try? FileManager.default.removeItem(at: dir)
    }

    @Test func killNineTwentyTimesDuringIngestionLosesAndRepeatsNoLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-kill-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let logPath = dir.appendingPathComponent("lines.jsonl").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let config = """
            logs:
              - path: \(logPath)
                job: w
                start_at: beginning
                metrics:
                  - {name: lines_total, type: counter}
            """
        // A writer appends lines all along, in bursts.
        let total = 40_000
        let writer = Thread {
            let handle = FileHandle(forWritingAtPath: logPath)!
            var written = 0
            while written < total {
                let burst = min(200, total - written)
                var text = ""
                for i in 0..<burst { text += "{\"n\":\(written + i)}\n" }
                handle.write(Data(text.utf8))
                written += burst
                usleep(40_000)  // ~8 s of writing, so the kills land during ingestion
            }
            try? handle.close()
        }
        writer.start()
        var agent = try DaemonProcess(extraConfig: config, dir: dir)
        for _ in 0..<20 {
            usleep(useconds_t.random(in: 100_000...600_000))
            agent.signal(SIGKILL)
            agent = try DaemonProcess(extraConfig: config, dir: dir)
        }
        // Let the writer finish and the agent catch up, then count.
        var counted = -1.0
        try eventually(within: 60) {
            let r = try agent.cli(["query", "sum(lines_total)", "--output", "json"])
            let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            if let v = ((doc?["result"] as? [[String: Any]])?.first?["value"] as? [Any])?.last as? String { counted = Double(v) ?? -1 }
            return counted == Double(total)
        }
        #expect(counted == Double(total), "counted \(counted) of \(total) lines\n\(agent.log)")
        #expect(agent.signal(SIGTERM) == 0)
        try? FileManager.default.removeItem(at: dir)
    }
}
