import AgentClient
import Foundation
import Testing
import TextRendering
import TimeSeries
@testable import Notify
#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus (Debian's `prometheus` 2.42) with a given configuration, rule file and
/// external URL, its TSDB in a scratch folder; killed (SIGKILL) by `stop()`.
final class PrometheusServer {
    let process = Process()
    let port: Int
    let logURL: URL

    init(dir: URL, config: String, externalURL: String) throws {
        port = try freeTCPPort()
        let configURL = dir.appendingPathComponent("prometheus.yml")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        logURL = dir.appendingPathComponent("prometheus.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        process.arguments = [
            "--config.file=\(configURL.path)", "--storage.tsdb.path=\(dir.appendingPathComponent("tsdb").path)",
            "--web.listen-address=127.0.0.1:\(port)", "--web.external-url=\(externalURL)", "--log.level=warn",
        ]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        guard eventually(within: 30, { (try? httpGet("http://127.0.0.1:\(port)/-/ready")) != nil }) else {
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

/// Issue 14's acceptance for alerts: a real Prometheus and the agent run the same rule over the
/// same target side by side and forward to one real Alertmanager. What Alertmanager holds from
/// both must be the same alert but for the external label naming the sender.
@Suite(.serialized) struct AlertsAsPrometheusSendsThemTests {
    @Test func alertmanagerHoldsTheSameAlertFromPrometheusAndFromTheAgent() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-side-by-side-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = try LocalPeer(dir: dir)  // serves peer_temperature{room="lab"} 21.5; records webhooks
        let am = try AlertmanagerServer(dir: dir)
        defer { am.stop() }

        // The condition starts to hold at `switchAt` for both (a time gate on the scraped series),
        // so that both fire one `for:` later whatever their start-up times. The gate is written
        // with small numbers, which Prometheus 2.42 and the agent print alike in generatorURL.
        let switchAt = Int(Date().timeIntervalSince1970) + 15
        let gate = "\(switchAt / 10000).\(String(format: "%04d", switchAt % 10000))"
        let interval = 1.0
        let rules = dir.appendingPathComponent("rules.yaml")
        try """
            groups:
              - name: lab
                interval: 1s
                rules:
                  - alert: LabTooWarm
                    expr: peer_temperature > 20 + 1000 * (time() / 10000 < bool \(gate))
                    for: 3s
                    labels: {severity: high}
                    annotations:
                      summary: "{{ $labels.room }} at {{ $value }}"
                      description: "instance {{ $labels.instance }} of {{ $labels.job }}"
            """.write(to: rules, atomically: true, encoding: .utf8)
        let prometheus = try PrometheusServer(dir: dir, config: """
            global: {scrape_interval: 1s, evaluation_interval: 1s, external_labels: {sender: prometheus}}
            rule_files: [\(rules.path)]
            scrape_configs:
              - job_name: lab
                static_configs: [{targets: ['127.0.0.1:\(target.port)']}]
            alerting:
              alertmanagers: [{static_configs: [{targets: ['127.0.0.1:\(am.port)']}]}]
            """, externalURL: "http://prometheus.test:9090")
        defer { prometheus.stop() }
        let agent = try DaemonProcess(
            extraConfig: """
                scrape:
                  - job: lab
                    scrape_interval: 1s
                    targets: [http://127.0.0.1:\(target.port)/metrics]
                rule_files: [\(rules.path)]
                notify:
                  external_url: http://agent.test:9464
                  route: {receiver: fleet, group_by: [alertname], group_wait: 0s}
                  receivers:
                    - name: fleet
                      alertmanager: {urls: ['\(am.url)']}
                      webhook: {url: 'http://127.0.0.1:\(target.port)/alerts'}
                """, globalExtra: "  external_labels: {sender: agent}", dir: dir)
        defer { agent.signal(SIGKILL) }

        var held: [[String: Any]] = []
        let both = eventually(within: 60) {
            held = (try? httpGet("\(am.url)/api/v2/alerts")).flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [[String: Any]] } ?? []
            return Set(held.compactMap { ($0["labels"] as? [String: String])?["sender"] }) == ["prometheus", "agent"]
        }
        try #require(both, "Alertmanager holds \(held)\n\(prometheus.log)\n\(agent.log)")
        func alert(from sender: String) throws -> [String: Any] {
            try #require(held.first { ($0["labels"] as? [String: String])?["sender"] == sender })
        }
        let fromPrometheus = try alert(from: "prometheus"), fromAgent = try alert(from: "agent")
        var labelsP = fromPrometheus["labels"] as? [String: String] ?? [:], labelsA = fromAgent["labels"] as? [String: String] ?? [:]
        // Same labels apart from the sender's external label; the same annotations.
        labelsP["sender"] = nil
        labelsA["sender"] = nil
        #expect(labelsA == labelsP)
        #expect(labelsA["alertname"] == "LabTooWarm" && labelsA["room"] == "lab" && labelsA["job"] == "lab")
        #expect(fromAgent["annotations"] as? [String: String] == fromPrometheus["annotations"] as? [String: String])
        // startsAt is when each fired (3 s after the condition began to hold, not the pending start),
        // within one evaluation interval of each other.
        let startP = try #require((fromPrometheus["startsAt"] as? String).flatMap(RFC3339.parse))
        let startA = try #require((fromAgent["startsAt"] as? String).flatMap(RFC3339.parse))
        #expect(abs(startA - startP) <= Int64(interval * 1000), "agent \(startA) vs Prometheus \(startP)")
        #expect(startA >= Int64(switchAt + 3) * 1000 && startP >= Int64(switchAt + 3) * 1000, "fired, not pending: \(startA), \(startP)")
        // endsAt: valid for 4 × max(resend delay 1m, interval) from the evaluation that sent it.
        let endA = try #require((fromAgent["endsAt"] as? String).flatMap(RFC3339.parse))
        let endP = try #require((fromPrometheus["endsAt"] as? String).flatMap(RFC3339.parse))
        for (end, start, who) in [(endA, startA, "agent"), (endP, startP, "Prometheus")] {
            #expect(end - start >= 240_000 && end - start <= 240_000 + 10_000, "\(who): endsAt \(end) startsAt \(start)")
        }
        // generatorURL: the external URL and the same table link for the same expression.
        let urlA = fromAgent["generatorURL"] as? String ?? "", urlP = fromPrometheus["generatorURL"] as? String ?? ""
        #expect(urlA.hasPrefix("http://agent.test:9464/graph?g0.expr=") && urlA.hasSuffix("&g0.tab=1"), "\(urlA)")
        #expect(urlA.dropFirst("http://agent.test:9464".count) == urlP.dropFirst("http://prometheus.test:9090".count), "\(urlA) vs \(urlP)")
        // Fingerprints: Alertmanager's for each label set is ours, and our webhook names the alert
        // with the fingerprint Alertmanager gave it.
        for a in [fromPrometheus, fromAgent] {
            #expect(a["fingerprint"] as? String == Labels(a["labels"] as? [String: String] ?? [:]).alertmanagerFingerprint)
        }
        let hooked = eventually(within: 30) { !target.webhooks.isEmpty }
        let hook = try #require(hooked ? target.webhooks.first : nil, "no webhook:\n\(agent.log)")
        let payload = try JSONSerialization.jsonObject(with: Data(hook.utf8)) as? [String: Any]
        let sent = try #require((payload?["alerts"] as? [[String: Any]])?.first)
        #expect(sent["labels"] as? [String: String] == fromAgent["labels"] as? [String: String])
        #expect(sent["fingerprint"] as? String == fromAgent["fingerprint"] as? String)
        #expect((sent["startsAt"] as? String).flatMap(RFC3339.parse) == startA)
        withExtendedLifetime(target) {}
    }
}
