import AgentClient
@testable import Alerting
import Foundation
import Logging
import Notify
import Synchronization
import Testing
import TimeSeries
@testable import AgentDaemon
#if canImport(Glibc)
import Glibc
#endif

/// Keeps every log message, for asserting what was logged and in which order.
final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])
    var logger: Logger { Logger(label: "test") { _ in Handler(capture: self) } }
    var all: [String] { lines.withLock { $0 } }
    /// The index of the first line containing `text`, or nil.
    func first(_ text: String) -> Int? { all.firstIndex { $0.contains(text) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { capture.lines.withLock { $0.append("\(event.level): \(event.message)") } }
    }
}

/// A clock the test moves.
final class ManualClock: Sendable {
    let now: Mutex<Int64>
    init(_ start: Int64) { now = Mutex(start) }
    func advance(by ms: Int64) { now.withLock { $0 += ms } }
    var function: @Sendable () -> Int64 { { [self] in now.withLock { $0 } } }
}

/// A scratch folder with a configuration file; removed by `remove()`.
struct Scratch {
    let dir: String
    init(_ name: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/rules", withIntermediateDirectories: true)
    }
    var configPath: String { dir + "/agent.yaml" }
    /// Writes the configuration: state folder, socket, no TCP listener, no file checks, then `extra`.
    func writeConfig(_ extra: String = "") throws {
        try """
            global:
              state_dir: \(dir)/state
              reload_check_interval: 0s
            listen:
              socket: \(dir)/agent.sock
              http: ""
            \(extra)
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }
    func write(_ text: String, to name: String) throws { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

/// Polls `condition` every 10 ms for up to `seconds`, off the cooperative pool's threads; true once it holds.
func waitFor(seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// Polls `condition` every 10 ms for up to `seconds`; true once it holds.
func waitFor(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

let alwaysFiring = """
    groups:
      - name: always
        interval: 1s
        rules:
          - alert: Always
            expr: vector(1)
            labels: {severity: critical}
    """

@Suite(.serialized) struct RulesComponentStopTests {
    func component(pushes: Locked<Int>, store: SeriesStore = SeriesStore()) throws -> RulesComponent {
        let file = try RuleFile.parse(alwaysFiring, path: "always.yaml")
        return RulesComponent(files: [("always.yaml", file)], store: store, evaluationInterval: 1_000, externalLabels: [:], onAlerts: { _, _ in
            pushes.withLock { $0 += 1 }
        })
    }

    @Test func anEvaluationThatRunsAfterStopPushesNothing() throws {
        let pushes = Locked(0)
        let rules = try component(pushes: pushes)
        rules.start()
        let timers = rules.timers
        // An evaluation while running reaches the receiver.
        rules.queue.sync { timers[0].fire() }
        #expect(pushes.value == 1)
        rules.stop()
        // A timer handler Dispatch had already started when the reload stopped the group: it
        // evaluates, but its alerts go nowhere.
        timers[0].lastTick.withLock { $0 = nil }
        rules.queue.sync { timers[0].fire() }
        #expect(rules.groups[0].status.evaluations == 2)
        #expect(pushes.value == 1)
    }

    @Test func stopWaitsForTheEvaluationUnderWay() throws {
        let pushes = Locked(0)
        let store = SeriesStore()
        let rules = try component(pushes: pushes, store: store)
        rules.start()
        let timers = rules.timers
        // The store is held, so the evaluation blocks inside the group on the rules queue.
        let held = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            store.write { _ in
                held.signal()
                release.wait()
            }
        }
        held.wait()
        rules.queue.async { timers[0].fire() }
        // The store is released only once stop() has begun: the evaluation is then still under way.
        Thread.detachNewThread {
            _ = waitFor { !rules.isDelivering }
            release.signal()
        }
        rules.stop()
        // The evaluation's last step writes the ALERTS series: done by the time stop() returned.
        // (Not the group's status: reading it waits for the evaluation's own lock.)
        #expect(store.stats.samplesAppended > 0, "stop() returned before the evaluation under way finished")
        #expect(pushes.value == 0)
    }
}

@Suite(.serialized) struct DaemonReloadTests {
    @Test func anOldGroupsEvaluationAfterAReloadLeavesNoStaleAlerts() throws {
        let scratch = try Scratch("stale-eval")
        defer { scratch.remove() }
        try scratch.write(alwaysFiring, to: "rules/always.yaml")
        try scratch.writeConfig("rule_files: [rules/*.yaml]")
        let daemon = Daemon(config: try AgentConfig.load(path: scratch.configPath), logger: LogCapture().logger, environment: [:])
        try daemon.buildComponents()
        let old = try #require(daemon.rules)
        old.start()
        let oldTimers = old.timers
        old.queue.sync { oldTimers[0].fire() }
        #expect(daemon.latestAlerts.value.values.flatMap { $0 }.count == 1)
        // The alert is gone from the new rules.
        try scratch.write("groups: []\n", to: "rules/always.yaml")
        daemon.queue.sync { daemon.reload(trigger: "test") }
        #expect(daemon.rules !== old)
        #expect(daemon.latestAlerts.value.isEmpty)
        // The old group's timer fires once more (its handler was already running): nothing comes back.
        oldTimers[0].lastTick.withLock { $0 = nil }
        old.queue.sync { oldTimers[0].fire() }
        #expect(daemon.latestAlerts.value.isEmpty, "a stale evaluation pushed \(daemon.latestAlerts.value)")
        daemon.rules?.stop()
    }

    @Test func anEmptyConfigurationIsRefusedOnReloadAndTheReloadMetricsSaySo() throws {
        let scratch = try Scratch("empty-reload")
        defer { scratch.remove() }
        try scratch.write(alwaysFiring, to: "rules/always.yaml")
        try scratch.writeConfig("rule_files: [rules/*.yaml]")
        let clock = ManualClock(1_700_000_000_000)
        let log = LogCapture()
        let daemon = Daemon(config: try AgentConfig.load(path: scratch.configPath), logger: log.logger, environment: [:], clock: clock.function)
        try daemon.buildComponents()
        func metric(_ name: String) -> Double? { daemon.selfMetrics().first { $0.name == name }?.samples.first?.value }
        // The start counts as a successful load.
        #expect(metric("agent_config_last_reload_successful") == 1)
        #expect(metric("agent_config_last_reload_success_timestamp_seconds") == 1_700_000_000)

        for empty in ["", "# nothing here\n", "{}\n", "---\n"] {
            try empty.write(toFile: scratch.configPath, atomically: true, encoding: .utf8)
            clock.advance(by: 1_000)
            daemon.queue.sync { daemon.reload(trigger: "test") }
            #expect(metric("agent_config_last_reload_successful") == 0, "\(empty.debugDescription)")
            #expect(metric("agent_config_last_reload_success_timestamp_seconds") == 1_700_000_000)
            #expect(daemon.rules?.groups.count == 1, "the running rules stay")
            #expect(daemon.running.ruleFiles == ["rules/*.yaml"])
        }
        #expect(log.all.contains { $0.contains("refused; the running configuration stays") && $0.contains("agent.yaml:1:1: the configuration is empty") })

        try scratch.writeConfig("rule_files: [rules/*.yaml]")
        clock.advance(by: 1_000)
        daemon.queue.sync { daemon.reload(trigger: "test") }
        #expect(metric("agent_config_last_reload_successful") == 1)
        #expect(metric("agent_config_last_reload_success_timestamp_seconds") == 1_700_000_005)
        daemon.rules?.stop()
    }

    @Test func shutdownWaitsForAReloadUnderWayAndDropsALaterOne() async throws {
        let scratch = try Scratch("shutdown-reload")
        defer { scratch.remove() }
        try scratch.write(alwaysFiring, to: "rules/always.yaml")
        try scratch.writeConfig("rule_files: [rules/*.yaml]")
        let log = LogCapture()
        let daemon = Daemon(config: try AgentConfig.load(path: scratch.configPath), logger: log.logger, environment: [:])
        #expect(await daemon.start())
        let old = try #require(daemon.rules)
        // An evaluation blocks on the store, which the test holds: the reload then waits in the
        // old rules' stop() for it — a reload under way.
        let held = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            daemon.store.write { _ in
                held.signal()
                release.wait()
            }
        }
        held.wait()
        let timers = old.timers
        old.queue.async {
            timers[0].lastTick.withLock { $0 = nil }
            timers[0].fire()
        }
        daemon.queue.async { daemon.requestReload(trigger: "first") }
        #expect(await waitFor { !old.isDelivering }, "the reload did not reach the old rules' stop()")
        let stopping = Task { await daemon.shutdown() }
        #expect(await waitFor { !daemon.isReady() })
        // Shutdown has begun: a reload asked for now is dropped.
        daemon.queue.async { daemon.requestReload(trigger: "late") }
        release.signal()
        await stopping.value
        let reloaded = try #require(log.first("first: reloaded 1 rule groups"), "\(log.all)")
        let stopped = try #require(log.first("stopped"))
        #expect(reloaded < stopped, "shutdown finished before the reload under way")
        #expect(log.first("late: reload dropped: the agent is stopping") != nil, "\(log.all)")
        #expect(log.first("late: reloaded") == nil)
        // The rules the reload started were stopped by the shutdown.
        #expect(daemon.rules !== old)
        #expect(daemon.rules?.isDelivering == false)
    }
}

@Suite(.serialized) struct HealthTests {
    @Test func aLoopPastItsBoundIsStaleUntilItBeatsAndAPausedOneNeverIs() {
        let clock = ManualClock(0)
        let progress = LoopProgress(clock: clock.function)
        let rules = progress.heartbeat("rules"), idle = progress.heartbeat("scrape")
        rules.expect(every: 1_000)
        idle.pause()
        let pings = Locked(0)
        let watchdog = Watchdog(progress: progress, interval: 1_000, logger: LogCapture().logger) { pings.withLock { $0 += 1 } }
        #expect(watchdog.check())
        clock.advance(by: LoopProgress.bound(forInterval: 1_000))
        #expect(progress.stale().isEmpty, "at the bound, not past it")
        #expect(watchdog.check())
        clock.advance(by: 1)
        #expect(progress.stale().map(\.loop) == ["rules"])
        #expect(progress.stale().first?.description == "rules made no progress for 33 s (bound 33 s)")
        #expect(!watchdog.check())
        #expect(pings.value == 2)
        rules.beat()
        #expect(watchdog.check())
        #expect(pings.value == 3)
    }

    @Test func aWedgedLoopMakesHealthy503AndStopsTheWatchdog() async throws {
        let scratch = try Scratch("wedged")
        defer { scratch.remove() }
        try scratch.writeConfig()
        let clock = ManualClock(1_000_000)
        let daemon = Daemon(config: try AgentConfig.load(path: scratch.configPath), logger: LogCapture().logger, environment: [:],
                            monotonicClock: clock.function)
        #expect(await daemon.start())
        let client = ControlClient(socketPath: scratch.dir + "/agent.sock", timeout: 5)
        #expect(try client.request("GET", "/-/healthy").status == 200)
        let pings = Locked(0)
        let watchdog = Watchdog(progress: daemon.progress, interval: 1_000, logger: LogCapture().logger) { pings.withLock { $0 += 1 } }
        #expect(watchdog.check())
        // The logs loop's queue is stuck (as on a hung read): no poll, no progress.
        let logs = try #require(daemon.logs)
        let wedged = DispatchSemaphore(value: 0), unwedge = DispatchSemaphore(value: 0)
        logs.queue.async {
            wedged.signal()
            unwedge.wait()
        }
        // Any poll before the wedge has finished (the queue is serial) before the clock moves.
        wedged.wait()
        clock.advance(by: LoopProgress.bound(forInterval: LogsComponent.pollInterval) + 1)
        let answer = try client.request("GET", "/-/healthy")
        #expect(answer.status == 503)
        #expect(String(decoding: answer.body, as: UTF8.self).contains("logs made no progress for 33 s (bound 33 s)"), "\(answer)")
        #expect(daemon.progress.stale().map(\.loop) == ["logs"])
        #expect(!watchdog.check())
        #expect(pings.value == 1)
        // Unstuck, the loop polls again within a second and the agent is healthy again.
        unwedge.signal()
        #expect(await waitFor { daemon.isHealthy() })
        #expect(watchdog.check())
        #expect(try client.request("GET", "/-/healthy").status == 200)
        await daemon.shutdown()
    }
}

@Suite(.serialized) struct StateFilesTests {
    let notifyConfig = """
        notify:
          route: {receiver: out, group_by: [alertname], group_wait: 0s}
          receivers:
            - name: out
              file: {path: NOTIFICATIONS}
        """

    /// A daemon of `scratch` with its components built and its state restored.
    func daemon(_ scratch: Scratch, clock: ManualClock, log: LogCapture) throws -> Daemon {
        let daemon = Daemon(config: try AgentConfig.load(path: scratch.configPath), logger: log.logger, environment: [:], clock: clock.function)
        try daemon.buildComponents()
        daemon.restore()
        return daemon
    }

    @Test func aCorruptSeriesFileKeepsAlertStatesAndSilences() throws {
        let scratch = try Scratch("corrupt-series")
        defer { scratch.remove() }
        try scratch.write(alwaysFiring, to: "rules/always.yaml")
        try scratch.writeConfig("rule_files: [rules/*.yaml]\n" + notifyConfig.replacingOccurrences(of: "NOTIFICATIONS", with: scratch.dir + "/out.jsonl"))
        let clock = ManualClock(1_700_000_000_000)
        let first = try daemon(scratch, clock: clock, log: LogCapture())
        let notifier = try #require(first.notifier)
        _ = try notifier.silences.add(matchers: [Matcher.parse("alertname=\"Always\"")], endsAt: clock.function() + 3_600_000,
                                      createdBy: "test", comment: "known")
        let group = try #require(first.rules?.groups.first)
        group.evaluate(at: clock.function())
        #expect(group.alerts().first?.state == .firing)
        first.store.write { w in _ = w.append(Labels(name: "kept_if_lucky"), kind: .gauge, value: 1, at: clock.function()) }
        first.queue.sync { first.checkpoint(reason: "test") }
        #expect(first.checkpointStatsSnapshot().failed == 0)
        first.notifications?.stop()

        // The series file is damaged; the others are not.
        let series = scratch.dir + "/state/checkpoint.bin"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: series)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: series))
        clock.advance(by: 10_000)
        let log = LogCapture()
        let second = try daemon(scratch, clock: clock, log: log)
        #expect(log.first("set aside as \(series).corrupt-") != nil, "\(log.all)")
        #expect(second.store.stats.series == 0)
        #expect(second.notifier?.silences.list().count == 1)
        let restored = try #require(second.rules?.groups.first)
        #expect(restored.alerts().first?.state == .firing, "the firing alert's state came back")
        // The silenced alert, evaluated again after the restart, is not notified.
        restored.evaluate(at: clock.function())
        second.notifier?.receive(restored.alerts())
        second.notifier?.tick()
        #expect(second.notifier?.outbox.stats.enqueued == 0)
        second.notifications?.stop()

        // Without its silences file, the same restart notifies: what the test above guards against.
        unlink(scratch.dir + "/state/silences.bin")
        let third = try daemon(scratch, clock: clock, log: LogCapture())
        let again = try #require(third.rules?.groups.first)
        again.evaluate(at: clock.function())
        third.notifier?.receive(again.alerts())
        third.notifier?.tick()
        #expect((third.notifier?.outbox.stats.enqueued ?? 0) > 0)
        third.notifications?.stop()
    }

    @Test func eachStateFileStandsAloneAndTheOldSingleFileIsStillRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-statefiles-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = StateFiles(stateDir: dir)
        let sections: [String: [UInt8]] = [
            SeriesStore.checkpointSection: [1], "tail_offsets": [2], AlertStateCheckpoint.sectionName: [3],
            Silences.checkpointSection: [4], Dispatcher.checkpointSection: [5],
        ]
        #expect(files.save(sections).failures.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            == ["alerts.bin", "checkpoint.bin", "notification-log.bin", "silences.bin"])
        #expect(files.load(now: 1).sections == sections)
        // A damaged alerts file costs the alert states only.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/alerts.bin"))
        var expected = sections
        expected[AlertStateCheckpoint.sectionName] = nil
        #expect(files.load(now: 2).sections == expected)
        // A single file as earlier versions wrote it: every section is read from it.
        for name in ["checkpoint.bin", "silences.bin", "notification-log.bin"] { unlink(dir + "/" + name) }
        #expect(try CheckpointFile(stateDir: dir).save(Checkpoint(sections: sections)) > 0)
        #expect(files.load(now: 3).sections == sections)
    }
}

@Suite struct EmptyConfigurationTests {
    @Test(arguments: ["", "\n\n", "# only a comment\n", "{}", "---\n", "~\n", "null\n"])
    func aConfigurationWithNoKeysIsRefused(_ text: String) {
        do {
            _ = try AgentConfig.parse(text, file: "agent.yaml")
            Issue.record("an empty configuration was accepted: \(text.debugDescription)")
        } catch {
            #expect("\(error)".hasPrefix("agent.yaml:1:1: the configuration is empty"), "\(error)")
            #expect("\(error)".split(separator: "\n").count == 1, "\(error)")
        }
    }

    @Test func oneKeyIsEnoughToRunOnTheDefaults() throws {
        let config = try AgentConfig.parse("global: {}\n", file: "agent.yaml")
        #expect(config.ruleFiles.isEmpty)
    }

    @Test func checkConfigSummarisesWhatTheConfigurationRuns() throws {
        let scratch = try Scratch("check-summary")
        defer { scratch.remove() }
        try """
            scrape:
              - {job: app, targets: ["http://127.0.0.1:9/metrics"]}
            remote_write:
              - url: http://127.0.0.1:9/api/v1/write
              - url: http://127.0.0.1:9/insert
            global: {state_dir: \(scratch.dir)}
            """.write(toFile: scratch.configPath, atomically: true, encoding: .utf8)
        let check = try runAgent(["check", "config", scratch.configPath])
        #expect(check.status == 0, "\(check.stdout)")
        #expect(check.stdout.contains(": OK, 1 scrape target, 0 logs, 0 rule files (0 groups), 0 receivers, 2 remote_write endpoints; state in "), "\(check.stdout)")
    }

    @Test func checkConfigAndStartBothRefuseAnEmptyFile() throws {
        let scratch = try Scratch("empty-start")
        defer { scratch.remove() }
        try "".write(toFile: scratch.configPath, atomically: true, encoding: .utf8)
        let check = try runAgent(["check", "config", scratch.configPath])
        #expect(check.status == 1)
        #expect(check.stdout.contains("\(scratch.configPath):1:1: the configuration is empty"), "\(check.stdout)")
        let run = try runAgent(["run", "--config", scratch.configPath])
        #expect(run.status == 1)
        #expect(run.stderr.contains("the configuration is empty"), "\(run.stderr)")
    }
}
