import Dispatch
import Ingest
import Logging
import TimeSeries

/// The configured scrape targets: one loop per target on its own timer; all HTTP goes through one
/// libcurl multi handle (`HTTPClient`), so a slow target never holds up another.
///
/// Ownership: each `ScrapeLoop` keeps its state behind its own lock; the timers only call
/// `scrapeOnce`, which returns at once (the request completes on the client's thread).
final class ScrapeComponent: @unchecked Sendable {
    let loops: [ScrapeLoop]
    let client: HTTPClient
    private let queue = DispatchQueue(label: "agent.scrape")
    private var timers: [any DispatchSourceTimer] = []
    private let logger: Logger
    private let errorLog = Locked([String: String]())

    init(targets: [ScrapeTarget], store: SeriesStore, logger: Logger) {
        let client = HTTPClient()
        self.client = client
        loops = targets.map { ScrapeLoop(target: $0, store: store, client: client) }
        self.logger = logger
    }

    func start() {
        for loop in loops {
            let timer = DispatchSource.makeTimerSource(queue: queue)
            // Spread targets over their interval, by a stable offset, as Prometheus does.
            let interval = loop.target.interval
            let offset = Int64(Labels(["url": loop.target.url, "job": loop.target.job]).stableHash % UInt64(interval))
            timer.schedule(deadline: .now() + .milliseconds(Int(offset)), repeating: .milliseconds(Int(interval)), leeway: .milliseconds(Int(min(interval / 20, 500))))
            timer.setEventHandler { [weak self, loop] in
                guard let component = self else { return }
                _ = loop.scrapeOnce { report in component.note(report, of: loop) }
            }
            timer.resume()
            timers.append(timer)
        }
    }

    /// Logs a target's error when it changes (not every failed scrape), and its recovery.
    private func note(_ report: ScrapeReport, of loop: ScrapeLoop) {
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

    func stop() {
        queue.sync {
            for t in timers { t.cancel() }
            timers.removeAll()
        }
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
