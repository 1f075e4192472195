import AgentClient
public import TimeSeries
public import Logging
public import Foundation
import Alerting
import Ingest
import Notify
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The running agent: it owns the store and the components, drives them with Dispatch timers,
/// checkpoints their state and serves the API.
///
/// Ownership: the store has its own lock; each component owns its state behind its own queue or
/// lock; the daemon's own mutable state (timers, lifecycle, counters) belongs to `queue`, and
/// the few flags the API reads without it sit in `flags` behind a lock.
public final class Daemon: ControlAPI, @unchecked Sendable {
    /// The configuration the daemon started with; `running` follows reloads.
    public let config: AgentConfig
    /// The configuration in force: the last one a reload accepted (storage and listeners stay as
    /// `config` has them until a restart). Replaced on `queue`, read from any thread.
    private let runningBox: Locked<AgentConfig>
    public var running: AgentConfig { runningBox.value }
    /// The series store every component writes into.
    public let store: SeriesStore
    let logger: Logger
    let systemd: SystemdNotifier
    let checkpointFile: CheckpointFile
    let clock: @Sendable () -> Timestamp
    let queue = DispatchQueue(label: "agent.daemon")
    private var timers: [any DispatchSourceTimer] = []
    private var signalSources: [any DispatchSourceSignal] = []
    private var server: APIServer?
    /// The components; set once in `run()` before anything starts, then only read.
    var logs: LogsComponent?
    /// Replaced by a SIGHUP reload (on `queue`) while the API reads it: behind a lock.
    private let rulesBox = Locked<RulesComponent?>(nil)
    var rules: RulesComponent? {
        get { rulesBox.value }
        set { rulesBox.withLock { $0 = newValue } }
    }
    var notifier: Notifier?
    /// Set once in `run()`; a reload changes its targets, never the object.
    var scrapes: ScrapeComponent?
    /// Notices changes of the configuration and rule files (on `queue`).
    private let fileWatcher: ConfigFileWatcher
    /// Stored series `/metrics` left out because they would break the page (see `StoreExposition`).
    let expositionSkipped = Locked(0)
    /// The latest alerts of each rule group, for the API.
    let latestAlerts = Locked([String: [Alert]]())
    let startedAt: Timestamp
    private let flags = FlagBox()
    /// Checkpoint counters, written on `queue`, read by the API from any thread.
    private let checkpoints = Locked(CheckpointStats())
    /// False when `AGENT_RELEASE_STARTUP_PAGES=0`: start-up's pages stay resident (see `StartupPages`).
    private let releasesStartupPages: Bool

    struct CheckpointStats {
        var written = 0, failed = 0, lastBytes = 0
        var lastDurationSeconds = 0.0
        var lastSuccess: Timestamp = 0
        var lastError: String?
    }

    /// A daemon for `config`; nothing starts until `run()`.
    public init(config: AgentConfig, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment,
                clock: @escaping @Sendable () -> Timestamp = SeriesStore.systemClock) {
        self.config = config
        self.logger = logger
        self.clock = clock
        self.store = SeriesStore(config: config.global.store, clock: clock)
        self.systemd = SystemdNotifier(environment: environment)
        self.checkpointFile = CheckpointFile(stateDir: config.global.stateDir)
        self.startedAt = clock()
        self.runningBox = Locked(config)
        self.fileWatcher = ConfigFileWatcher(config: config)
        self.releasesStartupPages = environment["AGENT_RELEASE_STARTUP_PAGES"] != "0"
    }

    /// Runs until SIGTERM or SIGINT, then drains: final checkpoint, listeners closed. Returns the exit status.
    public func run() async -> Int32 {
        do {
            try AtomicFile.makeDirectory(config.global.stateDir)
            try AtomicFile.makeDirectory(String(config.listen.socket[..<(config.listen.socket.lastIndex(of: "/") ?? config.listen.socket.startIndex)]))
        } catch {
            logger.critical("cannot prepare folders: \(error)")
            return 1
        }
        do {
            try buildComponents()
        } catch {
            logger.critical("\(error)")
            return 1
        }
        restore()
        let restoredSeries = store.stats.series
        do {
            let server = try APIServer(api: self, socketPath: config.listen.socket,
                                       http: config.listen.http.flatMap(ListenConfig.hostPort), logger: logger)
            try await server.start()
            self.server = server
        } catch {
            logger.critical("cannot listen on \(config.listen.socket)\(config.listen.http.map { " or \($0)" } ?? ""): \(error)")
            return 1
        }
        let stopped = AsyncStream<Int32> { continuation in
            queue.sync {
                startTimers()
                installSignalHandlers { signal in continuation.yield(signal) }
            }
        }
        flags.set(ready: true)
        let summary = "listening on \(config.listen.socket)\(config.listen.http.map { " and http://\($0)" } ?? ""); \(restoredSeries) series restored"
        logger.info("agent \(AgentVersion.string) started: \(summary)")
        systemd.ready(status: summary)
        var signal: Int32 = SIGTERM
        for await s in stopped {
            signal = s
            break
        }
        logger.info("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"): draining")
        systemd.stopping()
        flags.set(ready: false)
        rules?.stop()
        scrapes?.stop()
        logs?.stop()
        // Deliver what is pending for up to the outbox's drain timeout (docs/notifications.md).
        drainNotifier()
        queue.sync {
            for timer in timers { timer.cancel() }
            timers.removeAll()
            checkpoint(reason: "shutdown")
        }
        await server?.stop(timeout: 1)
        logger.info("stopped")
        return 0
    }

    // MARK: Timers and signals (on `queue`)

    private func startTimers() {
        logs?.start(interval: 1_000)
        notifier?.start()
        scrapes?.start()
        rules?.start(clock: clock) { [weak self] group, alerts in
            self?.latestAlerts.withLock { $0[group.source] = alerts }
            self?.forwardAlerts()
        }
        if let notifier {
            every(1_000) { notifier.tick() }
        }
        recordSelfMetrics()
        every(config.global.scrapeInterval) { [weak self] in self?.recordSelfMetrics() }
        every(config.global.checkpointInterval) { [weak self] in self?.checkpoint(reason: "interval") }
        every(60_000) { [weak self] in
            guard let self else { return }
            let removed = store.expireSilentSeries()
            if removed > 0 { logger.info("expired \(removed) series without data") }
        }
        if let interval = systemd.watchdogInterval {
            every(interval) { [weak self] in self?.systemd.watchdog() }
        }
        if config.global.reloadCheckInterval > 0 && isReloadable {
            every(config.global.reloadCheckInterval) { [weak self] in self?.checkFiles() }
        }
        // Once every component has run a few times, the pages only start-up used can go.
        releaseStartupPages(after: 20_000)
    }

    /// Hands start-up's pages back to the kernel `delay` ms from now (see `StartupPages`).
    func releaseStartupPages(after delay: Int64) {
        guard releasesStartupPages else { return }
        queue.asyncAfter(deadline: .now() + .milliseconds(Int(delay))) { [weak self] in
            guard let self else { return }
            let outcome = StartupPages.release()
            let mb = { (bytes: Int) in String(format: "%.1f MB", Double(bytes) / 1_048_576) }
            if outcome.mappings == 0 && outcome.error != 0 {
                logger.debug("start-up pages kept: madvise(MADV_PAGEOUT) failed with errno \(outcome.error)")
            } else {
                logger.debug("start-up pages released: resident \(mb(outcome.residentBefore)) → \(mb(outcome.residentAfter))")
            }
        }
    }

    /// Runs `body` on `queue` every `interval` ms, the first time after one interval.
    func every(_ interval: Int64, _ body: @escaping @Sendable () -> Void) {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(Int(interval)), repeating: .milliseconds(Int(interval)), leeway: .milliseconds(Int(min(interval / 10, 1000))))
        timer.setEventHandler(handler: body)
        timer.resume()
        timers.append(timer)
    }

    private func installSignalHandlers(_ stop: @escaping @Sendable (Int32) -> Void) {
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [weak self] in
                if sig == SIGHUP { self?.reload(trigger: "SIGHUP") } else { stop(sig) }
            }
            source.resume()
            signalSources.append(source)
        }
    }

    /// False for the built-in configuration: there is no file to re-read.
    private var isReloadable: Bool { config.source != AgentConfig().source }

    /// The periodic check: a change of the configuration or of a rule file that has rested for one
    /// interval reloads (see `ConfigFileWatcher`).
    private func checkFiles() {
        if fileWatcher.shouldReload(fileWatcher.snapshot()) { reload(trigger: "file change") }
    }

    /// SIGHUP or a file change: re-reads the configuration and the rule files. Anything invalid is
    /// refused with its errors logged and the running configuration kept; nothing is half-applied
    /// (everything is read and built before anything is replaced). Applied in place: rule groups
    /// (alert states carry over), notification routing (what was last sent carries over), scrape
    /// targets (see `ScrapeComponent`), logs (unchanged ones keep their files and offsets, see
    /// `LogsComponent`), external labels and `/metrics` exposure. Changes to storage, listeners, the
    /// state folder and the timers' intervals are reported as needing a restart.
    func reload(trigger: String = "SIGHUP") {
        guard isReloadable else {
            logger.info("\(trigger): running on the built-in configuration; nothing to reload")
            return
        }
        let current = running
        // Each file's state is taken before it is read, so a write during the read is seen by the
        // next check; a state is recorded whatever the outcome, so it is not tried again.
        let before = fileWatcher.snapshot()
        fileWatcher.loaded(before)
        let next: AgentConfig
        let files: [(file: String, rules: RuleFile)]
        let logPlan: LogsComponent.Plan?
        var notifierConfiguration: Notifier.Configuration?
        do {
            next = try AgentConfig.load(path: current.source)
            // The new configuration's rule globs may name other files: those are the ones to watch.
            let ruleFiles = RulesComponent.files(globs: next.ruleFiles, relativeTo: next.baseDirectory)
            fileWatcher.loaded(before.prefix(1) + ruleFiles.map(ConfigFileWatcher.state(of:)), ruleGlobs: next.ruleFiles, base: next.baseDirectory)
            files = try RulesComponent.load(globs: next.ruleFiles, relativeTo: next.baseDirectory)
            logPlan = try logs?.plan(next.logs)
            if notifier != nil, next.notify.isEnabled {
                notifierConfiguration = try next.notify.notifierConfiguration(stateDir: config.global.stateDir)
            }
        } catch {
            logger.error("\(trigger): \(current.source) refused; the running configuration stays:\n\(error)")
            return
        }
        systemd.reloading()
        defer {
            systemd.ready(status: "reloaded")
            // Reading YAML and building the new rules touched start-up code again.
            releaseStartupPages(after: 5_000)
        }

        if let notifier, let notifierConfiguration { notifier.reload(notifierConfiguration) }
        let newRules = RulesComponent(files: files, store: store, evaluationInterval: next.global.evaluationInterval,
                                      externalLabels: next.global.externalLabels)
        if let old = rules {
            old.stop()
            // Carry alert states (pending 'for' times, firing alerts) over to the new groups.
            newRules.restore(from: old.checkpointSection(now: clock()), now: clock(), logger: logger)
        }
        rules = newRules
        latestAlerts.withLock { $0 = [:] }
        newRules.start(clock: clock) { [weak self] group, alerts in
            self?.latestAlerts.withLock { $0[group.source] = alerts }
            self?.forwardAlerts()
        }
        let targetChanges = scrapes?.apply(next.scrape) ?? ScrapeComponent.Changes()
        if let logs, let logPlan { logs.apply(logPlan) }
        var kept = next
        // What only a restart changes stays as the process has it, so the next reload compares alike.
        kept.global.store = config.global.store
        kept.global.stateDir = config.global.stateDir
        kept.listen.socket = config.listen.socket
        kept.listen.http = config.listen.http
        kept.global.checkpointInterval = config.global.checkpointInterval
        kept.global.reloadCheckInterval = config.global.reloadCheckInterval
        runningBox.withLock { $0 = kept }

        var applied: [String] = ["\(newRules.groups.count) rule groups from \(files.count) files"]
        func describe(_ what: String, _ c: (added: [String], changed: [String], removed: [String])) {
            if !c.added.isEmpty { applied.append("\(what) added: \(c.added.joined(separator: " "))") }
            if !c.changed.isEmpty { applied.append("\(what) changed: \(c.changed.joined(separator: " "))") }
            if !c.removed.isEmpty { applied.append("\(what) removed: \(c.removed.joined(separator: " "))") }
        }
        describe("targets", (targetChanges.added, targetChanges.changed, targetChanges.removed))
        if let logPlan { describe("logs", (logPlan.added, logPlan.changed, logPlan.removed)) }
        var restartNeeded: [String] = []
        if next.global.store != config.global.store { restartNeeded.append("global storage settings") }
        if next.global.stateDir != config.global.stateDir { restartNeeded.append("global.state_dir") }
        if next.global.checkpointInterval != config.global.checkpointInterval { restartNeeded.append("global.checkpoint_interval") }
        if next.global.reloadCheckInterval != config.global.reloadCheckInterval { restartNeeded.append("global.reload_check_interval") }
        if next.listen.socket != config.listen.socket || next.listen.http != config.listen.http { restartNeeded.append("listen addresses") }
        if (notifier != nil) != next.notify.isEnabled { restartNeeded.append("turning notifications on or off") }
        let note = restartNeeded.isEmpty ? "" : "; changes to \(restartNeeded.joined(separator: ", ")) take effect at the next restart"
        logger.info("\(trigger): reloaded \(applied.joined(separator: "; "))\(note)")
    }

    // MARK: Checkpoints (on `queue`)

    /// The sections of a checkpoint: the store's and every component's.
    func checkpointSections() -> [String: [UInt8]] {
        // With logs, the store is captured together with the tail offsets (see LogsComponent).
        var sections = logs?.checkpointSections(store: store) ?? [SeriesStore.checkpointSection: store.encodedState()]
        if let rules { sections[AlertStateCheckpoint.sectionName] = rules.checkpointSection(now: clock()) }
        sections.merge(notifierSections()) { $1 }
        return sections
    }

    /// Writes a checkpoint; failures are logged and counted, never fatal.
    func checkpoint(reason: String) {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let bytes = try checkpointFile.save(Checkpoint(sections: checkpointSections()))
            let now = clock()
            checkpoints.withLock {
                $0.written += 1
                $0.lastBytes = bytes
                $0.lastSuccess = now
                $0.lastError = nil
            }
        } catch {
            checkpoints.withLock {
                $0.failed += 1
                $0.lastError = "\(error)"
            }
            logger.error("checkpoint (\(reason)) failed: \(error)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        checkpoints.withLock { $0.lastDurationSeconds = seconds }
    }

    /// Restores the last checkpoint; a corrupt or incompatible one is set aside and the agent starts empty.
    private func restore() {
        do {
            switch try checkpointFile.load(now: clock()) {
            case .none:
                logger.info("no checkpoint in \(config.global.stateDir): starting empty")
            case .corrupt(let reason, let aside):
                logger.error("checkpoint unreadable (\(reason)); set aside as \(aside); starting empty")
            case .loaded(let checkpoint):
                var storeRestored = false
                if let series = checkpoint.sections[SeriesStore.checkpointSection] {
                    do {
                        try store.restore(fromEncodedState: series)
                        storeRestored = true
                        logger.info("restored \(store.stats.series) series from \(checkpointFile.path)")
                    } catch {
                        logger.error("series in the checkpoint not restored: \(error); starting with an empty store")
                    }
                }
                // Offsets without the samples they account for would skip lines: only together.
                if storeRestored, let logs, let bytes = checkpoint.sections[LogsComponent.offsetsSection] {
                    do {
                        logs.restore(try TailOffsets(decoding: bytes))
                    } catch {
                        logger.error("tail offsets in the checkpoint not restored: \(error); logs start from their configured position")
                    }
                }
                if let rules, let bytes = checkpoint.sections[AlertStateCheckpoint.sectionName] {
                    rules.restore(from: bytes, now: clock(), logger: logger)
                }
                restoreNotifier(from: checkpoint)
            }
        } catch {
            logger.error("cannot read the checkpoint: \(error); starting empty")
        }
    }

    // MARK: ControlAPI

    public func isHealthy() -> Bool { true }
    public func isReady() -> Bool { flags.ready }

    public func metricsPage() -> [UInt8] {
        let current = running
        guard current.listen.expose == .all else {
            var w = ExpositionWriter(capacity: 16_384)
            writeSelfMetrics(selfMetrics(), into: &w)
            return w.bytes
        }
        return federationPage(externalLabels: Labels(current.global.externalLabels))
    }

    public func api(method: String, path: String, parameters: [String: String], body: Data) async -> APIResponse {
        if let answer = queryAPI(path: path, parameters: parameters) { return answer }
        if let answer = silencesAPI(method: method, path: path, parameters: parameters) { return answer }
        switch path {
        case "/api/v1/status": return .success(statusDocument())
        case "/api/v1/alerts": return .success(alertsDocument())
        default: return .error(404, type: "not_found", "no such endpoint: \(method) \(path)")
        }
    }

    func checkpointStatsSnapshot() -> CheckpointStats { checkpoints.value }

    /// What `agent status` shows.
    func statusDocument() -> [String: Any] {
        let stats = store.stats
        let cp = checkpointStatsSnapshot()
        let process = ProcessStats.current()
        var checkpoint: [String: Any] = ["path": checkpointFile.path, "written": cp.written, "failed": cp.failed,
                                         "last_bytes": cp.lastBytes, "last_duration_seconds": cp.lastDurationSeconds,
                                         "last_success": cp.lastSuccess]
        if let e = cp.lastError { checkpoint["last_error"] = e }
        return [
            "version": AgentVersion.string,
            "started_at": startedAt,
            "config": config.source,
            "ready": flags.ready,
            "series": ["total": stats.series, "gauges": stats.gauges, "counters": stats.counters,
                       "distributions": stats.distributions, "limit": config.global.store.seriesLimit,
                       "dropped_limit": stats.droppedSeriesLimit, "expired": stats.expiredSeries],
            "checkpoint": checkpoint,
            "logs": logs?.status() ?? [],
            "targets": scrapes?.status() ?? [],
            "rule_groups": rules?.status() ?? [],
            "notifications": notifierStatus(),
            "process": ["resident_bytes": process.residentBytes, "cpu_seconds": process.cpuSeconds, "threads": process.threads],
        ]
    }
}

/// Flags the API reads from any thread.
final class FlagBox: @unchecked Sendable {
    private let state = Locked(false)
    var ready: Bool { state.value }
    func set(ready: Bool) { state.withLock { $0 = ready } }
}

/// A value behind a lock: the owner of small pieces of state read from any thread.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: Value
    init(_ value: Value) { _value = value }
    /// A copy of the value.
    var value: Value { lock.withLock { _value } }
    /// Mutates the value under the lock.
    @discardableResult
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&_value)
    }
}
