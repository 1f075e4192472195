import Dispatch
import Ingest
import Logging
import Synchronization
import TimeSeries

/// The configured scrape targets: one loop per target on its own timer; all HTTP goes through one
/// libcurl multi handle (`HTTPClient`, made with the first target), so a slow target never holds up another.
///
/// A reload (`apply`) keeps the loop and timer of every target whose settings are unchanged, starts
/// loops for new targets, and replaces those whose settings changed (a fresh loop, as Prometheus
/// does: no stale markers, so the series do not blink). A target that is gone gets its series marked
/// stale, so queries stop seeing them at once rather than after the lookback.
///
/// Lifecycle: `start()` starts the timers; `stop()` cancels them and waits (up to the longest
/// scrape timeout and a second) for the scrapes in flight, which write into the store when they
/// complete. The heartbeat beats at each completed scrape, and expects one within the shortest
/// interval (paused without targets).
///
/// Ownership: the list of loops and their timers belong to `queue` (serial); each `ScrapeLoop` keeps
/// its own state behind its own lock. The timers only call `scrapeOnce`, which returns at once (the
/// request completes on the client's thread); `inFlight` counts those requests.
final class ScrapeComponent: Component, @unchecked Sendable {
    private let queue = DispatchQueue(label: "agent.scrape")
    private var client: HTTPClient?
    private var running: [(loop: ScrapeLoop, timer: (any DispatchSourceTimer)?)] = []
    private var started = false
    private let store: SeriesStore
    private let clock: @Sendable () -> Timestamp
    private let logger: Logger
    private let errorLog = Mutex([String: String]())
    private let heartbeat: Heartbeat?
    /// Scrapes started and not yet completed.
    private let inFlight = DispatchGroup()

    init(targets: [ScrapeTarget], store: SeriesStore, logger: Logger, clock: @escaping @Sendable () -> Timestamp, heartbeat: Heartbeat? = nil) {
        self.store = store
        self.logger = logger
        self.clock = clock
        self.heartbeat = heartbeat
        queue.sync { running = targets.map { (makeLoop($0), nil) } }
    }

    /// The loops, in configuration order.
    var loops: [ScrapeLoop] { queue.sync { running.map(\.loop) } }

    /// Starts every loop's timer.
    func start() {
        queue.sync {
            started = true
            for i in running.indices { running[i].timer = makeTimer(running[i].loop) }
            expectProgress()
        }
    }

    /// Cancels every timer, then waits for the scrapes in flight (each ends by its timeout).
    func stop() {
        let longest: Milliseconds = queue.sync {
            started = false
            for i in running.indices {
                running[i].timer?.cancel()
                running[i].timer = nil
            }
            heartbeat?.pause()
            return running.map(\.loop.target.timeout).max() ?? 0
        }
        if inFlight.wait(timeout: .now() + .milliseconds(Int(longest) + 1_000)) == .timedOut {
            logger.warning("scrapes still running \(longest + 1_000) ms after stopping; their results are dropped")
        }
    }

    /// On `queue`: the heartbeat expects a scrape within the shortest interval of the running targets.
    private func expectProgress() {
        if started, let shortest = running.map(\.loop.target.interval).min() { heartbeat?.expect(every: shortest) } else { heartbeat?.pause() }
    }

    /// What a reload changed.
    struct Changes: Equatable {
        var added: [String] = []
        var removed: [String] = []
        var changed: [String] = []
        var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }
    }

    /// Makes `targets` the running set; see the type's comment. Returns what changed (by URL).
    @discardableResult
    func apply(_ targets: [ScrapeTarget]) -> Changes {
        queue.sync {
            let old = running
            var next: [(loop: ScrapeLoop, timer: (any DispatchSourceTimer)?)] = []
            var changes = Changes()
            var kept = Set<Int>(), replaced = Set<Int>()
            for target in targets {
                if let i = old.indices.first(where: { !kept.contains($0) && old[$0].loop.target == target }) {
                    kept.insert(i)
                    next.append(old[i])
                    continue
                }
                let loop = makeLoop(target)
                next.append((loop, started ? makeTimer(loop) : nil))
                let sameTarget = old.indices.first { i in
                    !kept.contains(i) && !replaced.contains(i) && old[i].loop.target.url == target.url && old[i].loop.target.job == target.job
                        && !targets.contains { $0 == old[i].loop.target }
                }
                if let i = sameTarget {
                    replaced.insert(i)
                    changes.changed.append(target.url)
                } else {
                    changes.added.append(target.url)
                }
            }
            let now = clock()
            for (i, entry) in old.enumerated() where !kept.contains(i) {
                entry.timer?.cancel()
                guard !replaced.contains(i) else { continue }
                changes.removed.append(entry.loop.target.url)
                entry.loop.markStale(at: now)
                errorLog.withLock { $0[entry.loop.target.url] = nil }
            }
            running = next
            expectProgress()
            return changes
        }
    }

    /// On `queue`.
    private func makeLoop(_ target: ScrapeTarget) -> ScrapeLoop {
        let client = self.client ?? HTTPClient()
        self.client = client
        return ScrapeLoop(target: target, store: store, client: client)
    }

    /// On `queue`: the loop's timer, started.
    private func makeTimer(_ loop: ScrapeLoop) -> any DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        // Spread targets over their interval, by a stable offset, as Prometheus does.
        let interval = loop.target.interval
        let offset = Int64(Labels(["url": loop.target.url, "job": loop.target.job]).stableHash % UInt64(interval))
        timer.schedule(deadline: .now() + .milliseconds(Int(offset)), repeating: .milliseconds(Int(interval)), leeway: .milliseconds(Int(min(interval / 20, 500))))
        timer.setEventHandler { [weak self, loop] in
            guard let component = self else { return }
            component.inFlight.enter()
            let began = loop.scrapeOnce { report in
                component.note(report, of: loop)
                component.inFlight.leave()
            }
            if !began { component.inFlight.leave() }
        }
        timer.resume()
        return timer
    }

    /// Logs a target's error when it changes (not every failed scrape), and its recovery.
    private func note(_ report: ScrapeReport, of loop: ScrapeLoop) {
        heartbeat?.beat()
        let key = loop.target.url
        let message = report.error?.description
        let previous = errorLog.withLock { log -> String? in
            let old = log[key]
            log[key] = message
            return old
        }
        if let message, message != previous { logger.warning("scrape \(loop.target.job) \(key) failed: \(message)") }
        if message == nil, previous != nil { logger.info("scrape \(loop.target.job) \(key) recovered") }
    }

    /// One target as the API and the web pages show it: its settings, its last scrape, and what
    /// its page said about its families.
    struct TargetSnapshot: Sendable {
        var target: ScrapeTarget
        /// The latest finished scrape (nil before the first).
        var lastReport: ScrapeReport?
        /// TYPE, HELP and UNIT of its families as of its last successful scrape, in page order.
        var metadata: [MetricMetadata]
    }

    /// Every target, in configuration order, with its last scrape and metadata.
    func targetSnapshots() -> [TargetSnapshot] {
        loops.map { TargetSnapshot(target: $0.target, lastReport: $0.lastReport, metadata: $0.metadata) }
    }

    /// Family name → metadata over every target (the first target in configuration order that
    /// describes a family wins), for the exposition of stored series.
    func familyMetadata() -> [String: MetricMetadata] {
        var out: [String: MetricMetadata] = [:]
        for loop in loops where loop.target.format == .prometheus {
            for m in loop.metadata where out[m.family] == nil { out[m.family] = m }
        }
        return out
    }

    /// What the metadata bounds refused, per target.
    func metrics() -> [SelfMetricFamily] {
        let loops = self.loops
        let refusals = loops.map { ($0.target, $0.metadataRefusals) }
        return [
            SelfMetricFamily(
                name: "agent_scrape_metadata_refused_total", kind: .counter,
                help: "Scraped metric families whose TYPE/HELP/UNIT were not kept (reason=\"limit\": beyond the target's 4096 families) or whose HELP was cut to 1 KiB (reason=\"help_length\").",
                samples: refusals.flatMap { target, r in
                    [([("job", target.job), ("url", target.url), ("reason", "limit")], Double(r.familiesDropped)),
                     ([("job", target.job), ("url", target.url), ("reason", "help_length")], Double(r.helpTruncated))]
                }),
        ]
    }

    func status() -> [[String: Any]] {
        loops.map { loop in
            var doc: [String: Any] = ["job": loop.target.job, "url": loop.target.url, "format": loop.target.format.rawValue,
                                      "interval_seconds": Double(loop.target.interval) / 1000]
            if let r = loop.lastReport {
                doc["up"] = r.error == nil
                doc["last_scrape"] = Double(r.timestamp) / 1000
                doc["duration_seconds"] = Double(r.duration.components.seconds) + Double(r.duration.components.attoseconds) / 1e18
                doc["samples"] = r.samplesScraped
                if let e = r.error { doc["last_error"] = e.description }
            }
            if loop.target.format == .health { doc["consecutive_failures"] = loop.consecutiveFailures }
            return doc
        }
    }
}
