import AgentClient
import Dispatch
import Ingest
import Logging
import RemoteWrite
import TimeSeries

/// The `remote_write` endpoints: one `RemoteWriter` per endpoint, each on its own queue with its
/// own timer (every `batch_send_deadline`) and its own progress file in the state folder, so a
/// slow or unreachable endpoint holds up no other and nothing else. All requests go through one
/// libcurl client (`HTTPClient`), made with the first endpoint.
///
/// The progress files (`remote_write-NAME.progress`, see `RemoteWriteProgress`) are written after
/// every acknowledged request, atomically; they are kept apart from the checkpoint so that what was
/// acknowledged is on disk before the next request, not at the next checkpoint.
///
/// A reload (`apply`) keeps the writers whose endpoint is unchanged; the others are stopped (their
/// requests in flight answered first) and replaced, resuming from their progress file.
///
/// Ownership: the list of writers belongs to `queue` (serial); each writer owns its state on its own queue.
final class RemoteWriteComponent: Component, @unchecked Sendable {
    private let queue = DispatchQueue(label: "agent.remote-write")
    private var entries: [Entry] = []
    private var started = false
    private var client: HTTPClient?
    private var mapping: SeriesMapping
    private let store: SeriesStore
    private let stateDir: String
    private let settle: Milliseconds
    private let logger: Logger
    private let clock: @Sendable () -> Timestamp

    private final class Entry: @unchecked Sendable {
        let writer: RemoteWriter
        var timer: (any DispatchSourceTimer)?
        /// The earliest `poll` already scheduled by a wake-up (on the writer's queue).
        var wakeUpAt: Timestamp?
        /// The last error writing the progress file, logged once (on the writer's queue).
        var persistError: String?
        init(writer: RemoteWriter) { self.writer = writer }
    }

    /// How long after a slot ends samples stamped inside it may still be written: the longest
    /// scrape timeout (a scrape's samples carry its start time) or the log tailer's poll, plus a second.
    static func settle(scrape: [ScrapeTarget]) -> Milliseconds {
        max(scrape.map(\.timeout).max() ?? 0, 1_000) + 1_000
    }

    /// The mapping of distributions: the quantiles and window the /metrics page shows (`StoreExposition`).
    static func mapping(externalLabels: [String: String]) -> SeriesMapping {
        SeriesMapping(externalLabels: Labels(externalLabels),
                      quantiles: StoreExposition.quantiles.map { (label: "\($0.label)", q: $0.q) },
                      quantileWindow: StoreExposition.window)
    }

    init(endpoints: [RemoteWriteEndpoint], externalLabels: [String: String], settle: Milliseconds, store: SeriesStore,
         stateDir: String, logger: Logger, clock: @escaping @Sendable () -> Timestamp) {
        self.store = store
        self.stateDir = stateDir
        self.settle = settle
        self.logger = logger
        self.clock = clock
        self.mapping = Self.mapping(externalLabels: externalLabels)
        queue.sync { entries = endpoints.map(makeEntry) }
    }

    /// Where an endpoint's progress is kept: its name, made safe for a file name.
    static func progressPath(stateDir: String, name: String) -> String {
        let safe = String(name.unicodeScalars.map { scalar -> Character in
            let ok = ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_" || scalar == "."
            return ok ? Character(scalar) : "_"
        })
        // Names that differ only in unsafe characters must not share a file.
        let suffix = safe == name ? "" : "-" + RemoteWriteEndpoint.defaultName(for: name)
        return stateDir + "/remote_write-" + safe + suffix + ".progress"
    }

    /// On `queue`.
    private func makeEntry(_ endpoint: RemoteWriteEndpoint) -> Entry {
        let client = self.client ?? HTTPClient(maxConnections: 16, userAgent: "agent/\(AgentVersion.string)")
        self.client = client
        let path = Self.progressPath(stateDir: stateDir, name: endpoint.name)
        var progress: RemoteWriteProgress?
        do {
            if let bytes = try AtomicFile.read(path) { progress = try RemoteWriteProgress(decoding: bytes) }
        } catch {
            logger.error("remote_write \(endpoint.name): \(path) unreadable (\(error)); sending starts from the oldest samples the rings hold")
        }
        if let p = progress, p.url != endpoint.url {
            logger.info("remote_write \(endpoint.name): the URL changed; sending starts from the oldest samples the rings hold")
        }
        let box = EntryBox()
        let logger = self.logger
        let writer = RemoteWriter(
            endpoint: endpoint, store: store, mapping: mapping, transport: client, progress: progress, settle: settle,
            userAgent: "agent/\(AgentVersion.string)", logger: logger, clock: clock,
            onProgress: { progress in
                do {
                    try AtomicFile.write(progress.encoded, to: path)
                    box.entry?.persistError = nil
                } catch {
                    let message = "\(error)"
                    if box.entry?.persistError != message {
                        logger.error("remote_write \(endpoint.name): cannot record progress: \(message); a restart may send some samples again")
                    }
                    box.entry?.persistError = message
                }
            },
            wakeUp: { [clock] at in
                guard let entry = box.entry, entry.wakeUpAt.map({ $0 > at }) ?? true else { return }
                entry.wakeUpAt = at
                let delay = max(0, at - clock())
                entry.writer.queue.asyncAfter(deadline: .now() + .milliseconds(Int(delay))) { [weak entry] in
                    guard let entry else { return }
                    if entry.wakeUpAt == at { entry.wakeUpAt = nil }
                    entry.writer.poll()
                }
            })
        let entry = Entry(writer: writer)
        box.entry = entry
        if started { startTimer(entry) }
        return entry
    }

    /// Holds an entry weakly for the writer's closures, made before the entry exists.
    private final class EntryBox: @unchecked Sendable {
        weak var entry: Entry?
    }

    /// On `queue`: the writer's timer, started; the first poll comes at once.
    private func startTimer(_ entry: Entry) {
        let writer = entry.writer
        let interval = Int(writer.endpoint.queue.batchSendDeadline)
        let timer = DispatchSource.makeTimerSource(queue: writer.queue)
        timer.schedule(deadline: .now(), repeating: .milliseconds(interval), leeway: .milliseconds(max(1, min(interval / 10, 500))))
        timer.setEventHandler { writer.poll() }
        timer.resume()
        entry.timer = timer
    }

    /// Starts every writer's timer.
    func start() {
        queue.sync {
            started = true
            for entry in entries { startTimer(entry) }
        }
    }

    /// Stops every writer, waiting up to 5 s for requests in flight (their answers still count).
    func stop() { stop(timeout: .seconds(5)) }

    /// Stops every writer, waiting up to `timeout` for requests in flight (their answers still count).
    func stop(timeout: DispatchTimeInterval) {
        let stopping = queue.sync { () -> [Entry] in
            started = false
            return entries
        }
        for entry in stopping { entry.timer?.cancel() }
        // In parallel: each waits for its own endpoint.
        DispatchQueue.concurrentPerform(iterations: stopping.count) { stopping[$0].writer.stop(timeout: timeout) }
    }

    /// Makes `endpoints` the running set; returns what changed, by endpoint name. A changed
    /// endpoint's writer is stopped before its successor reads the progress file it leaves.
    func apply(_ endpoints: [RemoteWriteEndpoint], externalLabels: [String: String]) -> (added: [String], changed: [String], removed: [String]) {
        let next = Self.mapping(externalLabels: externalLabels)
        // Plan: which running entry each endpoint keeps (nil: a new writer), and the entries to stop.
        let (plan, retired, names) = queue.sync { () -> ([Entry?], [Entry], (added: [String], changed: [String], removed: [String])) in
            let mappingChanged = next.externalLabels != mapping.externalLabels
            var used = Set<Int>()
            var plan: [Entry?] = []
            var added: [String] = [], changed: [String] = []
            for endpoint in endpoints {
                if !mappingChanged, let i = entries.indices.first(where: { !used.contains($0) && entries[$0].writer.endpoint == endpoint }) {
                    used.insert(i)
                    plan.append(entries[i])
                    continue
                }
                plan.append(nil)
                if entries.contains(where: { $0.writer.endpoint.name == endpoint.name }) { changed.append(endpoint.name) } else { added.append(endpoint.name) }
            }
            let retired = entries.indices.filter { !used.contains($0) }.map { entries[$0] }
            let removed = retired.map(\.writer.endpoint.name).filter { name in !endpoints.contains { $0.name == name } }
            return (plan, retired, (added, changed, removed))
        }
        for entry in retired { entry.timer?.cancel() }
        DispatchQueue.concurrentPerform(iterations: retired.count) { retired[$0].writer.stop() }
        queue.sync {
            mapping = next
            entries = zip(endpoints, plan).map { endpoint, kept in kept ?? makeEntry(endpoint) }
        }
        return names
    }

    // MARK: Metrics and status

    /// The endpoints' writers, in configuration order.
    private var writers: [RemoteWriter] { queue.sync { entries.map(\.writer) } }

    /// The agent's remote-write metrics, after Prometheus's `prometheus_remote_storage_*`.
    func metrics() -> [SelfMetricFamily] {
        let all = writers.map { ($0.endpoint, $0.statistics) }
        guard !all.isEmpty else { return [] }
        let now = clock()
        func family(_ name: String, _ kind: SeriesKind, _ help: String, _ value: (RemoteWriteStats) -> [(labels: [(String, String)], value: Double)?]) -> SelfMetricFamily {
            var samples: [(labels: [(String, String)], value: Double)] = []
            for (endpoint, stats) in all {
                let identity = [("remote_name", endpoint.name), ("url", endpoint.redactedURL)]
                for case let sample? in value(stats) { samples.append((identity + sample.labels, sample.value)) }
            }
            return SelfMetricFamily(name: name, kind: kind, help: help, samples: samples)
        }
        func one(_ v: Double) -> [(labels: [(String, String)], value: Double)?] { [([], v)] }
        return [
            family("agent_remote_write_samples_sent_total", .counter, "Samples the receiver acknowledged (or refused as already stored).") { one(Double($0.samplesSent)) },
            family("agent_remote_write_samples_failed_total", .counter, "Samples in requests the receiver refused for good (4xx other than 429); not sent again.") { one(Double($0.samplesFailed)) },
            family("agent_remote_write_samples_retried_total", .counter, "Samples in requests that failed (5xx, 429, network, TLS) and were sent again.") { one(Double($0.samplesRetried)) },
            family("agent_remote_write_samples_dropped_total", .counter, "Samples not sent: dropped by write_relabel_configs, or gone from the rings before they could be sent (estimated).") {
                [([("reason", "relabel")], Double($0.samplesDroppedRelabel)), ([("reason", "retention")], Double($0.samplesDroppedRetention))]
            },
            family("agent_remote_write_bytes_sent_total", .counter, "Compressed request bytes acknowledged.") { one(Double($0.bytesSent)) },
            family("agent_remote_write_requests_total", .counter, "Requests by outcome: success, failure (dropped), retry.") {
                [([("result", "success")], Double($0.requestsSucceeded)), ([("result", "failure")], Double($0.requestsFailed)),
                 ([("result", "retry")], Double($0.requestsRetried))]
            },
            family("agent_remote_write_highest_sent_timestamp_seconds", .gauge, "Newest sample timestamp in an acknowledged request.") { stats in
                [stats.highestSentTimestamp.map { ([], Double($0) / 1000) }]
            },
            family("agent_remote_write_watermark_timestamp_seconds", .gauge, "Every sample at or before this time has been acknowledged.") { stats in
                [stats.watermark.map { ([], Double($0) / 1000) }]
            },
            family("agent_remote_write_lag_seconds", .gauge, "How far the watermark is behind the clock.") { stats in
                [stats.watermark.map { ([], Double(now - $0) / 1000) }]
            },
            family("agent_remote_write_requests_in_flight", .gauge, "Requests sent and not yet answered.") { one(Double($0.inFlight)) },
        ]
    }

    /// What `agent status` shows of each endpoint.
    func status() -> [[String: Any]] {
        let now = clock()
        return writers.map { writer in
            let s = writer.statistics
            var doc: [String: Any] = [
                "name": writer.endpoint.name, "url": writer.endpoint.redactedURL, "shards": s.shards, "in_flight": s.inFlight,
                "samples_sent": s.samplesSent, "samples_failed": s.samplesFailed, "samples_retried": s.samplesRetried,
                "samples_dropped_relabel": s.samplesDroppedRelabel, "samples_dropped_retention": s.samplesDroppedRetention,
                "bytes_sent": s.bytesSent,
            ]
            if let w = s.watermark {
                doc["watermark"] = w
                doc["lag_seconds"] = Double(now - w) / 1000
            }
            if let h = s.highestSentTimestamp { doc["highest_sent_timestamp"] = h }
            if let e = s.lastError { doc["last_error"] = e }
            if let t = s.lastErrorAt { doc["last_error_at"] = t }
            return doc
        }
    }
}
