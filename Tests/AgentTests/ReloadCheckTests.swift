import Foundation
import Testing
@testable import AgentDaemon
#if canImport(Glibc)
import Glibc
#endif

/// The file check behind reloads on change, and the keys that configure it and `/metrics`.
@Suite struct ReloadCheckTests {
    @Test(arguments: [
        ("global: {reload_check_interval: 2s}", "2000", nil),
        ("global: {reload_check_interval: 0s}", "0", nil),
        ("global: {reload_check_interval: 500ms}", nil, "agent.yaml:1:33: global.reload_check_interval must be 0s (off) or at least 1s, got 500ms"),
        ("global: {reload_check_interval: soon}", nil, "agent.yaml:1:33: global.reload_check_interval: \"soon\" is not a duration"),
        ("listen: {expose: all}", "all", nil),
        ("listen: {expose: everything}", nil, "agent.yaml:1:18: listen.expose must be \"self\" or \"all\", got \"everything\""),
    ] as [(String, String?, String?)])
    func theReloadCheckAndExposureKeysAreValidated(yaml: String, value: String?, problem: String?) {
        do {
            let config = try AgentConfig.parse(yaml, file: "agent.yaml")
            #expect(problem == nil, "accepted \(yaml)")
            let read = yaml.hasPrefix("global") ? String(config.global.reloadCheckInterval) : config.listen.expose.rawValue
            #expect(read == value)
        } catch {
            let text = "\(error)"
            #expect(problem != nil && text.contains(problem ?? "?"), "\(text)")
        }
    }

    @Test func theDefaultChecksEveryFiveSecondsAndExposesOnlyTheAgentsOwnMetrics() throws {
        let config = try AgentConfig.parse("global: {}", file: "agent.yaml")
        #expect(config.global.reloadCheckInterval == 5_000)
        #expect(config.listen.expose == .selfOnly)
    }

    static func state(_ path: String, size: Int64, inode: UInt64 = 1) -> ConfigFileWatcher.FileState {
        ConfigFileWatcher.FileState(path: path, device: 1, inode: inode, size: size, modifiedSeconds: Int(size), modifiedNanoseconds: 0)
    }

    @Test func aChangeReloadsOnceItHasRestedForOneCheckAndIsNeverTriedTwice() {
        let loaded = [Self.state("/etc/agent.yaml", size: 100)]
        var config = AgentConfig()
        config.source = "/nonexistent/agent.yaml"
        let watcher = ConfigFileWatcher(config: config)
        watcher.loaded(loaded)
        // (snapshot seen at each check, reload expected)
        let half = [Self.state("/etc/agent.yaml", size: 40)]
        let whole = [Self.state("/etc/agent.yaml", size: 120)]
        let steps: [([ConfigFileWatcher.FileState], Bool)] = [
            (loaded, false),
            (half, false),  // a change: wait one check
            (whole, false),  // still moving: wait again
            (whole, true),  // rested: reload
        ]
        for (i, (snapshot, expected)) in steps.enumerated() {
            let reload = watcher.shouldReload(snapshot)
            #expect(reload == expected, "step \(i)")
            if reload { watcher.loaded(snapshot) }
        }
        #expect(!watcher.shouldReload(whole), "a loaded state is not tried again")
        #expect(!watcher.shouldReload(whole))
        // A half-written file that rests is tried once (and refused by the daemon), never again.
        #expect(!watcher.shouldReload(half))
        #expect(watcher.shouldReload(half))
        watcher.loaded(half)
        for _ in 0..<5 { #expect(!watcher.shouldReload(half)) }
        // A new rule file under a glob is a change too.
        let more = half + [Self.state("/etc/rules/new.yaml", size: 10)]
        #expect(!watcher.shouldReload(more))
        #expect(watcher.shouldReload(more))
        // A file replaced by rename (same size and time, new inode) is a change.
        let renamed = [Self.state("/etc/agent.yaml", size: 40, inode: 2), more[1]]
        #expect(!watcher.shouldReload(renamed))
        #expect(watcher.shouldReload(renamed))
    }

    @Test func theSnapshotHoldsTheConfigAndTheRuleFilesTheGlobsMatchButNotUnitTests() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-watch-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("rules"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("agent.yaml").path
        try "rule_files: [rules/*.yaml]\n".write(toFile: config, atomically: true, encoding: .utf8)
        for name in ["b.yaml", "a.yaml", "a_test.yaml"] {
            try "groups: []\n".write(to: dir.appendingPathComponent("rules/\(name)"), atomically: true, encoding: .utf8)
        }
        let snapshot = ConfigFileWatcher.snapshot(configPath: config, ruleGlobs: ["rules/*.yaml"], base: dir.path)
        #expect(snapshot.map { ($0.path as NSString).lastPathComponent } == ["agent.yaml", "a.yaml", "b.yaml"])
        #expect(snapshot.allSatisfy { $0.size > 0 && $0.inode != 0 })
        let missing = ConfigFileWatcher.state(of: dir.appendingPathComponent("nope.yaml").path)
        #expect(missing.size == -1)
    }
}
