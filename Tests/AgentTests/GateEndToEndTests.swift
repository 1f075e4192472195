import AgentClient
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `agent gate` against the real daemon: the three verdicts and their exit statuses, a blocker, a
/// run that outlives a `kill -9` of the daemon, and the API, metrics and notification around them.
/// The gates read the agent's own metrics (`agent_build_info`, stored every second), so no
/// service is needed; evaluations are a second apart.
@Suite(.serialized) struct GateEndToEndTests {
    static let gates = """
        gates:
          - name: healthy
            interval: 1s
            duration: 3s
            timeout: 30s
            must:
              - expr: agent_build_info > 0
                name: the agent runs
            notify: [promote]
            labels: {severity: info, team: deploy}
          - name: broken
            interval: 1s
            duration: 3s
            timeout: 30s
            failure_limit: 1
            must:
              - expr: agent_build_info < 0
          - name: empty
            interval: 1s
            duration: 3s
            timeout: 30s
            must:
              - expr: no_such_metric < 1
          - name: picky
            interval: 1s
            duration: 2s
            timeout: 4s
            must:
              - expr: agent_build_info > 0
            should:
              - expr: agent_build_info > 10
            min_should: 1
          - name: blocked
            interval: 1s
            duration: 30s
            timeout: 60s
            must:
              - expr: agent_build_info > 0
              - no_alerts: {gate: e2e}
          - name: slow
            interval: 1s
            duration: 8s
            timeout: 120s
            must:
              - expr: agent_build_info > 0
        """

    static let rules = """
        groups:
          - name: e2e
            interval: 1s
            rules:
              - alert: E2EBlocker
                expr: vector(1)
                labels: {gate: e2e}
        """

    /// A daemon with the gates above, the blocking rule, and a webhook receiver on `hook` when given.
    static func daemon(dir: URL? = nil, hook: Int? = nil) throws -> DaemonProcess {
        let folder = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("agent-gates-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try gates.write(to: folder.appendingPathComponent("gates.yaml"), atomically: true, encoding: .utf8)
        try rules.write(to: folder.appendingPathComponent("e2e-rules.yaml"), atomically: true, encoding: .utf8)
        var config = "gate_files: [gates.yaml]\nrule_files: [e2e-rules.yaml]\n"
        if let hook {
            config += """
                notify:
                  route: {receiver: hook, group_by: [alertname, gate], group_wait: 0s, group_interval: 1s}
                  receivers:
                    - name: hook
                      webhook: {url: "http://127.0.0.1:\(hook)/hook"}
                """
        }
        return try DaemonProcess(extraConfig: config, dir: folder)
    }

    static func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    /// The `data` of a GET on the agent's API.
    static func api(_ agent: DaemonProcess, _ path: String, method: String = "GET") -> (status: Int, data: [String: Any]?) {
        guard let r = try? ControlClient(socketPath: agent.socket, timeout: 5).request(method, path) else { return (0, nil) }
        return (r.status, (json(String(decoding: r.body, as: UTF8.self))?["data"]) as? [String: Any])
    }

    @Test func theThreeVerdictsExitZeroOneAndTwo() throws {
        let agent = try Self.daemon()
        defer { try? FileManager.default.removeItem(at: agent.dir) }

        let promote = try agent.cli(["gate", "healthy"])
        #expect(promote.status == 0, "\(promote.stdout)\(promote.stderr)\n\(agent.log)")
        #expect(promote.stdout.contains("healthy: PROMOTE — every must-check held for 3s (4 evaluations in a row)"), "\(promote.stdout)")
        #expect(promote.stdout.contains("evaluation 1/31: must the agent runs pass 1"), "\(promote.stdout)")

        let abort = try agent.cli(["gate", "broken"])
        #expect(abort.status == 1, "\(abort.stdout)\(abort.stderr)")
        #expect(abort.stdout.contains("broken: ABORT — must-check 1 \"agent_build_info < 0\" failed 2 times (failure_limit 1)"), "\(abort.stdout)")

        let noData = try agent.cli(["gate", "empty", "--output", "json"])
        #expect(noData.status == 2, "\(noData.stdout)\(noData.stderr)")
        let doc = try #require(Self.json(noData.stdout), "\(noData.stdout)")
        #expect(doc["verdict"] as? String == "inconclusive")
        #expect(doc["evaluations"] as? Int == 1)
        #expect((doc["checks"] as? [[String: Any]])?.first?["no_data"] as? Int == 1)

        // Must-checks hold, the should-check never does: inconclusive at the timeout (4s: 5 evaluations).
        let timeout = try agent.cli(["gate", "picky", "--output", "json"])
        #expect(timeout.status == 2, "\(timeout.stdout)\(timeout.stderr)")
        let t = try #require(Self.json(timeout.stdout))
        #expect(t["evaluations"] as? Int == 5)
        #expect((t["reason"] as? String)?.hasPrefix("timeout 4s: 0 of 1 should-checks hold (min_should 1)") == true, "\(t)")

        // A firing alert labelled gate=e2e blocks at once, though every must-check holds.
        #expect(eventually(within: 30) { (try? agent.cli(["alerts"]))?.stdout.contains("E2EBlocker") == true })
        let blocked = try agent.cli(["gate", "blocked"])
        #expect(blocked.status == 1, "\(blocked.stdout)\(blocked.stderr)")
        #expect(blocked.stdout.contains("fired: E2EBlocker firing"), "\(blocked.stdout)")

        // Overrides: a shorter watch promotes sooner.
        let quick = try agent.cli(["gate", "slow", "--duration", "1s", "--timeout", "10s", "--output", "json"])
        #expect(quick.status == 0, "\(quick.stdout)\(quick.stderr)")
        #expect(Self.json(quick.stdout)?["evaluations"] as? Int == 2)
        #expect(Self.json(quick.stdout)?["duration_seconds"] as? Double == 1)

        // What cannot run exits 3.
        let unknown = try agent.cli(["gate", "nope"])
        #expect(unknown.status == 3 && unknown.stderr.contains("no gate named \"nope\""), "\(unknown.stderr)")
        let bad = try agent.cli(["gate", "healthy", "--duration", "1h"])
        #expect(bad.status == 3 && bad.stderr.contains("does not fit in timeout"), "\(bad.stderr)")

        // The API and /metrics remember the runs.
        let list = try #require(Self.api(agent, "/api/v1/gates").data)
        #expect((list["gates"] as? [[String: Any]])?.count == 6)
        #expect((list["runs"] as? [[String: Any]])?.count == 6)
        #expect(eventually(within: 30) {
            let r = try? agent.cli(["query", "agent_gate_verdicts_total{gate=\"healthy\", verdict=\"promote\"}"])
            return r?.stdout.hasSuffix("  1\n") == true
        })
        let files = try FileManager.default.contentsOfDirectory(atPath: agent.dir.appendingPathComponent("state/gates").path)
        #expect(files.filter { $0.hasSuffix(".json") }.count == 6, "\(files)")
    }

    @Test func aRunGoesOnAcrossAKillNineWithItsCountsIntact() throws {
        let first = try Self.daemon()
        let dir = first.dir
        defer { try? FileManager.default.removeItem(at: dir) }
        let started = Self.api(first, "/api/v1/gates/slow", method: "POST")
        let id = try #require(started.data?["id"] as? String, "\(started)\n\(first.log)")

        // A second start while it runs is refused, and says how to follow it.
        let again = try first.cli(["gate", "slow"])
        #expect(again.status == 3 && again.stderr.contains("already running") && again.stderr.contains("--attach"), "\(again.stderr)")

        #expect(eventually(within: 60) { (Self.api(first, "/api/v1/gates/slow").data?["evaluations"] as? Int ?? 0) >= 3 }, "\(first.log)")
        first.signal(SIGKILL)

        // What the file held at the kill is what the next daemon resumes from.
        let file = dir.appendingPathComponent("state/gates/\(id).json")
        let saved = try #require(Self.json(try String(contentsOf: file, encoding: .utf8)), "no run file")
        let savedEvaluations = try #require(saved["evaluations"] as? Int)
        let savedValues = try #require(((saved["checks"] as? [[String: Any]])?.first?["values"] as? [Any])?.count)
        // The API showed 3: evaluation 3 is taken after evaluation 2 was written.
        #expect(savedEvaluations >= 2)

        let second = try Self.daemon(dir: dir)
        let resumed = try #require(Self.api(second, "/api/v1/gates/slow").data, "\(second.log)")
        #expect(resumed["id"] as? String == id)
        #expect(resumed["started_at"] as? Double == started.data?["started_at"] as? Double)
        #expect((resumed["evaluations"] as? Int ?? 0) >= savedEvaluations)
        #expect(second.log.contains("resumed 1 gate runs"))

        let follow = try second.cli(["gate", "slow", "--attach", "--output", "json"])
        #expect(follow.status == 0, "\(follow.stdout)\(follow.stderr)\n\(second.log)")
        let done = try #require(Self.json(follow.stdout))
        let check = try #require((done["checks"] as? [[String: Any]])?.first)
        // Nine holding evaluations in a row (8s at 1s), the ones before the kill among them.
        #expect(done["evaluations"] as? Int == 9, "\(done)")
        #expect(check["passed"] as? Int == 9)
        #expect(check["streak"] as? Int == 9)
        #expect(((check["values"] as? [Any])?.count ?? 0) == 9)
        #expect(savedValues == savedEvaluations)
        #expect(done["id"] as? String == id)
    }

    @Test func ctrlCStopsFollowingButNotTheGate() throws {
        let agent = try Self.daemon()
        defer { try? FileManager.default.removeItem(at: agent.dir) }
        let follower = Process()
        follower.executableURL = agentExecutableURL()
        follower.arguments = ["gate", "slow", "--socket", agent.socket]
        let err = Pipe()
        follower.standardOutput = Pipe()
        follower.standardError = err
        try follower.run()
        #expect(eventually(within: 60) { (Self.api(agent, "/api/v1/gates/slow").data?["evaluations"] as? Int ?? 0) >= 1 }, "\(agent.log)")
        kill(follower.processIdentifier, SIGINT)
        follower.waitUntilExit()
        #expect(follower.terminationStatus == 130)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("stopped following; the gate goes on in the agent: agent gate slow --attach --socket \(agent.socket)"), "\(stderr)")
        let before = Self.api(agent, "/api/v1/gates/slow").data?["evaluations"] as? Int ?? 0
        #expect(eventually(within: 30) { (Self.api(agent, "/api/v1/gates/slow").data?["evaluations"] as? Int ?? 0) > before })
        #expect(Self.api(agent, "/api/v1/gates/slow").data?["state"] as? String == "running")
    }

    @Test func aReloadRefusesABadGateFileAndAppliesAGoodOne() throws {
        let agent = try Self.daemon()
        defer { try? FileManager.default.removeItem(at: agent.dir) }
        let file = agent.dir.appendingPathComponent("gates.yaml")
        try "gates:\n  - name: fresh\n    duration: 1x\n".write(to: file, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        #expect(eventually(within: 30) { agent.log.contains("gates.yaml:3:15: gate \"fresh\": bad duration \"1x\"") }, "\(agent.log)")
        #expect(try agent.cli(["gate", "fresh"]).status == 3)
        let kept = try agent.cli(["gate", "healthy", "--output", "json"])
        #expect(kept.status == 0, "\(kept.stdout)\(kept.stderr)")

        try "gates:\n  - name: fresh\n    interval: 1s\n    duration: 1s\n    must: [{expr: agent_build_info > 0}]\n".write(to: file, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        #expect(eventually(within: 30) { agent.log.contains("1 gates") && agent.logCount("reloaded") >= 1 }, "\(agent.log)")
        let fresh = try agent.cli(["gate", "fresh", "--output", "json"])
        #expect(fresh.status == 0, "\(fresh.stdout)\(fresh.stderr)")
        #expect(try agent.cli(["gate", "healthy"]).status == 3)
    }

    @Test func aVerdictIsNotifiedThroughTheRoutes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-gates-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let peer = try LocalPeer(dir: dir)
        let agent = try Self.daemon(dir: dir, hook: peer.port)
        let run = try agent.cli(["gate", "healthy"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(eventually(within: 30) { peer.webhooks.contains { $0.contains("\"GateVerdict\"") } }, "\(agent.log)")
        let body = try #require(peer.webhooks.first { $0.contains("\"GateVerdict\"") })
        let doc = try #require(Self.json(body))
        let alert = try #require((doc["alerts"] as? [[String: Any]])?.first)
        let labels = try #require(alert["labels"] as? [String: String])
        #expect(labels["gate"] == "healthy" && labels["verdict"] == "promote" && labels["team"] == "deploy" && labels["severity"] == "info")
        #expect(alert["status"] as? String == "firing")
    }
}

/// `agent demo --gate`: the canary passes the first gate and fails the second.
@Suite struct GateDemoTests {
    @Test func theCanaryPassesOneGateAndFailsTheNext() throws {
        let r = try runAgent(["demo", "--gate", "--speed", "100"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("canary-10: PROMOTE (exit 0)"), "\(r.stdout)")
        #expect(r.stdout.contains("canary-50: ABORT (exit 1)"), "\(r.stdout)")
        #expect(r.stdout.contains("agent gate canary-50  → exit 1 (abort)"))
    }
}
