import Foundation
import Testing
import AgentDaemon
#if canImport(Glibc)
import Glibc
#endif

/// The real `agent run`, driven as a user and systemd would drive it.
@Suite(.serialized) struct DaemonLifecycleTests {
    @Test func theDaemonAnswersStatusAndQueriesOnItsSocket() throws {
        let agent = try DaemonProcess()
        // A self-metrics round.
        #expect(try eventually { try agent.cli(["query", "agent_build_info", "--output", "json"]).stdout.contains("\"job\":\"agent\"") })
        let status = try agent.cli(["status", "--output", "json"])
        #expect(status.status == 0, "\(status.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        #expect(doc?["ready"] as? Bool == true)
        let query = try agent.cli(["query", "agent_build_info", "--output", "json"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout.contains("\"resultType\":\"vector\""))
        #expect(query.stdout.contains("\"job\":\"agent\""))
        let bad = try agent.cli(["query", "sum(rate(x[5m])"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("1:16: unexpected end of input"))
        #expect(agent.signal(SIGTERM) == 0)
    }

    @Test func aQueryWithoutADaemonFailsWithOneClearLine() throws {
        let result = try runAgent(["query", "up", "--socket", "/tmp/no-such-agent.sock"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("agent is not running: no socket at /tmp/no-such-agent.sock"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func sigtermCheckpointsAndARestartRestoresTheSeries() throws {
        // 1 s slots, so the restarted agent's first samples land in a later slot than the checkpoint's.
        let agent = try DaemonProcess(globalExtra: "  resolution: 1s\n  retention: 10m")
        #expect(try eventually { try agent.cli(["query", "count(agent_series)", "--output", "json"]).stdout.contains("\"3\"") })
        let firstRunEnd = String(Date().timeIntervalSince1970)
        #expect(agent.signal(SIGTERM) == 0)
        #expect(agent.log.contains("received SIGTERM: draining"))
        // Restart in the same folder. Samples at or before the first run's end can only come
        // from the checkpoint: the second run writes its samples later.
        usleep(1_100_000)
        let again = try DaemonProcess(globalExtra: "  resolution: 1s\n  retention: 10m", dir: agent.dir)
        #expect(again.log.contains("restored"))
        let after = try again.cli(["query", "count(agent_series)", "--at", firstRunEnd, "--output", "json"])
        #expect(after.stdout.contains("\"3\""), "\(after.stdout) \(again.log)")
        let emptyBefore = try again.cli(["query", "count(agent_series)", "--at", String(Double(firstRunEnd)! - 600), "--output", "json"])
        #expect(emptyBefore.stdout.contains("\"result\":[]"), "nothing existed ten minutes earlier")
        again.signal(SIGTERM)
    }

    @Test func aCorruptCheckpointIsSetAsideAndTheAgentStartsEmpty() throws {
        let agent = try DaemonProcess()
        let checkpoint = agent.dir.appendingPathComponent("state/checkpoint.bin").path
        #expect(eventually { FileManager.default.fileExists(atPath: checkpoint) }, "no checkpoint written:\n\(agent.log)")
        agent.signal(SIGKILL)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: checkpoint)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: checkpoint))
        let again = try DaemonProcess(dir: agent.dir)
        #expect(again.log.contains("set aside as \(checkpoint).corrupt-"), "\(again.log)")
        let files = try FileManager.default.contentsOfDirectory(atPath: agent.dir.appendingPathComponent("state").path)
        #expect(files.contains { $0.hasPrefix("checkpoint.bin.corrupt-") })
        again.signal(SIGTERM)
    }

    @Test func sighupWithABrokenConfigKeepsTheRunningOne() throws {
        let agent = try DaemonProcess()
        let original = try String(contentsOfFile: agent.configPath, encoding: .utf8)
        try (original + "\nglobal_typo: 1\n").write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        eventually { agent.log.contains("refused") }
        #expect(agent.log.contains("refused; the running configuration stays"))
        #expect(agent.log.contains("unknown key \"global_typo\""))
        let status = try agent.cli(["status"])
        #expect(status.status == 0)
        #expect(agent.signal(SIGTERM) == 0)
    }

    @Test func sighupReloadsRulesAndABrokenRuleFileKeepsTheOldOnes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-reload-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let rulesPath = dir.appendingPathComponent("up.yaml").path
        try "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - record: one\n        expr: vector(1)\n".write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let agent = try DaemonProcess(extraConfig: "rule_files: [\(rulesPath)]", dir: dir)
        // A valid change: a second recording rule appears.
        try "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - record: one\n        expr: vector(1)\n      - record: two\n        expr: vector(2)\n"
            .write(toFile: rulesPath, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        #expect(try eventually { try agent.cli(["query", "two", "--output", "json"]).stdout.contains("\"2\"") }, "\(agent.log)")
        // A broken rule file is refused; the running rules go on.
        try "groups:\n  - name: g\n    rules:\n      - record: three\n        expr: sum(\n".write(toFile: rulesPath, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        eventually { agent.log.contains("refused") }
        #expect(agent.log.contains("refused; the running configuration stays"))
        #expect(agent.log.contains("up.yaml:"))
        let status = try agent.cli(["status", "--output", "json"])
        #expect(status.stdout.contains("\"rules\":2"), "\(status.stdout)")
        #expect(agent.signal(SIGTERM) == 0)
    }

    @Test func theSocketIsGroupReadableOnly() throws {
        let agent = try DaemonProcess()
        var st = stat()
        #expect(stat(agent.socket, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o660)
        agent.signal(SIGTERM)
        #expect(!FileManager.default.fileExists(atPath: agent.socket))
    }
}
