public import Dispatch
public import TimeSeries
import Synchronization

/// Scrapes one target into the store, one scrape at a time.
///
/// The daemon calls `scrapeOnce` from its per-target Dispatch timer; tests and `agent scrape` call
/// it (or `scrape()`) directly, and `ingest` feeds a body without HTTP. A scrape that is still
/// running when the next tick comes makes that tick a no-op (counted in `overlaps`), so a slow
/// target never piles up requests. Requests go through the shared `HTTPClient`; the body is parsed
/// and written on `queue`, off the client's thread.
///
/// State (the series cache, the probe's counters, the last report) is owned by a `Mutex`; it is
/// only contended when a caller reads `lastReport` during a scrape.
public final class ScrapeLoop: Sendable {
    /// What is scraped and how.
    public let target: ScrapeTarget
    let store: SeriesStore
    let client: HTTPClient
    let clock: ScrapeClock
    let queue: DispatchQueue

    struct State {
        var ingester: ScrapeIngester
        var probe: HealthProbe
        var inFlight = false
        var lastReport: ScrapeReport? = nil
        var lastBodySize = 0
        var overlaps = 0
        var failures: [ScrapeError.Kind: Int] = [:]
    }

    let state: Mutex<State>

    /// A loop for `target` writing into `store`. `queue` runs parsing (default: a global queue).
    public init(target: ScrapeTarget, store: SeriesStore, client: HTTPClient, clock: ScrapeClock = .system, queue: DispatchQueue? = nil) {
        self.target = target
        self.store = store
        self.client = client
        self.clock = clock
        self.queue = queue ?? DispatchQueue.global()
        self.state = Mutex(State(ingester: ScrapeIngester(target: target), probe: HealthProbe(target: target)))
    }

    /// The report of the latest finished scrape.
    public var lastReport: ScrapeReport? { state.withLock { $0.lastReport } }

    /// Failed scrapes by cause since the loop started (for the daemon's self-metrics).
    public var failures: [ScrapeError.Kind: Int] { state.withLock { $0.failures } }

    /// TYPE, HELP and UNIT of the target's families as of its last successful scrape, in page order.
    public var metadata: [MetricMetadata] { state.withLock { $0.ingester.metadata.metadata } }

    /// What the metadata bounds refused since the loop started: families beyond
    /// `ScrapeLimits.metadataLimit`, and HELP texts cut to 1 KiB.
    public var metadataRefusals: (familiesDropped: Int, helpTruncated: Int) {
        state.withLock { ($0.ingester.metadata.familiesDropped, $0.ingester.metadata.helpTruncated) }
    }

    /// Ticks skipped because the previous scrape was still running.
    public var overlaps: Int { state.withLock { $0.overlaps } }

    /// Health targets: probes failed in a row (0 after a success), also written as
    /// `probe_consecutive_failures`.
    public var consecutiveFailures: Int { state.withLock { $0.probe.consecutiveFailures } }

    /// Starts a scrape unless one is running; `completion` gets its report. False when skipped.
    @discardableResult
    public func scrapeOnce(completion: @escaping @Sendable (ScrapeReport) -> Void = { _ in }) -> Bool {
        let startedAt = clock.now()
        let monotonicStart = clock.monotonic()
        let hint: Int? = state.withLock { state in
            if state.inFlight {
                state.overlaps += 1
                return nil
            }
            state.inFlight = true
            return state.lastBodySize
        }
        guard let hint else { return false }
        client.start(request(bodySizeHint: hint), on: queue) { [self] result in
            completion(finish(result, startedAt: startedAt, monotonicStart: monotonicStart))
        }
        return true
    }

    /// Scrapes now and returns the report; a scrape already running makes this one fail as an overlap.
    public func scrape() async -> ScrapeReport {
        await withCheckedContinuation { continuation in
            let started = scrapeOnce { continuation.resume(returning: $0) }
            if !started {
                continuation.resume(
                    returning: ScrapeReport(
                        timestamp: clock.now(), error: ScrapeError(.overlap, "the previous scrape of \(target.url) is still running")))
            }
        }
    }

    /// Writes `body` as if a scrape at `timestamp` had returned it (exposition targets), without
    /// HTTP; for tests, benchmarks and replays.
    public func ingest(_ body: [UInt8], contentType: String?, at timestamp: Timestamp) -> ScrapeReport {
        let start = clock.monotonic()
        return body.withUnsafeBytes { raw in
            state.withLock { state in
                ingestExposition(&state, raw, contentType: contentType, startedAt: timestamp, monotonicStart: start)
            }
        }
    }

    /// Marks every series of the target stale at `timestamp`, as Prometheus does when a target goes away.
    @discardableResult
    public func markStale(at timestamp: Timestamp) -> Int {
        state.withLock { state in
            state.ingester.markAllStale(into: store, at: timestamp) + state.probe.markAllStale(into: store, at: timestamp)
        }
    }

    /// The request of a scrape: Prometheus's Accept and timeout headers, then the target's own.
    func request(bodySizeHint: Int) -> HTTPRequest {
        let accept = target.format == .prometheus ? ExpositionFormat.acceptHeader : "application/json, text/plain;q=0.9, */*;q=0.1"
        var headers = [
            HTTPHeader("Accept", accept),
            HTTPHeader("X-Prometheus-Scrape-Timeout-Seconds", String(Double(target.timeout) / 1000)),
        ]
        for header in target.http.headers {
            headers.removeAll { $0.name.lowercased() == header.name.lowercased() }
            headers.append(header)
        }
        return HTTPRequest(
            url: target.url, headers: headers, timeoutMilliseconds: Int(target.timeout), bodyLimit: target.limits.bodySizeLimit,
            maxRedirects: target.http.maxRedirects, acceptGzip: target.http.acceptGzip, tls: target.http.tls,
            authorization: target.http.authorization, bodySizeHint: bodySizeHint)
    }

    func finish(_ result: Result<HTTPResponse, HTTPError>, startedAt: Timestamp, monotonicStart: Duration) -> ScrapeReport {
        state.withLock { state in
            defer { state.inFlight = false }
            let report: ScrapeReport
            switch target.format {
            case .health:
                report = state.probe.record(result, at: startedAt, elapsed: { clock.monotonic() - monotonicStart }, into: store)
            case .prometheus:
                switch result {
                case .failure(let error):
                    report = commitFailure(&state, ScrapeError(.http, error.message), startedAt: startedAt, monotonicStart: monotonicStart)
                case .success(let response):
                    state.lastBodySize = response.body.count
                    if !(200..<300).contains(response.status) {
                        var failed = commitFailure(
                            &state, ScrapeError(.status, "server returned HTTP status \(HTTPResponse.statusText(response.status))"),
                            startedAt: startedAt, monotonicStart: monotonicStart)
                        failed.httpStatus = response.status
                        failed.bodyBytes = response.body.count
                        report = failed
                    } else {
                        var done = response.body.withUnsafeBytes { raw in
                            ingestExposition(
                                &state, raw, contentType: response.header("Content-Type"), startedAt: startedAt, monotonicStart: monotonicStart,
                                fromScrape: true)
                        }
                        done.httpStatus = response.status
                        report = done
                    }
                }
            }
            state.lastReport = report
            if let error = report.error { state.failures[error.kind, default: 0] += 1 }
            return report
        }
    }

    func ingestExposition(
        _ state: inout State, _ body: UnsafeRawBufferPointer, contentType: String?, startedAt: Timestamp, monotonicStart: Duration,
        fromScrape: Bool = false
    ) -> ScrapeReport {
        let format = ExpositionFormat(contentType: contentType, fallback: target.fallbackFormat)
        var report = ScrapeReport(timestamp: startedAt)
        report.format = format
        report.bodyBytes = body.count
        do {
            try state.ingester.parse(body, format: format, report: &report)
        } catch {
            report.error = error
            state.ingester.commitFailure(into: store, at: startedAt, report: &report) { clock.monotonic() - monotonicStart }
            report.samplesPostRelabeling = 0
            state.lastReport = report
            if !fromScrape { state.failures[error.kind, default: 0] += 1 }
            return report
        }
        state.ingester.commit(into: store, at: startedAt, report: &report) { clock.monotonic() - monotonicStart }
        state.lastReport = report
        return report
    }

    func commitFailure(_ state: inout State, _ error: ScrapeError, startedAt: Timestamp, monotonicStart: Duration) -> ScrapeReport {
        var report = ScrapeReport(timestamp: startedAt, error: error)
        state.ingester.commitFailure(into: store, at: startedAt, report: &report) { clock.monotonic() - monotonicStart }
        return report
    }
}
