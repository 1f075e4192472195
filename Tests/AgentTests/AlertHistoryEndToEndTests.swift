import AgentDaemon
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real binary tails a log of the last 40 minutes, a rule fires on its last line, and the
/// webhook's alert carries the rule's value every minute over the last 30 minutes: the values the
/// log says, the last one the alert's own, each one what `agent query --at` answers.
@Suite(.serialized) struct AlertHistoryEndToEndTests {
    /// One line every 10 s (one per 10 s slot) from 40 minutes ago: a wave between 10 and 90, then 500.
    static func writeLog(_ path: String, now: Double) throws -> [(ms: Int64, depth: Double)] {
        var lines: [(Int64, Double)] = []
        let first = (now - 2400).rounded(.down) + 0.25
        for i in 0..<240 {
            let depth = Double(String(format: "%.3f", 50 + 40 * sin(Double(i) / 12)))!
            lines.append((Int64(((first + 10 * Double(i)) * 1000).rounded()), depth))
        }
        lines.append((Int64(((first + 2400) * 1000).rounded()), 500))
        let text = lines.map { "{\"ts\":\(String(format: "%.3f", Double($0.0) / 1000)),\"depth\":\($0.1)}\n" }.joined()
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return lines
    }

    @Test func aFiringAlertsWebhookCarriesItsLastThirtyMinutes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-history-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let peer = try LocalPeer(dir: dir)
        let logPath = dir.appendingPathComponent("queue.jsonl").path
        // The last line lands a few seconds before the agent starts: within its 5-minute lookback.
        let lines = try Self.writeLog(logPath, now: Date().timeIntervalSince1970 - 3)
        let rulesPath = dir.appendingPathComponent("queue.yaml").path
        try """
            groups:
              - name: queue
                interval: 1s
                rules:
                  - alert: QueueDeep
                    expr: max(queue_depth) > 400
                    labels: {severity: critical}
                    annotations: {value: "{{ $value }}"}
            """.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let agent = try DaemonProcess(extraConfig: """
            logs:
              - path: \(logPath)
                job: worker
                start_at: beginning
                timestamp: {field: ts}
                metrics:
                  - {name: queue_depth, type: gauge, field: depth}
            rule_files: [\(rulesPath)]
            notify:
              route: {receiver: hook, group_wait: 0s}
              receivers:
                - name: hook
                  webhook: {url: http://127.0.0.1:\(peer.port)/alerts}
            """, dir: dir)

        eventually(within: 60) { !peer.webhooks.isEmpty }
        let hook = try #require(peer.webhooks.first, "no webhook arrived:\n\(agent.log)")
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(hook.utf8)) as? [String: Any])
        let alert = try #require((payload["alerts"] as? [[String: Any]])?.first)
        #expect((alert["labels"] as? [String: String])?["alertname"] == "QueueDeep")
        let history = try #require(alert["history"] as? [[Any]], "no history in \(hook)")
        let points = history.compactMap { pair -> (t: Double, v: Double)? in
            guard pair.count == 2, let t = pair[0] as? NSNumber, let v = pair[1] as? NSNumber else { return nil }
            return (t.doubleValue, v.doubleValue)
        }
        #expect(points.count == history.count, "every point is [unix_seconds, value]")

        // The last point is the alert's value, at the evaluation that fired it.
        let value = try #require((alert["annotations"] as? [String: String])?["value"].flatMap(Double.init))
        #expect(points.last?.v == value && value == 500)
        // 30 points a minute apart: the last 30 minutes, all within the log's 40.
        #expect(points.count == 30, "\(points)")
        for (a, b) in zip(points, points.dropFirst()) { #expect(abs((b.t - a.t) - 60) < 1e-6) }
        let end = try #require(points.last?.t)
        #expect(end * 1000 >= Double(lines.last!.ms), "the alert fired once the last line was in")
        // Each earlier point is the depth of the last line at or before its time (one line per slot).
        for p in points.dropLast() {
            let ms = Int64((p.t * 1000).rounded())
            let expected = try #require(lines.last { $0.ms <= ms }?.depth)
            #expect(abs(p.v - expected) <= 1e-9 * max(1, abs(expected)), "at \(p.t): \(p.v), the log says \(expected)")
        }
        // And what the query engine answers at those times, through the CLI.
        for p in [points[0], points[14], points[28]] {
            let r = try agent.cli(["query", "max(queue_depth)", "--at", String(format: "%.3f", p.t), "--output", "json"])
            let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let answer = ((doc?["result"] as? [[String: Any]])?.first?["value"] as? [Any])?.last as? String
            #expect(answer.flatMap(Double.init) == p.v, "agent query at \(p.t): \(r.stdout) \(r.stderr)")
        }
        // The daemon counts what it computed.
        let metrics = String(decoding: try ControlClient(socketPath: agent.socket, timeout: 10).request("GET", "/metrics").body, as: UTF8.self)
        let computed = metrics.split(separator: "\n").first { $0.hasPrefix("agent_notification_histories_total{result=\"computed\"} ") }
        #expect(computed.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0 >= 1, "\(metrics.split(separator: "\n").filter { $0.contains("histor") })")
        #expect(agent.signal(SIGTERM) == 0)
        withExtendedLifetime(peer) {}
    }
}
