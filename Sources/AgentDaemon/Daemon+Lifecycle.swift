import AgentClient
import TextRendering
import Alerting
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Ingest
import Logging
import TimeSeries
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's life on one serial path (`queue`): start, reloads, checkpoints and shutdown never
/// overlap. A reload that arrives once shutdown has begun is dropped; shutdown waits for a reload
/// under way (it needs `queue`, which the reload holds) and then stops what that reload started.
///
/// Start: folders → components built → state restored → listeners → components started (notify,
/// logs, scrapes, remote write, rules, gates) → timers → READY. Shutdown (SIGTERM/SIGINT): not ready → no more reloads
/// or timers → listeners closed (requests in flight finish, so a silence just added is in the
/// final checkpoint) → components stopped in reverse, each waiting for its work in flight (rules
/// first, so nothing new is notified; notifications last, delivering what is pending for a few
/// seconds) → final checkpoint.
extension Daemon {
    /// Where the daemon is in its life.
    enum Phase: Equatable {
        case created, running, stopping, stopped
    }

    /// What the lifecycle owns; on `queue`.
    struct Lifecycle {
        var phase = Phase.created
        var timers: [any DispatchSourceTimer] = []
        var signalSources: [any DispatchSourceSignal] = []
        var server: APIServer?
        var watchdog: Watchdog?
        /// The daemon queue's own loop (self-metrics, checkpoints, reloads).
        var heartbeat: Heartbeat?
    }

    /// The components in the order they start (and stop in reverse).
    var components: [any Component] {
        let all: [(any Component)?] = [notifications, logs, scrapes, remoteWrite, rules, gates]
        return all.compactMap { $0 }
    }

    /// Runs until SIGTERM or SIGINT, then drains (see the extension's comment). Returns the exit status.
    public func run() async -> Int32 {
        let (signals, continuation) = AsyncStream<Int32>.makeStream()
        // Before anything starts, so a SIGTERM during start-up drains rather than kills.
        queue.sync { installSignalHandlers { continuation.yield($0) } }
        guard await start() else { return 1 }
        var signal: Int32 = SIGTERM
        for await s in signals {
            signal = s
            break
        }
        logger.info("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"): draining")
        await shutdown()
        return 0
    }

    /// Prepares the folders, builds the components, restores the checkpoint, starts the listeners,
    /// the components and the timers, then says READY. False (logged) when something cannot start.
    func start() async -> Bool {
        do {
            try AtomicFile.makeDirectory(config.global.stateDir)
            try AtomicFile.makeDirectory(String(config.listen.socket[..<(config.listen.socket.lastIndex(of: "/") ?? config.listen.socket.startIndex)]))
        } catch {
            logger.critical("cannot prepare folders: \(error)")
            return false
        }
        do {
            try buildComponents()
            gates = try buildGates()
        } catch {
            logger.critical("\(error)")
            return false
        }
        restore()
        gates?.restore()
        let restoredSeries = store.stats.series
        let server: APIServer
        do {
            server = try APIServer(api: self, socketPath: config.listen.socket, http: config.listen.http.flatMap(ListenConfig.hostPort),
                                   configuration: config.listen.serverConfiguration, logger: logger)
            try await server.start()
        } catch {
            logger.critical("cannot listen on \(config.listen.socket)\(config.listen.http.map { " or \($0)" } ?? ""): \(error)")
            return false
        }
        self.server = server
        // The server's event loop stamps each turn (at least every 250 ms); read it at each check.
        progress.watch("api", bound: LoopProgress.bound(forInterval: 1_000)) { [weak server] in
            guard let server else { return LoopProgress.monotonicClock() }
            return Int64(server.lastLoopTick / 1_000_000)
        }
        await onQueue {
            self.lifecycle.server = server
            for component in self.components { component.start() }
            self.startTimers()
            self.lifecycle.phase = .running
        }
        flags.set(ready: true)
        let summary = "listening on \(config.listen.socket)\(config.listen.http.map { " and http://\($0)" } ?? ""); \(restoredSeries) series restored"
        logger.info("agent \(AgentVersion.string) started: \(summary)")
        systemd.ready(status: summary)
        return true
    }

    /// Drains and stops everything (see the extension's comment); returns when the final
    /// checkpoint is written.
    func shutdown() async {
        flags.setStopping()
        systemd.stopping()
        // Waits for a reload under way; any later reload, timer tick or signal finds `.stopping`.
        let server = await onQueue { () -> APIServer? in
            self.lifecycle.phase = .stopping
            for timer in self.lifecycle.timers { timer.cancel() }
            self.lifecycle.timers.removeAll()
            return self.lifecycle.server
        }
        progress.watch("api", bound: 0, lastProgress: nil)
        await server?.stop(timeout: 1)
        await onQueue {
            for component in self.components.reversed() { component.stop() }
            self.lifecycle.heartbeat?.pause()
            self.checkpoint(reason: "shutdown")
            self.lifecycle.watchdog?.stop()
            self.lifecycle.phase = .stopped
        }
        logger.info("stopped")
    }

    /// Runs `body` on `queue` and returns its result, without blocking a thread of Swift's
    /// cooperative pool meanwhile (the listeners run there; waiting for a reload or a drain must
    /// not starve them).
    func onQueue<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }

    // MARK: Timers and signals (on `queue`)

    private func startTimers() {
        let heartbeat = progress.heartbeat("daemon")
        lifecycle.heartbeat = heartbeat
        heartbeat.expect(every: config.global.scrapeInterval)
        recordSelfMetrics()
        every(config.global.scrapeInterval) { [weak self] in
            self?.recordSelfMetrics()
            heartbeat.beat()
        }
        every(config.global.checkpointInterval) { [weak self] in self?.checkpoint(reason: "interval") }
        every(60_000) { [weak self] in
            guard let self else { return }
            let removed = store.expireSilentSeries()
            if removed > 0 { logger.info("expired \(removed) series without data") }
        }
        if let interval = systemd.watchdogInterval {
            let watchdog = Watchdog(progress: progress, interval: interval, logger: logger) { [systemd] in systemd.watchdog() }
            watchdog.start()
            lifecycle.watchdog = watchdog
        }
        if config.global.reloadCheckInterval > 0 && isReloadable {
            every(config.global.reloadCheckInterval) { [weak self] in self?.checkFiles() }
        }
        // Once every component has run a few times, the pages only start-up used can go; every
        // hour after, those only rare work used (a reload, a resolution, a query), so that the
        // resident set stays what the daemon uses rather than grows to all it ever ran.
        releaseStartupPages(after: 20_000)
        every(3_600_000) { [weak self] in self?.releaseStartupPages(after: 0) }
    }

    /// Hands start-up's pages back to the kernel `delay` ms from now (see `StartupPages`).
    func releaseStartupPages(after delay: Int64) {
        guard releasesStartupPages else { return }
        queue.asyncAfter(deadline: .now() + .milliseconds(Int(delay))) { [weak self] in
            guard let self, lifecycle.phase == .running else { return }
            let outcome = StartupPages.release()
            let mb = { (bytes: Int) in CFormat.printf("%.1f", Double(bytes) / 1_048_576) + " MB" }
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
        lifecycle.timers.append(timer)
    }

    private func installSignalHandlers(_ stop: @escaping @Sendable (Int32) -> Void) {
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [weak self] in
                if sig == SIGHUP { self?.requestReload(trigger: "SIGHUP") } else { stop(sig) }
            }
            source.resume()
            lifecycle.signalSources.append(source)
        }
    }

    /// False for the built-in configuration: there is no file to re-read.
    var isReloadable: Bool { config.source != AgentConfig().source }

    /// The periodic check: a change of the configuration or of a rule file that has rested for one
    /// interval reloads (see `ConfigFileWatcher`).
    private func checkFiles() {
        if fileWatcher.shouldReload(fileWatcher.snapshot()) { requestReload(trigger: "file change") }
    }

    /// On `queue`: a reload, unless the daemon is not running (starting, or shutting down).
    /// Returns why it did not happen or was refused (nil: reloaded, or nothing to reload).
    @discardableResult
    func requestReload(trigger: String) -> String? {
        dispatchPrecondition(condition: .onQueue(queue))
        guard lifecycle.phase == .running, !flags.stopping else {
            let why = "the agent is \(lifecycle.phase == .created ? "starting" : "stopping")"
            logger.info("\(trigger): reload dropped: \(why)")
            return why
        }
        return reload(trigger: trigger)
    }
}
