import AgentClient
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A webhook receiver on 127.0.0.1 for the daemon's delivery tests: bound to an ephemeral port
/// but not listening while its control file says `down` (connections are refused), then
/// listening and answering with the status the control file holds. Logs each request's
/// Idempotency-Key and the statuses of its alerts, one JSON line per request.
final class ScriptedReceiver {
    let process = Process()
    let port: Int
    let control: URL
    let log: URL
    let input = Pipe()

    init(dir: URL, mode: String) throws {
        control = dir.appendingPathComponent("receiver-control")
        log = dir.appendingPathComponent("receiver.jsonl")
        try mode.write(to: control, atomically: true, encoding: .utf8)
        let script = """
            import http.server, json, socket, sys, threading, time
            control, log = sys.argv[1], sys.argv[2]
            def mode():
                try:
                    return open(control).read().strip()
                except OSError:
                    return "down"
            sock = socket.socket(); sock.bind(("127.0.0.1", 0))
            print(sock.getsockname()[1], flush=True)
            threading.Thread(target=lambda: (sys.stdin.read(), __import__("os")._exit(0)), daemon=True).start()
            while mode() == "down": time.sleep(0.02)
            sock.listen(16)
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                def log_message(self, *a): pass
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                    code = int(mode())
                    alerts = [a["status"] for a in json.loads(body).get("alerts", [])]
                    with open(log, "a") as f:
                        f.write(json.dumps({"code": code, "key": self.headers.get("Idempotency-Key", ""), "alerts": alerts}) + "\\n")
                    answer = b'{"ok":false,"error":"nope: blocks are invalid"}' if code >= 400 else b"{}"
                    self.send_response(code); self.send_header("Content-Length", str(len(answer))); self.end_headers()
                    self.wfile.write(answer)
            s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H, bind_and_activate=False)
            s.socket.close(); s.socket = sock; s.serve_forever()
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, control.path, log.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = input
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let p = Int(line) else { throw DaemonProcess.Failure("receiver did not start: \(line)") }
        port = p
    }

    func set(_ mode: String) throws { try mode.write(to: control, atomically: true, encoding: .utf8) }

    /// Requests so far: (answer, Idempotency-Key, alert statuses).
    var requests: [(code: Int, key: String, alerts: [String])] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return (o["code"] as? Int ?? 0, o["key"] as? String ?? "", o["alerts"] as? [String] ?? [])
        }
    }

    deinit {
        try? input.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// The daemon's side of delivery: refusals shown by `agent status` and `/metrics`, and SIGTERM
/// delivering what waits in the outbox.
@Suite(.serialized) struct NotifyDeliveryEndToEndTests {
    /// A rule that fires at its first evaluation, and a webhook to `port`.
    static func config(dir: URL, port: Int, outbox: String = "") throws -> String {
        let rules = dir.appendingPathComponent("always.yaml")
        try """
            groups:
              - name: always
                interval: 1s
                rules:
                  - alert: Always
                    expr: vector(1) > 0
                    labels: {severity: high}
            """.write(to: rules, atomically: true, encoding: .utf8)
        return """
            rule_files: [\(rules.path)]
            notify:
              route: {receiver: hook, group_wait: 0s}
              receivers:
                - name: hook
                  webhook: {url: http://127.0.0.1:\(port)/hook/T0KEN-0123456789}
              \(outbox)
            """
    }

    @Test func aRefusalIsShownByStatusAndMetrics() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-refusal-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let receiver = try ScriptedReceiver(dir: dir, mode: "400")
        let agent = try DaemonProcess(extraConfig: try Self.config(dir: dir, port: receiver.port), dir: dir)
        #expect(eventually(within: 60) { !receiver.requests.isEmpty }, "no notification arrived:\n\(agent.log)")
        var document: [String: Any] = [:]
        #expect(eventually(within: 30) {
            let json = (try? agent.cli(["status", "--output", "json"]).stdout) ?? ""
            document = (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
            let integrations = (document["notifications"] as? [String: Any])?["integrations"] as? [[String: Any]]
            return integrations?.first?["last_refusal"] != nil
        })
        let integration = try #require(((document["notifications"] as? [String: Any])?["integrations"] as? [[String: Any]])?.first)
        #expect(integration["receiver"] as? String == "hook")
        #expect(integration["integration"] as? String == "webhook[0]")
        let refusal = try #require(integration["last_refusal"] as? [String: Any])
        #expect(refusal["status"] as? Int == 400)
        #expect((refusal["answer"] as? String)?.contains("nope: blocks are invalid") == true)
        #expect(integration["unheard_firings"] as? Int == 1, "the alert whose resolution will be withheld")
        let text = try agent.cli(["status"]).stdout
        #expect(text.contains("1 alert(s) whose firing it never accepted"), "\(text)")
        #expect(text.contains("hook/webhook[0]") && text.contains("HTTP 400") && text.contains("nope: blocks are invalid"), "\(text)")
        let metrics = String(decoding: try ControlClient(socketPath: agent.socket, timeout: 10).request("GET", "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("agent_notifications_refused_total{integration=\"webhook[0]\",reason=\"status_400\",receiver=\"hook\"} 1"))
        #expect(agent.logCount("refused by the service") == 1)
        #expect(!agent.log.contains("T0KEN-0123456789"), "the URL's token is never logged")
        #expect(!text.contains("T0KEN-0123456789"))
    }

    @Test func sigtermDeliversWhatTheOutboxHolds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-drain-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let receiver = try ScriptedReceiver(dir: dir, mode: "down")
        // A first retry 30 s after the first failure: only the drain can deliver within this test.
        let agent = try DaemonProcess(
            extraConfig: try Self.config(dir: dir, port: receiver.port, outbox: "outbox: {initial_backoff: 30s, max_backoff: 60s}"), dir: dir)
        #expect(eventually(within: 60) { agent.log.contains("notification to hook/webhook[0] failed, retrying") }, "\(agent.log)")
        try receiver.set("200")
        #expect(agent.signal(SIGTERM) == 0)
        let got = receiver.requests
        #expect(got.map(\.code) == [200], "delivered while stopping:\n\(agent.log)")
        #expect(got.first?.alerts == ["firing"])
        #expect(agent.log.contains("outbox: 1 notifications delivered while stopping; 0 left for the next start"))
    }
}
