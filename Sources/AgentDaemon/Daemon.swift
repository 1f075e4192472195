import AgentClient
public import TimeSeries
public import Logging
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Alerting
import Ingest
import Notify
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The running agent: the composition root. It owns the store, builds the components (scrapes,
/// logs, rules, notifications; each with `start()`/`stop()`, see `Component`), and runs their
/// lifecycle — start, reload, checkpoints, shutdown — on one serial path (`queue`, see
/// `Daemon+Lifecycle.swift`). It serves the API and tracks each loop's progress for the watchdog
/// and `/-/healthy` (`LoopProgress`).
///
/// Ownership: the store has its own lock; each component owns its state behind its own queue or
/// lock; the daemon's own mutable state (timers, lifecycle, file watcher) belongs to `queue`, and
/// the few values the API reads without it sit behind locks (`Locked`).
public final class Daemon: ControlAPI, @unchecked Sendable {
    /// The configuration the daemon started with; `running` follows reloads.
    public let config: AgentConfig
    /// The configuration in force: the last one a reload accepted (storage and listeners stay as
    /// `config` has them until a restart). Replaced on `queue`, read from any thread.
    let runningBox: Locked<AgentConfig>
    public var running: AgentConfig { runningBox.value }
    /// The series store every component writes into.
    public let store: SeriesStore
    let logger: Logger
    let systemd: SystemdNotifier
    /// The checkpoint files in the state folder (one per owner of state).
    let stateFiles: StateFiles
    let clock: @Sendable () -> Timestamp
    /// The one serial path of start, reloads, checkpoints and shutdown.
    let queue = DispatchQueue(label: "agent.daemon")
    /// Timers, signal sources, listeners, watchdog and phase; on `queue`.
    var lifecycle = Lifecycle()
    /// The listeners, for what reads them off `queue` (`/metrics`' HTTP figures): set once in `start()`.
    private let serverBox = Locked<APIServer?>(nil)
    var server: APIServer? {
        get { serverBox.value }
        set { serverBox.withLock { $0 = newValue } }
    }
    /// The components; set once in `buildComponents()` before anything starts, then only read.
    var logs: LogsComponent?
    /// Replaced by a reload (on `queue`) while the API reads it: behind a lock.
    private let rulesBox = Locked<RulesComponent?>(nil)
    var rules: RulesComponent? {
        get { rulesBox.value }
        set { rulesBox.withLock { $0 = newValue } }
    }
    var notifier: Notifier? { notifications?.notifier }
    var notifications: NotificationsComponent?
    /// Set once in `buildComponents()`; a reload changes its targets, never the object.
    var scrapes: ScrapeComponent?
    /// Rollout gates (`gate_files:`); set once in `run()`, a reload changes the definitions.
    var gates: GatesComponent?
    /// Set once in `run()`; a reload changes its endpoints, never the object.
    var remoteWrite: RemoteWriteComponent?
    /// Notices changes of the configuration and rule files (on `queue`).
    let fileWatcher: ConfigFileWatcher
    /// Stored series `/metrics` left out because they would break the page (see `StoreExposition`).
    let expositionSkipped = Locked(0)
    /// The latest alerts of each rule group, for the API.
    let latestAlerts = Locked([String: [Alert]]())
    let startedAt: Timestamp
    let flags = FlagBox()
    /// Checkpoint counters, written on `queue`, read by the API from any thread.
    let checkpoints = Locked(CheckpointStats())
    /// The outcome of the last reload, for `agent_config_last_reload_*`.
    let reloads: Locked<ReloadStats>
    /// When each loop last made progress: the watchdog and `/-/healthy` go by it.
    public let progress: LoopProgress
    /// False when `AGENT_RELEASE_STARTUP_PAGES=0`: start-up's pages stay resident (see `StartupPages`).
    let releasesStartupPages: Bool

    struct CheckpointStats {
        var written = 0, failed = 0, lastBytes = 0
        var lastDurationSeconds = 0.0
        var lastSuccess: Timestamp = 0
        var lastError: String?
    }

    /// As Prometheus's `prometheus_config_last_reload_*`: the configuration loaded at start counts
    /// as a successful load.
    struct ReloadStats {
        var lastSuccessful = true
        var lastSuccessAt: Timestamp
        /// The last reload attempted (nil: none since the start) and, when it was refused, why (for the web page).
        var lastAttemptAt: Timestamp? = nil
        var lastError: String? = nil
    }

    /// A daemon for `config`; nothing starts until `run()` (or `start()`). `monotonicClock` times
    /// the loops' progress (see `LoopProgress`).
    public init(config: AgentConfig, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment,
                clock: @escaping @Sendable () -> Timestamp = SeriesStore.systemClock,
                monotonicClock: @escaping @Sendable () -> Milliseconds = LoopProgress.monotonicClock) {
        self.config = config
        self.logger = logger
        self.clock = clock
        self.store = SeriesStore(config: config.global.store, clock: clock)
        self.systemd = SystemdNotifier(environment: environment)
        self.stateFiles = StateFiles(stateDir: config.global.stateDir)
        self.startedAt = clock()
        self.runningBox = Locked(config)
        self.reloads = Locked(ReloadStats(lastSuccessAt: startedAt))
        self.progress = LoopProgress(clock: monotonicClock)
        self.fileWatcher = ConfigFileWatcher(config: config)
        self.releasesStartupPages = environment["AGENT_RELEASE_STARTUP_PAGES"] != "0"
    }

    // MARK: ControlAPI

    /// True while every loop makes progress (see `LoopProgress`).
    public func isHealthy() -> Bool { progress.stale().isEmpty }
    /// The loops that made no progress within their bounds, or nil when healthy.
    public func healthProblem() -> String? {
        let stale = progress.stale()
        return stale.isEmpty ? nil : stale.map(\.description).joined(separator: "; ")
    }
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

    /// True while the HTTP server's event loop turns (its part of the agent's health).
    public var apiServerIsAlive: Bool { server?.isAlive() ?? false }

    func checkpointStatsSnapshot() -> CheckpointStats { checkpoints.value }

    /// What `agent status` shows.
    func statusDocument() -> [String: Any] {
        let stats = store.stats
        let cp = checkpointStatsSnapshot()
        let process = ProcessStats.current()
        var checkpoint: [String: Any] = ["path": stateFiles.seriesPath, "files": stateFiles.files.map(\.file.path), "written": cp.written, "failed": cp.failed,
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
            "loops": progress.snapshot().map { loop -> [String: Any] in
                var doc: [String: Any] = ["loop": loop.loop, "running": loop.secondsSinceProgress != nil]
                if let age = loop.secondsSinceProgress, let bound = loop.boundSeconds {
                    doc["seconds_since_progress"] = age
                    doc["bound_seconds"] = bound
                }
                return doc
            },
            "logs": logs?.status() ?? [],
            "targets": scrapes?.status() ?? [],
            "rule_groups": rules?.status() ?? [],
            "remote_write": remoteWrite?.status() ?? [],
            "notifications": notifierStatus(),
            "process": ["resident_bytes": process.residentBytes, "cpu_seconds": process.cpuSeconds, "threads": process.threads],
        ]
    }
}

/// Flags read from any thread.
final class FlagBox: Sendable {
    private let state = Locked((ready: false, stopping: false))
    var ready: Bool { state.value.ready }
    func set(ready: Bool) { state.withLock { $0.ready = ready } }
    /// Set as shutdown begins, before it waits for the daemon's queue: what arrives later is dropped.
    var stopping: Bool { state.value.stopping }
    func setStopping() { state.withLock { $0 = (ready: false, stopping: true) } }
}

/// A value behind the agent's one lock type (`Synchronization.Mutex`), in a class so that several
/// owners can share it: the owner of small pieces of state read from any thread.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    /// A copy of the value.
    var value: Value { mutex.withLock { $0 } }
    /// Mutates the value under the lock.
    @discardableResult
    func withLock<R: Sendable, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try mutex.withLock { (value: inout Value) throws(E) -> R in try body(&value) }
    }
}
