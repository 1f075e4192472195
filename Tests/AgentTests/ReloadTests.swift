import Foundation
import Testing
import AgentDaemon
#if canImport(Glibc)
import Glibc
#endif

/// Reloads as a user meets them: a file changes (no SIGHUP), and targets and logs follow the new
/// configuration without a restart. The real binary, with the file check every second.
@Suite(.serialized) struct ReloadTests {
    static let fastCheck = "  reload_check_interval: 1s"

    static func scratch(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The value of a one-series instant query, nil when the result is empty.
    static func value(_ agent: DaemonProcess, _ expr: String) -> Double? {
        guard let r = try? agent.cli(["query", expr, "--output", "json"]), r.status == 0,
              let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
              let first = (doc["result"] as? [[String: Any]])?.first,
              let text = (first["value"] as? [Any])?.last as? String else { return nil }
        return Double(text)
    }

    static func rule(_ name: String, _ value: Int) -> String {
        "groups:\n  - name: \(name)\n    interval: 1s\n    rules:\n      - record: \(name)\n        expr: vector(\(value))\n"
    }

    @Test func aNewRuleFileMatchingTheGlobIsLoadedWithoutASignal() throws {
        let dir = try Self.scratch("rulewatch")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = dir.appendingPathComponent("rules")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        try Self.rule("one", 1).write(to: rules.appendingPathComponent("one.yaml"), atomically: true, encoding: .utf8)
        let agent = try DaemonProcess(extraConfig: "rule_files: [rules/*.yaml]", globalExtra: Self.fastCheck, dir: dir)
        #expect(eventually { Self.value(agent, "one") == 1 }, "\(agent.log)")
        // A file appears under the glob: loaded, no SIGHUP.
        try Self.rule("two", 2).write(to: rules.appendingPathComponent("two.yaml"), atomically: true, encoding: .utf8)
        #expect(eventually { Self.value(agent, "two") == 2 }, "\(agent.log)")
        #expect(agent.log.contains("file change: reloaded 2 rule groups from 2 files"), "\(agent.log)")
        // An edited file (replaced by rename, as editors save) is reloaded too.
        try Self.rule("two", 22).write(to: rules.appendingPathComponent("two.yaml"), atomically: true, encoding: .utf8)
        #expect(eventually { Self.value(agent, "two") == 22 }, "\(agent.log)")
        // A unit-test file is not a rule file: nothing reloads for it.
        let reloads = agent.logCount("file change: reloaded")
        try "rule_files: [two.yaml]\ntests: []\n".write(to: rules.appendingPathComponent("two_test.yaml"), atomically: true, encoding: .utf8)
        usleep(3_000_000)
        #expect(agent.logCount("file change: reloaded") == reloads, "\(agent.log)")
        agent.signal(SIGKILL)
    }

    @Test func aHalfWrittenConfigIsRefusedAtMostOnceAndTheFinishedOneLoads() throws {
        let dir = try Self.scratch("halfwrite")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rulesPath = dir.appendingPathComponent("three.yaml").path
        try Self.rule("three", 3).write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let agent = try DaemonProcess(globalExtra: Self.fastCheck, dir: dir)
        let complete = agent.configText(extraConfig: "rule_files: [\(rulesPath)]\n")
        // Written in place in two steps with a pause longer than the check interval between them,
        // as a slow copy over the network or an editor that crashed half-way would.
        let handle = try #require(FileHandle(forWritingAtPath: agent.configPath))
        let cut = complete.range(of: "rule_fi")!.upperBound
        try handle.truncate(atOffset: 0)
        handle.write(Data(complete[..<cut].utf8))
        #expect(eventually { agent.log.contains("file change: \(agent.configPath) refused") }, "\(agent.log)")
        usleep(3_500_000)  // more checks: the same half file is not tried again
        #expect(agent.logCount("refused; the running configuration stays") == 1, "\(agent.log)")
        #expect(try agent.cli(["status"]).status == 0, "the old configuration keeps running")
        handle.write(Data(complete[cut...].utf8))
        try handle.close()
        #expect(eventually { Self.value(agent, "three") == 3 }, "\(agent.log)")
        #expect(agent.logCount("refused; the running configuration stays") == 1, "\(agent.log)")
        #expect(agent.logCount("file change: reloaded") == 1, "\(agent.log)")
        agent.signal(SIGKILL)
    }

    @Test func aConfigNamingABrokenRuleFileIsRefusedOnceAndLoadsWhenTheRuleFileIsFixed() throws {
        let dir = try Self.scratch("brokenrule")
        defer { try? FileManager.default.removeItem(at: dir) }
        let agent = try DaemonProcess(globalExtra: Self.fastCheck, dir: dir)
        let rules = dir.appendingPathComponent("extra")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        let rulePath = rules.appendingPathComponent("four.yaml").path
        try "groups:\n  - name: four\n    rules:\n      - record: four\n        expr: sum(\n".write(toFile: rulePath, atomically: true, encoding: .utf8)
        try agent.writeConfig(extraConfig: "rule_files: [extra/*.yaml]\n")
        #expect(eventually { agent.log.contains("four.yaml:") }, "\(agent.log)")
        usleep(3_500_000)  // more checks: nothing changed, nothing is retried
        #expect(agent.logCount("refused; the running configuration stays") == 1, "\(agent.log)")
        // The fix is in the rule file the refused configuration named: that is watched.
        try Self.rule("four", 4).write(toFile: rulePath, atomically: true, encoding: .utf8)
        #expect(eventually { Self.value(agent, "four") == 4 }, "\(agent.log)")
        #expect(agent.logCount("refused; the running configuration stays") == 1, "\(agent.log)")
        agent.signal(SIGKILL)
    }

    @Test func targetsAreAddedChangedAndRemovedByAReload() throws {
        let dir = try Self.scratch("targets")
        defer { try? FileManager.default.removeItem(at: dir) }
        let peer = try LocalPeer(dir: dir)
        let agent = try DaemonProcess(globalExtra: Self.fastCheck, dir: dir)
        func scrape(interval: String) -> String {
            "scrape:\n  - job: peer\n    scrape_interval: \(interval)\n    targets: [http://127.0.0.1:\(peer.port)/metrics]\n"
        }
        try agent.writeConfig(extraConfig: scrape(interval: "1s"))
        #expect(eventually { Self.value(agent, "peer_temperature") == 21.5 }, "\(agent.log)")
        #expect(agent.log.contains("targets added: http://127.0.0.1:\(peer.port)/metrics"), "\(agent.log)")
        #expect(!agent.log.contains("take effect at the next restart"))

        try agent.writeConfig(extraConfig: scrape(interval: "2s"))
        #expect(eventually { agent.log.contains("targets changed: http://127.0.0.1:\(peer.port)/metrics") }, "\(agent.log)")
        let status = try agent.cli(["status", "--output", "json"]).stdout
        #expect(status.contains("\"interval_seconds\":2"), "\(status)")

        try agent.writeConfig(extraConfig: "")
        #expect(eventually { agent.log.contains("targets removed: http://127.0.0.1:\(peer.port)/metrics") }, "\(agent.log)")
        // Its series are marked stale at once: an instant query no longer sees them.
        #expect(eventually { Self.value(agent, "peer_temperature") == nil }, "\(agent.log)")
        #expect(!(try agent.cli(["status", "--output", "json"]).stdout.contains("\(peer.port)")))
        agent.signal(SIGKILL)
        withExtendedLifetime(peer) {}
    }

    /// The query's value reaches `expected` and stays there (nothing read twice arrives later).
    static func settles(_ agent: DaemonProcess, _ expr: String, at expected: Double) -> Bool {
        guard eventually(within: 20, { value(agent, expr) == expected }) else { return false }
        usleep(2_500_000)
        return value(agent, expr) == expected
    }

    @Test func aReloadKeepsUnchangedLogTailsAndResumesChangedOnesWithoutRereadingALine() throws {
        let dir = try Self.scratch("logreload")
        defer { try? FileManager.default.removeItem(at: dir) }
        let one = dir.appendingPathComponent("one.jsonl").path
        let two = dir.appendingPathComponent("two.jsonl").path
        func append(_ path: String, _ n: Int) throws {
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            let h = try #require(FileHandle(forWritingAtPath: path))
            h.seekToEndOfFile()
            h.write(Data(String(repeating: "{\"kind\":\"a\"}\n", count: n).utf8))
            try h.close()
        }
        func log(_ path: String, job: String, labels: String = "") -> String {
            "  - path: \(path)\n    job: \(job)\n    start_at: beginning\n\(labels)    metrics:\n      - {name: lines_total, type: counter}\n"
        }
        try append(one, 500)
        let agent = try DaemonProcess(extraConfig: "logs:\n" + log(one, job: "one"), globalExtra: Self.fastCheck, dir: dir)
        #expect(Self.settles(agent, #"sum(lines_total{job="one"})"#, at: 500), "\(agent.log)")

        // A second log is added; the first one's tail goes on untouched.
        try append(two, 200)
        try agent.writeConfig(extraConfig: "logs:\n" + log(one, job: "one") + log(two, job: "two"))
        #expect(eventually { agent.log.contains("logs added: \(two)") }, "\(agent.log)")
        try append(one, 100)
        #expect(Self.settles(agent, #"sum(lines_total{job="one"})"#, at: 600), "\(agent.log)")
        #expect(Self.settles(agent, #"sum(lines_total{job="two"})"#, at: 200), "\(agent.log)")

        // The first log's mapping changes (a label), its path does not: the new mapping resumes at
        // the old offset, so only lines written from now on reach the new series.
        try agent.writeConfig(extraConfig: "logs:\n" + log(one, job: "one", labels: "    labels: [kind]\n") + log(two, job: "two"))
        #expect(eventually { agent.log.contains("logs changed: \(one)") }, "\(agent.log)")
        try append(one, 50)
        #expect(Self.settles(agent, #"sum(lines_total{job="one",kind="a"})"#, at: 50), "\(agent.log)")
        #expect(Self.value(agent, #"sum(lines_total{job="one"})"#) == 650)

        // The second log is removed: its file is closed and no longer counted.
        try agent.writeConfig(extraConfig: "logs:\n" + log(one, job: "one", labels: "    labels: [kind]\n"))
        #expect(eventually { agent.log.contains("logs removed: \(two)") }, "\(agent.log)")
        try append(two, 10)
        try append(one, 5)
        #expect(Self.settles(agent, #"sum(lines_total{job="one",kind="a"})"#, at: 55), "\(agent.log)")
        #expect(Self.value(agent, #"sum(lines_total{job="two"})"#) == 200)
        let status = try agent.cli(["status", "--output", "json"]).stdout
        #expect(!status.contains("two.jsonl"), "\(status)")
        agent.signal(SIGKILL)
    }
}
