import Alerting
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Query
import Synchronization
import TimeSeries

/// The rule groups of the configured rule files, each evaluated on its own aligned timer.
///
/// Lifecycle: `start()` starts every group's timer; `stop()` cancels them and returns only when an
/// evaluation under way has finished. Alerts reach `onAlerts` only between `start()` and `stop()`:
/// an evaluation that was already running when `stop()` began (a reload replaced these groups)
/// finishes, but its alerts are dropped, so an old group never pushes alerts after its
/// replacement took over.
///
/// Ownership: each `RuleGroup` keeps its state behind its own lock; the timers run on `queue`
/// (serial), so groups never evaluate concurrently with each other; `timers` belongs to the
/// caller of `start`/`stop` (the daemon's queue); `delivering` is behind a lock.
final class RulesComponent: Component, @unchecked Sendable {
    let queue = DispatchQueue(label: "agent.rules")
    let groups: [RuleGroup]
    private(set) var timers: [RuleGroupTimer] = []
    /// True between `start()` and `stop()`: whether evaluations may hand on their alerts.
    private let delivering = Mutex(false)
    let clock: @Sendable () -> Timestamp
    let heartbeat: Heartbeat?
    let onAlerts: @Sendable (RuleGroup, [Alert]) -> Void

    /// The rule files `globs` match now (relative globs under `base`), sorted; unit-test files
    /// (`*_test.yaml`) are not rule files.
    static func files(globs: [String], relativeTo base: String) -> [String] {
        var files: [String] = []
        for pattern in globs {
            let absolute = pattern.hasPrefix("/") ? pattern : base + "/" + pattern
            var g = glob_t()
            defer { globfree(&g) }
            if glob(absolute, 0, nil, &g) == 0 {
                for i in 0..<Int(g.gl_pathc) { if let p = g.gl_pathv[i] { files.append(String(cString: p)) } }
            }
        }
        return files.sorted().filter { !$0.hasSuffix("_test.yaml") }
    }

    /// Expands the globs, loads and validates every file; throws every error of every file.
    static func load(globs: [String], relativeTo base: String) throws -> [(file: String, rules: RuleFile)] {
        var loaded: [(String, RuleFile)] = []
        var errors: [String] = []
        for file in files(globs: globs, relativeTo: base) {
            do { loaded.append((file, try RuleFile.load(path: file))) } catch { errors.append("\(error)") }
        }
        if !errors.isEmpty { throw RuleLoadError(description: errors.joined(separator: "\n")) }
        return loaded
    }

    struct RuleLoadError: Error, CustomStringConvertible { let description: String }

    /// The groups of `files`, evaluated against `store`; `onAlerts` receives each group's alerts
    /// after each evaluation (on `queue`), and `heartbeat` beats after each evaluation.
    /// `externalURL` is what templates read as `{{ $externalURL }}` (config `notify.external_url`): without
    /// it a rule's `{{ $externalURL }}/runbooks/…` renders as a relative path, which no chat service can open.
    init(files: [(file: String, rules: RuleFile)], store: SeriesStore, evaluationInterval: Milliseconds, externalLabels: [String: String],
         externalURL: String = "",
         clock: @escaping @Sendable () -> Timestamp = SeriesStore.systemClock, heartbeat: Heartbeat? = nil,
         onAlerts: @escaping @Sendable (RuleGroup, [Alert]) -> Void = { _, _ in }) {
        let engine = Engine(store: store)
        groups = files.flatMap { file, rules in
            rules.groups.map {
                RuleGroup($0, file: file, engine: engine, defaultInterval: evaluationInterval, externalLabels: Labels(externalLabels),
                          externalURL: externalURL)
            }
        }
        self.clock = clock
        self.heartbeat = heartbeat
        self.onAlerts = onAlerts
    }

    /// An outage up to this long counts as time the conditions held: a restart or a reload neither
    /// loses nor restarts a pending `for` (an alert pending since 10:00 with `for: 5m` fires at 10:05
    /// whether or not the agent restarted at 10:02). A longer outage is left out of pending times,
    /// and an alert whose `for` is 10 minutes or more gets at least 10 more minutes of evidence, as
    /// Prometheus's `RestoreForState` does (`AlertStateMachine.restore`): after a long gap nobody
    /// saw the condition hold, and firing on the first evaluation would rest on seconds of data.
    static let outageCountedAsHeld: Milliseconds = 5 * 60_000

    /// Takes over the alert states of a checkpoint (or of the rules a reload replaces) at time `now`.
    func restore(from bytes: [UInt8], now: Timestamp, logger: Logger) {
        do {
            var checkpoint = try AlertStateCheckpoint(decoding: bytes)
            let shortOutage = now - checkpoint.savedAt <= Self.outageCountedAsHeld
            // A short outage: restore as if no time had passed, and with no grace period.
            if shortOutage { checkpoint.savedAt = max(checkpoint.savedAt, now) }
            let restored = groups.reduce(0) {
                $0 + $1.restore(from: checkpoint, now: now, forGracePeriod: shortOutage ? 0 : AlertStateMachine.defaultForGracePeriod)
            }
            if restored > 0 {
                let gap = Double(max(0, now - checkpoint.savedAt)) / 1000
                logger.info("restored \(restored) alert states (pending 'for' times and firing alerts)\(shortOutage ? "" : "; the \(gap) s outage is not counted as pending time")")
            }
        } catch {
            logger.error("alert states in the checkpoint not restored: \(error)")
        }
    }

    /// Starts every group's timer (once).
    func start() {
        guard timers.isEmpty else { return }
        delivering.withLock { $0 = true }
        if let shortest = groups.map(\.interval).min() { heartbeat?.expect(every: shortest) } else { heartbeat?.pause() }
        for group in groups {
            let timer = RuleGroupTimer(group: group, queue: queue, clock: clock) { [weak self] _, alerts in
                self?.deliver(alerts, of: group)
            }
            timer.start()
            timers.append(timer)
        }
    }

    /// After each evaluation, on `queue`: the alerts go on only while the component runs.
    private func deliver(_ alerts: [Alert], of group: RuleGroup) {
        heartbeat?.beat()
        // Checked on `queue`, and `stop()` waits for `queue`: alerts that pass have been handed
        // on before `stop()` returns, and none pass after it began.
        guard delivering.withLock({ $0 }) else { return }
        onAlerts(group, alerts)
    }

    /// Whether evaluations hand on their alerts (between `start()` and `stop()`).
    var isDelivering: Bool { delivering.withLock { $0 } }

    /// Stops every timer and waits for an evaluation under way; after it returns, no alert of
    /// these groups reaches `onAlerts`. Not to be called on `queue`.
    func stop() {
        dispatchPrecondition(condition: .notOnQueue(queue))
        delivering.withLock { $0 = false }
        for timer in timers { timer.stop() }
        // A handler already running finishes here; Dispatch runs none after `cancel`.
        queue.sync {}
        timers.removeAll()
        heartbeat?.pause()
    }

    func checkpointSection(now: Timestamp) -> [UInt8] {
        var checkpoint = AlertStateCheckpoint(savedAt: now)
        for group in groups { group.checkpoint(into: &checkpoint) }
        return checkpoint.encoded()
    }

    /// Every active alert (pending and firing; resolved ones while they are kept for notification).
    func alerts() -> [Alert] { groups.flatMap { $0.alerts() } }

    func status() -> [[String: Any]] {
        groups.map { group in
            let s = group.status
            var doc: [String: Any] = ["name": s.name, "file": s.file, "interval_seconds": Double(s.interval) / 1000,
                                      "evaluations": s.evaluations, "last_duration_seconds": Self.seconds(s.lastEvaluationDuration),
                                      "rules": s.rules.count, "active_alerts": s.rules.reduce(0) { $0 + $1.activeAlerts }]
            if let t = s.lastEvaluatedAt { doc["last_evaluation"] = Double(t) / 1000 }
            if let e = s.lastError { doc["last_error"] = e }
            return doc
        }
    }

    func metrics() -> [SelfMetricFamily] {
        let statuses = groups.map(\.status)
        return [
            SelfMetricFamily(name: "agent_rule_group_last_duration_seconds", kind: .gauge, help: "Duration of each rule group's last evaluation.",
                             samples: statuses.map { ([("group", $0.name), ("file", $0.file)], Self.seconds($0.lastEvaluationDuration)) }),
            SelfMetricFamily(name: "agent_rule_group_evaluations_total", kind: .counter, help: "Evaluations of each rule group.",
                             samples: statuses.map { ([("group", $0.name), ("file", $0.file)], Double($0.evaluations)) }),
            SelfMetricFamily(name: "agent_rule_evaluation_failures_total", kind: .counter, help: "Rule evaluations that failed, per group.",
                             samples: statuses.map { ([("group", $0.name), ("file", $0.file)], Double($0.failedRuleEvaluations)) }),
        ]
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
