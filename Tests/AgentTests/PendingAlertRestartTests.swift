import Foundation
import Testing
import AgentDaemon
#if canImport(Glibc)
import Glibc
#endif

/// A restart during a pending `for` neither loses nor restarts the pending time: the alert fires at
/// its first activeAt + for, across a SIGTERM and a kill -9 (the real binary, its checkpoints).
@Suite(.serialized) struct PendingAlertRestartTests {
    static let hold: TimeInterval = 20

    /// The one alert `agent alerts --output json` lists, if any.
    static func alert(_ agent: DaemonProcess) -> [String: Any]? {
        guard let r = try? agent.cli(["alerts", "--output", "json"]), r.status == 0,
              let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else { return nil }
        return (doc["alerts"] as? [[String: Any]])?.first
    }

    /// RFC 3339 as Go writes it: the fraction only when there is one.
    static func date(_ text: Any?) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let whole = ISO8601DateFormatter()
        return (text as? String).flatMap { f.date(from: $0) ?? whole.date(from: $0) }
    }

    /// Waits until the agent shows the alert pending; returns its activeAt.
    static func pendingSince(_ agent: DaemonProcess) -> Date? {
        var since: Date?
        eventually(within: 30) {
            guard let a = alert(agent), a["state"] as? String == "pending" else { return false }
            since = date(a["activeAt"])
            return since != nil
        }
        return since
    }

    /// Checkpoints the agent has written since it started.
    static func checkpoints(_ agent: DaemonProcess) -> Int {
        guard let r = try? agent.cli(["status", "--output", "json"]),
              let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else { return 0 }
        return (doc["checkpoint"] as? [String: Any])?["written"] as? Int ?? 0
    }

    @Test func aRestartDuringAPendingForNeitherLosesNorRestartsThePendingTime() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-pending-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = dir.appendingPathComponent("slow.yaml").path
        try """
            groups:
              - name: slow
                interval: 1s
                rules:
                  - alert: HeldForTwentySeconds
                    expr: vector(1) > 0
                    for: \(Int(Self.hold))s
            """.write(toFile: rules, atomically: true, encoding: .utf8)
        let config = "rule_files: [\(rules)]"
        let first = try DaemonProcess(extraConfig: config, dir: dir)
        let activeAt = try #require(Self.pendingSince(first), "no pending alert:\n\(first.log)")

        // SIGTERM a quarter of the way: the final checkpoint holds the pending state.
        while Date() < activeAt.addingTimeInterval(Self.hold / 4) { usleep(100_000) }
        #expect(first.signal(SIGTERM) == 0)
        let second = try DaemonProcess(extraConfig: config, dir: dir)
        let afterTerm = Self.pendingSince(second)
        #expect(afterTerm == activeAt, "activeAt \(String(describing: afterTerm)) after SIGTERM, was \(activeAt)\n\(second.log)")

        // kill -9 half-way, once a checkpoint of this run holds the pending state.
        while Date() < activeAt.addingTimeInterval(Self.hold / 2) { usleep(100_000) }
        #expect(eventually { Self.checkpoints(second) >= 2 })
        second.signal(SIGKILL)
        let third = try DaemonProcess(extraConfig: config, dir: dir)
        let ready = Date()
        let afterKill = Self.pendingSince(third)
        #expect(afterKill == activeAt, "activeAt \(String(describing: afterKill)) after kill -9, was \(activeAt)\n\(third.log)")

        // It fires at activeAt + for: within a few evaluation intervals of it (or of the restart,
        // should the machine be so slow that the restart ended later). Restarting the pending time
        // would fire ≥ 10 s later.
        var firedAt: Date?
        eventually(within: Self.hold + 30) {
            guard let a = Self.alert(third), a["state"] as? String == "firing" else { return false }
            firedAt = Self.date(a["firedAt"])
            return true
        }
        let fired = try #require(firedAt, "never fired:\n\(third.log)")
        let due = max(activeAt.addingTimeInterval(Self.hold), ready)
        #expect(fired >= activeAt.addingTimeInterval(Self.hold), "fired \(fired), pending since \(activeAt)")
        #expect(fired <= due.addingTimeInterval(3), "fired \(fired), due \(due), pending since \(activeAt)\n\(third.log)")
        #expect(Self.date(Self.alert(third)?["activeAt"]) == activeAt)
        third.signal(SIGKILL)
    }
}
