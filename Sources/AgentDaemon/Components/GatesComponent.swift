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
import TimeSeries

/// The gates of the configured gate files and their runs (`agent gate NAME`).
///
/// A run starts on request (`start`), takes its evaluations on a one-second tick of its own queue
/// at `started + k × interval` — querying the store and looking at the rule groups' firing alerts,
/// as `GateProbe` does — and is written to its file after each one (`GateRunFiles`), so a restart
/// resumes it with its counts. A run keeps the gate it started with: a reload that changes or
/// removes the gate changes later runs only. One run per gate at a time.
///
/// A finished run whose verdict the gate lists in `notify:` becomes a `GateVerdict` alert for the
/// notification routes: firing for `verdictFiring` after the verdict, then resolved, then gone.
///
/// Ownership: definitions, runs and counters sit behind one lock (`state`), read by the API from
/// any thread; evaluations and file writes happen on `queue` (serial), so runs never evaluate
/// concurrently.
final class GatesComponent: Component, @unchecked Sendable {
    let queue = DispatchQueue(label: "agent.gates")
    let engine: Engine
    let files: GateRunFiles
    let logger: Logger
    let clock: @Sendable () -> Timestamp
    /// The alerts firing now (the rule groups'), for `no_alerts` blockers.
    let firing: @Sendable () -> [Alert]
    /// Called when the set of `GateVerdict` alerts changes, so the notifier hears of it.
    let onAlertsChanged: @Sendable () -> Void
    private let state: Locked<State>
    private var timer: (any DispatchSourceTimer)?

    /// How long a verdict alert fires before it resolves.
    static let verdictFiring: Milliseconds = 5 * 60_000
    /// How long a resolved verdict alert is still handed to the notifier.
    static let verdictResolvedFor: Milliseconds = 10 * 60_000

    struct State {
        var gates: [String: Gate] = [:]
        var external: [String: String] = [:]
        var runs: [String: GateRun] = [:]
        var probes: [String: GateProbe] = [:]
        /// Verdicts and evaluations since this process started, for `/metrics`.
        var verdicts: [String: [GateVerdict: Int]] = [:]
        var evaluations: [String: Int] = [:]
        /// The alert set last handed on, to notice a change.
        var alertKeys: Set<String> = []
    }

    init(gates: [Gate], store: SeriesStore, stateDir: String, externalLabels: [String: String], logger: Logger,
         clock: @escaping @Sendable () -> Timestamp, firing: @escaping @Sendable () -> [Alert], onAlertsChanged: @escaping @Sendable () -> Void) {
        engine = Engine(store: store)
        files = GateRunFiles(stateDir: stateDir)
        self.logger = logger
        self.clock = clock
        self.firing = firing
        self.onAlertsChanged = onAlertsChanged
        state = Locked(State(gates: Dictionary(gates.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }), external: externalLabels))
    }

    /// The gates of the files `globs` match (relative ones under `base`); throws every error of every file.
    static func load(globs: [String], relativeTo base: String) throws -> [Gate] {
        do {
            return try GateFile.load(paths: RulesComponent.files(globs: globs, relativeTo: base))
        } catch {
            throw RulesComponent.RuleLoadError(description: error.description)
        }
    }

    // MARK: Life cycle

    /// Reads the runs the previous process left; running ones go on where they were.
    func restore() {
        let (runs, problems) = queue.sync { files.load() }
        for p in problems { logger.error("\(p)") }
        var resumed = 0
        state.withLock { s in
            for run in runs {
                if run.isRunning {
                    do {
                        s.probes[run.id] = try GateProbe(gate: run.gate, engine: engine)
                    } catch {
                        logger.error("gate run \(run.id) cannot resume: \(error)")
                        continue
                    }
                    resumed += 1
                }
                s.runs[run.id] = run
            }
        }
        if resumed > 0 { logger.info("resumed \(resumed) gate runs") }
    }

    /// Starts the tick.
    func start() {
        queue.sync {
            let t = DispatchSource.makeTimerSource(queue: queue)
            t.schedule(deadline: .now(), leeway: .milliseconds(10))
            t.setEventHandler { [weak self] in self?.tick() }
            t.resume()
            timer = t
        }
    }

    /// Stops the tick after the evaluation in progress; runs stay as their files have them.
    func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }

    /// Arms the tick for the earliest evaluation due (at most a second away). A free-running
    /// one-second tick has an arbitrary phase against a run's start: with its ticks just before each
    /// due time, any small delay on a busy host moved an evaluation into the next interval and the
    /// one due was skipped as if the agent had been down. Aligned, a tick must be an interval late
    /// for that. Runs on `queue`.
    private func rearm(now: Timestamp) {
        let next = state.value.runs.values.compactMap(\.nextEvaluation).min()
        let wait = min(1000, max(0, (next ?? now + 1000) - now))
        timer?.schedule(deadline: .now() + .milliseconds(Int(wait)), leeway: .milliseconds(10))
    }

    /// New definitions from a reload; runs in progress keep theirs.
    func apply(gates: [Gate], externalLabels: [String: String]) {
        state.withLock {
            $0.gates = Dictionary(gates.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            $0.external = externalLabels
        }
    }

    var gateCount: Int { state.value.gates.count }

    // MARK: Runs

    /// Starts a run of `name` now with the given timing overrides; it takes its first evaluation
    /// at once (on the queue). Throws when there is no such gate, the overrides make no gate, or
    /// a run of it is already going.
    func startRun(_ name: String, interval: Milliseconds?, duration: Milliseconds?, timeout: Milliseconds?) throws(StartError) -> GateRun {
        let now = clock()
        let outcome: Result<GateRun, StartError> = state.withLock { s in
            guard let gate = s.gates[name] else {
                return .failure(.unknown(s.gates.isEmpty ? "no gates are configured (gate_files: in the configuration)"
                                         : "no gate named \"\(name)\"; the gates are \(s.gates.keys.sorted().joined(separator: ", "))"))
            }
            if let running = s.runs.values.first(where: { $0.gate.name == name && $0.isRunning }) {
                return .failure(.running("gate \"\(name)\" is already running (run \(running.id), \(running.evaluations) evaluations so far); follow it with agent gate \(name) --attach", running))
            }
            do {
                let effective = try gate.overriding(interval: interval, duration: duration, timeout: timeout)
                var run = GateRun(gate: effective, startedAt: now)
                while s.runs[run.id] != nil { run = GateRun(gate: effective, startedAt: run.startedAt + 1) }
                s.probes[run.id] = try GateProbe(gate: effective, engine: engine)
                s.runs[run.id] = run
                return .success(run)
            } catch {
                return .failure(.invalid("\(error)"))
            }
        }
        let run = try outcome.get()
        logger.info("gate \(name): run \(run.id) started (every \(PrometheusDuration.format(run.gate.interval)), promote after \(PrometheusDuration.format(run.gate.duration)), timeout \(PrometheusDuration.format(run.gate.timeout)))")
        queue.async { [self] in
            persist(run.id)
            tick()
        }
        return run
    }

    enum StartError: Error {
        case unknown(String), invalid(String), running(String, GateRun)
    }

    /// A run by id.
    func run(id: String) -> GateRun? { state.value.runs[id] }

    /// The latest run of `gate` (the running one, else the last started).
    func latestRun(of gate: String) -> GateRun? {
        state.value.runs.values.filter { $0.gate.name == gate }.max { $0.startedAt < $1.startedAt }
    }

    /// Every remembered run, newest first.
    func runs() -> [GateRun] { state.value.runs.values.sorted { $0.startedAt > $1.startedAt } }

    func definitions() -> [Gate] { state.value.gates.values.sorted { $0.name < $1.name } }

    /// Takes the evaluations that are due (on `queue`).
    func tick() {
        let now = clock()
        let due = state.value.runs.values.filter(\.isRunning).map(\.id).sorted()
        var ended = false
        for id in due {
            guard let run = state.value.runs[id], let probe = state.value.probes[id] else { continue }
            var next = run
            switch run.due(now: now) {
            case .nothing:
                continue
            case .expired:
                next.expire(at: now)
            case .evaluate(let k):
                next.record(probe.measure(run, at: now, firing: firing()), index: k, at: now)
                state.withLock { $0.evaluations[run.gate.name, default: 0] += 1 }
            }
            state.withLock { $0.runs[id] = next }
            persist(id)
            if let verdict = next.verdict {
                ended = true
                state.withLock {
                    $0.probes[id] = nil
                    $0.verdicts[next.gate.name, default: [:]][verdict, default: 0] += 1
                }
                logger.info("gate \(next.gate.name): \(verdict.rawValue) after \(next.evaluations) evaluations (run \(id)): \(next.reason ?? "")")
            }
        }
        if ended { prune() }
        let keys = Set(alerts(now: now).map { "\($0.fingerprint)/\($0.state.rawValue)" })
        let changed = state.withLock { s -> Bool in
            defer { s.alertKeys = keys }
            return s.alertKeys != keys
        }
        if changed { onAlertsChanged() }
        rearm(now: clock())
    }

    /// Writes a run's file; a failure is logged, and the next evaluation tries again.
    func persist(_ id: String) {
        guard let run = state.value.runs[id] else { return }
        do { try files.save(run) } catch { logger.error("gate run \(id) not saved: \(error)") }
    }

    /// Forgets the oldest finished runs beyond `GateRunFiles.keepFinished`.
    func prune() {
        let dropped: [String] = state.withLock { s in
            let finished = s.runs.values.filter { !$0.isRunning }.sorted { $0.startedAt > $1.startedAt }
            let old = finished.dropFirst(GateRunFiles.keepFinished).map(\.id)
            for id in old { s.runs[id] = nil }
            return old
        }
        for id in dropped { files.remove(id) }
    }

    // MARK: Notifications and metrics

    /// The `GateVerdict` alerts of runs whose gate notifies on their verdict.
    func alerts(now: Timestamp) -> [Alert] {
        let (runs, external) = state.withLock { ($0.runs.values.filter { !$0.isRunning }, $0.external) }
        var out: [Alert] = []
        for run in runs {
            guard let verdict = run.verdict, let ended = run.endedAt, run.gate.notify.contains(verdict) else { continue }
            let age = now - ended
            guard age >= 0, age < Self.verdictFiring + Self.verdictResolvedFor else { continue }
            var labels = LabelsBuilder()
            for (k, v) in external { labels.set(k, v) }
            for (k, v) in run.gate.labels where k != Alert.severityLabel { labels.set(k, v) }
            labels.set("alertname", "GateVerdict")
            labels.set("gate", run.gate.name)
            labels.set("verdict", verdict.rawValue)
            labels.set("run", run.id)
            var alert = Alert(
                identity: labels.build(), severity: run.gate.labels[Alert.severityLabel],
                annotations: ["summary": "Gate \(run.gate.name): \(verdict.rawValue)", "description": run.reason ?? ""],
                state: age < Self.verdictFiring ? .firing : .resolved, value: Double(verdict.exitStatus), activeAt: ended, firedAt: ended,
                resolvedAt: age < Self.verdictFiring ? nil : ended + Self.verdictFiring, source: run.gate.source)
            alert.evaluatedAt = ended
            out.append(alert)
        }
        return out
    }

    func metrics() -> [SelfMetricFamily] {
        let s = state.value
        let gateNames = Set(s.gates.keys).union(s.runs.values.map(\.gate.name)).sorted()
        var latest: [String: GateRun] = [:]
        for run in s.runs.values where (latest[run.gate.name]?.startedAt ?? .min) < run.startedAt { latest[run.gate.name] = run }
        var verdicts: [(labels: [(String, String)], value: Double)] = []
        var lastVerdict: [(labels: [(String, String)], value: Double)] = []
        var values: [(labels: [(String, String)], value: Double)] = []
        var results: [(labels: [(String, String)], value: Double)] = []
        for name in gateNames {
            for v in GateVerdict.allCases { verdicts.append(([("gate", name), ("verdict", v.rawValue)], Double(s.verdicts[name]?[v] ?? 0))) }
            guard let run = latest[name] else { continue }
            if let v = run.verdict, let ended = run.endedAt {
                lastVerdict.append(([("gate", name), ("verdict", v.rawValue)], Double(ended) / 1000))
            }
            for (i, c) in run.checks.enumerated() {
                let id = c.must ? "must-\(i + 1)" : "should-\(i - run.gate.must.count + 1)"
                if let v = c.values.last, !v.isNaN { values.append(([("gate", name), ("check", id)], v)) }
                for (result, n) in [("pass", c.passed), ("fail", c.failed), ("no_data", c.noData), ("error", c.errors)] {
                    results.append(([("gate", name), ("check", id), ("result", result)], Double(n)))
                }
            }
        }
        return [
            SelfMetricFamily(name: "agent_gate_running", kind: .gauge, help: "1 while a run of the gate is in progress.",
                             samples: gateNames.map { n in ([("gate", n)], s.runs.values.contains { $0.gate.name == n && $0.isRunning } ? 1 : 0) }),
            SelfMetricFamily(name: "agent_gate_verdicts_total", kind: .counter, help: "Gate runs ended since the agent started, by verdict.", samples: verdicts),
            SelfMetricFamily(name: "agent_gate_evaluations_total", kind: .counter, help: "Gate evaluations taken since the agent started.",
                             samples: gateNames.map { ([("gate", $0)], Double(s.evaluations[$0] ?? 0)) }),
            SelfMetricFamily(name: "agent_gate_last_verdict_timestamp_seconds", kind: .gauge, help: "When the gate's latest run ended, labelled with its verdict.",
                             samples: lastVerdict),
            SelfMetricFamily(name: "agent_gate_check_value", kind: .gauge, help: "Each check's value at the latest run's last evaluation.", samples: values),
            SelfMetricFamily(name: "agent_gate_check_evaluations", kind: .gauge, help: "Each check's evaluations in the gate's latest run, by result.", samples: results),
        ]
    }
}
