public import Dispatch
public import Ingest
public import Logging
public import TimeSeries

/// Sends HTTP requests: the agent's libcurl client in production, a double in tests.
/// `completion` is called exactly once, on any thread.
public protocol RemoteWriteTransport: Sendable {
    func send(_ request: HTTPRequest, completion: @escaping @Sendable (Result<HTTPResponse, HTTPError>) -> Void)
}

extension HTTPClient: RemoteWriteTransport {
    public func send(_ request: HTTPRequest, completion: @escaping @Sendable (Result<HTTPResponse, HTTPError>) -> Void) {
        start(request, completion: completion)
    }
}

/// How the store's series become remote-write series; the same for every endpoint.
public struct SeriesMapping: Sendable {
    /// `global.external_labels`, added to every series that lacks the label (never overriding).
    public var externalLabels: Labels
    /// The quantiles sent for each distribution slot, with their `quantile` label values.
    public var quantiles: [(label: String, q: Double)]
    /// The window those quantiles cover, ending at the slot's newest observation.
    public var quantileWindow: Milliseconds

    public init(externalLabels: Labels, quantiles: [(label: String, q: Double)], quantileWindow: Milliseconds) {
        self.externalLabels = externalLabels
        self.quantiles = quantiles
        self.quantileWindow = quantileWindow
    }
}

/// Sends the store's series to one remote-write endpoint, reading them from the rings: there is
/// no queue of samples, only a position in time (`RemoteWriteProgress`).
///
/// The model (see `RemoteWriteProgress` for the rounds and cursors):
/// - A round covers `(watermark, through]`, where `through` ends a slot that closed at least
///   `settle` ago (so every sample stamped inside it has been written: a scrape's samples arrive up
///   to its timeout after their timestamp) and lies at most `maxSpan` after the watermark (so one
///   series' samples of a round always fit one request). Rounds start every
///   `batch_send_deadline`, or at once while catching up after an outage.
/// - Each shard walks its series in hash order, reading up to `max_samples_per_send` samples per
///   request from the rings with the store's lock held for that request only; the request is
///   encoded and compressed after the lock is released.
/// - A 2xx moves the shard's cursor and the progress is persisted (`onProgress`), so that a crash
///   or `kill -9` resends nothing the receiver acknowledged. 5xx, 429 and network errors retry the
///   same request after a backoff doubling from `min_backoff` to `max_backoff`, for as long as it
///   takes; meanwhile the rings keep the newer samples. Another 4xx drops the request (counted as
///   failed), unless it says the samples are out of order or duplicates: then the receiver already
///   has them (a resend after a crash), and they count as sent.
/// - A series' samples are read from its finest ring only; those that left it before they could be
///   sent (an outage longer than the retention) are counted as dropped.
///
/// Ownership: every mutable property belongs to `queue` (serial). `poll()` runs there; the
/// transport's completions are moved there.
public final class RemoteWriter: @unchecked Sendable {
    /// The endpoint's settings.
    public let endpoint: RemoteWriteEndpoint
    /// The queue that owns this writer's state.
    public let queue: DispatchQueue
    let store: SeriesStore
    let mapping: SeriesMapping
    let transport: any RemoteWriteTransport
    let clock: @Sendable () -> Timestamp
    let settle: Milliseconds
    let userAgent: String
    let logger: Logger
    let onProgress: (RemoteWriteProgress) -> Void
    let wakeUp: (Timestamp) -> Void
    /// The fine ring's slot width and length: rounds are cut at its slot boundaries.
    let resolution: Milliseconds
    let ringSlots: Int64
    /// Longest round: one series' samples of a round fit one request.
    let maxSpan: Milliseconds

    // State owned by `queue`.
    var progress: RemoteWriteProgress
    var shards: [Shard]
    /// The round's series of each shard, in hash order; built when a round starts or resumes.
    var members: [[Member]]?
    /// Per series, the newest sample time acknowledged (or dropped for good): the next round reads
    /// the series from there, so a sample written later than the settle delay allows (a slow
    /// scrape, a log line read late), though older than the watermark, is still sent, in order.
    /// `Timestamp.min` stands for "through the watermark" (series the store held at start-up,
    /// before anything was sent in this process). A series not here at all is new since the last
    /// round: all its samples the fine ring holds are sent, however old (a log read from its
    /// beginning, a target's own timestamps).
    var sentThrough: [SeriesRef: Timestamp]?
    var stats = RemoteWriteStats()
    var stopped = false
    let encoder = WriteRequestEncoder(capacity: 16 * 1024)
    var pending = PendingBatch()
    let inFlight = DispatchGroup()
    var errorLog = ErrorLog()

    /// A series of the round: its stable label hash (the sending order) and its handle.
    struct Member {
        var hash: UInt64
        var ref: SeriesRef
    }

    /// One shard: a hash range of series, sent in order, one request at a time.
    struct Shard {
        let range: ClosedRange<UInt64>
        /// Index into the shard's members of the next series to read.
        var next = 0
        var finished = false
        var sending = false
        /// A request waiting to be sent again, and when.
        var retry: Batch?
        var retryAt: Timestamp = 0
        var backoff: Milliseconds = 0
        /// Bumped whenever the shard's round is abandoned, so a late completion is recognised.
        var generation = 0
    }

    /// A request: its compressed body and what acknowledging it means.
    struct Batch {
        var body: [UInt8]
        var samples: Int
        /// Hash of the last series it covers, and the index after it.
        var lastHash: UInt64
        var nextIndex: Int
        var newest: Timestamp
        var droppedRetention: Int
        var droppedRelabel: Int
        /// The newest sample time of each series it carries.
        var covered: [(SeriesRef, Timestamp)]
    }

    /// A writer for `endpoint`, resuming from `progress` (nil: nothing sent yet).
    /// - Parameters:
    ///   - settle: how long after a slot ends it may still receive samples (the longest scrape
    ///     timeout, the log tailer's poll): rounds stop that far behind the clock.
    ///   - onProgress: persists the progress; called on `queue` after each acknowledged request.
    ///   - wakeUp: asks for `poll()` at a time (a retry's); called on `queue`.
    public init(endpoint: RemoteWriteEndpoint, store: SeriesStore, mapping: SeriesMapping, transport: any RemoteWriteTransport,
                progress: RemoteWriteProgress?, settle: Milliseconds, userAgent: String, logger: Logger,
                clock: @escaping @Sendable () -> Timestamp, queue: DispatchQueue? = nil,
                onProgress: @escaping (RemoteWriteProgress) -> Void, wakeUp: @escaping (Timestamp) -> Void) {
        self.endpoint = endpoint
        self.store = store
        self.mapping = mapping
        self.transport = transport
        self.settle = settle
        self.userAgent = userAgent
        self.logger = logger
        self.clock = clock
        self.queue = queue ?? DispatchQueue(label: "agent.remote-write.\(endpoint.name)")
        self.onProgress = onProgress
        self.wakeUp = wakeUp
        resolution = store.config.resolution
        ringSlots = store.config.retention / store.config.resolution
        let perSlot = 2 + mapping.quantiles.count  // a distribution slot's samples: _count, _sum, quantiles
        maxSpan = resolution * Int64(max(1, endpoint.queue.maxSamplesPerSend / perSlot - 1))
        let count = max(1, endpoint.queue.maxShards)
        shards = (0..<count).map { Shard(range: RemoteWriter.hashRange(shard: $0, of: count)) }
        var resumed = progress ?? RemoteWriteProgress(url: endpoint.url, cursors: [])
        if resumed.url != endpoint.url { resumed = RemoteWriteProgress(url: endpoint.url, cursors: []) }
        if resumed.cursors.count != count {
            // Another shard layout: the cursors mean nothing for it; resume at the round's start.
            // What that round had sent goes again: Prometheus-like receivers refuse it as out of
            // order (counted as sent), VictoriaMetrics keeps it twice (docs/remote_write.md).
            resumed.cursors = Array(repeating: nil, count: count)
        }
        self.progress = resumed
        stats.watermark = resumed.watermark
        stats.shards = count
    }

    /// Shard `i` of `count`: an equal slice of the 64-bit hash space.
    static func hashRange(shard i: Int, of count: Int) -> ClosedRange<UInt64> {
        let width = UInt64.max / UInt64(count)
        let lower = UInt64(i) * width + (i == 0 ? 0 : UInt64(i))
        let upper = i == count - 1 ? UInt64.max : UInt64(i + 1) * width + UInt64(i)
        return lower...upper
    }

    /// The progress now (for tests and shutdown).
    public var currentProgress: RemoteWriteProgress { queue.sync { progress } }

    /// What the endpoint has done so far.
    public var statistics: RemoteWriteStats { queue.sync { stats } }

    /// Sends what is due: starts a round when one is due, a request on each idle shard, a retry
    /// whose time has come. Call on `queue` (a timer every `batch_send_deadline`, and `wakeUp`).
    public func poll() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !stopped else { return }
        // Rounds that complete without a request (nothing new in them) follow one another here;
        // bounded, so a long idle stretch is crossed over a few calls rather than in one.
        for _ in 0..<64 {
            let now = clock()
            if progress.round == nil {
                guard startRound(now: now) else { return }
            }
            if members == nil { loadMembers() }
            for i in shards.indices where !shards[i].finished && !shards[i].sending {
                if let retry = shards[i].retry {
                    if now >= shards[i].retryAt { transmit(retry, shard: i) } else { wakeUp(shards[i].retryAt) }
                    continue
                }
                while true {
                    guard let batch = nextBatch(shard: i) else {
                        shards[i].finished = true
                        break
                    }
                    guard batch.body.isEmpty else {
                        transmit(batch, shard: i)
                        break
                    }
                    // Series with nothing to send (or all dropped by relabelling): done, no request.
                    acknowledge(batch, shard: i, sent: false, persist: batch.droppedRelabel > 0 || batch.droppedRetention > 0)
                }
            }
            guard shards.allSatisfy(\.finished) else { return }
            let capped = completeRound(now: now)
            // The next round at once only while catching up (this one was cut at maxSpan); else at the next tick.
            guard capped else { return }
        }
    }

    /// The end of the newest round that may start at `now`: the last millisecond of the last slot
    /// that ended at least `settle` ago.
    func roundEnd(now: Timestamp) -> Timestamp {
        let t = now - settle
        let slot = t >= 0 ? t / resolution : (t - resolution + 1) / resolution
        return slot * resolution - 1
    }

    /// Starts the next round when one is due; false when there is nothing new to send.
    private func startRound(now: Timestamp) -> Bool {
        let end = roundEnd(now: now)
        // The very first round starts as far back as the fine ring reaches.
        let from = progress.watermark ?? (end - resolution * ringSlots)
        guard end > from else { return false }
        progress.round = .init(from: from, through: min(end, from + maxSpan))
        progress.cursors = Array(repeating: nil, count: shards.count)
        members = nil
        for i in shards.indices { shards[i] = Shard(range: shards[i].range, generation: shards[i].generation + 1) }
        return true
    }

    /// The round's series of each shard in hash order, skipping those a shard's cursor says are done.
    private func loadMembers() {
        var lists = Array(repeating: [Member](), count: shards.count)
        let count = UInt64(shards.count)
        let width = UInt64.max / count
        store.read { reader in
            let all = reader.allSeries()
            if sentThrough == nil {
                // Series without a sample yet (made by a log line's mapping before its value) are
                // new: whatever they get, however old, is sent.
                sentThrough = Dictionary(uniqueKeysWithValues: all.filter { reader.latest(of: $0) != nil }.map { ($0, Timestamp.min) })
            }
            for ref in all {
                guard let labels = reader.labels(of: ref) else { continue }
                let hash = labels.stableHash
                var i = Int(min(hash / max(width, 1), count - 1))
                // The slices' edges: hashRange makes each shard end just past width·(i+1).
                while i > 0 && hash < shards[i].range.lowerBound { i -= 1 }
                while i < shards.count - 1 && hash > shards[i].range.upperBound { i += 1 }
                lists[i].append(Member(hash: hash, ref: ref))
            }
        }
        for i in lists.indices {
            lists[i].sort { $0.hash < $1.hash }
            if let cursor = progress.cursors[i] {
                shards[i].next = lists[i].firstIndex { $0.hash > cursor } ?? lists[i].count
            }
        }
        members = lists
    }

    /// Every shard is through: the watermark moves to the round's end. Returns whether more was
    /// due than the round covered (it was cut at `maxSpan`: the writer is catching up).
    private func completeRound(now: Timestamp) -> Bool {
        guard let round = progress.round else { return false }
        progress.watermark = round.through
        progress.round = nil
        progress.cursors = Array(repeating: nil, count: shards.count)
        // Series that have expired leave the map now and then (not every round: rebuilding it costs
        // an allocation per series); a handle is never reused, so a stale entry is only memory.
        let roundSeries = members?.reduce(0) { $0 + $1.count } ?? 0
        if let sent = sentThrough, sent.count > roundSeries + roundSeries / 4 + 64 {
            var kept: [SeriesRef: Timestamp] = [:]
            kept.reserveCapacity(roundSeries)
            for list in members ?? [] {
                for member in list { if let t = sent[member.ref] { kept[member.ref] = t } }
            }
            sentThrough = kept
        }
        members = nil
        stats.watermark = round.through
        onProgress(progress)
        return round.through - round.from >= maxSpan && roundEnd(now: now) > round.through
    }

    // MARK: Requests

    /// Sends `batch` for shard `i`.
    private func transmit(_ batch: Batch, shard i: Int) {
        shards[i].sending = true
        shards[i].retry = nil
        stats.inFlight += 1
        var headers = endpoint.headers
        headers.append(HTTPHeader("Content-Encoding", "snappy"))
        headers.append(HTTPHeader("Content-Type", "application/x-protobuf"))
        headers.append(HTTPHeader("X-Prometheus-Remote-Write-Version", "0.1.0"))
        headers.append(HTTPHeader("User-Agent", userAgent))
        let request = HTTPRequest(
            url: endpoint.url, method: "POST", headers: headers, body: batch.body, timeoutMilliseconds: Int(endpoint.timeout),
            bodyLimit: 1 << 20, maxRedirects: 0, acceptGzip: false, tls: endpoint.tls, authorization: endpoint.authorization)
        let generation = shards[i].generation
        inFlight.enter()
        transport.send(request) { [self] result in
            queue.async {
                self.finish(batch, shard: i, generation: generation, result: result)
                self.inFlight.leave()
            }
        }
    }

    private func finish(_ batch: Batch, shard i: Int, generation: Int, result: Result<HTTPResponse, HTTPError>) {
        stats.inFlight -= 1
        guard shards[i].generation == generation else { return }
        shards[i].sending = false
        let now = clock()
        switch result {
        case .success(let response) where (200..<300).contains(response.status):
            acknowledge(batch, shard: i, sent: true)
            if let suppressed = errorLog.recovered() {
                logger.info("remote_write \(endpoint.name): sending again\(suppressed > 0 ? " (\(suppressed) similar errors not logged)" : "")")
            }
        case .success(let response) where response.status == 429 && endpoint.queue.retryOnHTTP429, .success(let response) where response.status >= 500:
            retry(batch, shard: i, now: now, error: "HTTP \(HTTPResponse.statusText(response.status)): \(excerpt(response.body))")
        case .success(let response) where Self.saysAlreadyStored(response):
            // A resend after a crash: the receiver has these samples.
            stats.samplesRefusedAsStored += batch.samples
            note("HTTP \(HTTPResponse.statusText(response.status)), counted as sent (the receiver already holds these samples): \(excerpt(response.body))", now: now)
            acknowledge(batch, shard: i, sent: true)
        case .success(let response):
            stats.samplesFailed += batch.samples
            stats.requestsFailed += 1
            let error = "HTTP \(HTTPResponse.statusText(response.status)), \(batch.samples) samples dropped: \(excerpt(response.body))"
            stats.lastError = error
            stats.lastErrorAt = now
            note(error, now: now)
            acknowledge(batch, shard: i, sent: false)
        case .failure(let error):
            retry(batch, shard: i, now: now, error: error.message)
        }
        poll()
    }

    /// The request's series are done: move the shard's cursor and persist it.
    private func acknowledge(_ batch: Batch, shard i: Int, sent: Bool, persist: Bool = true) {
        if sent {
            stats.samplesSent += batch.samples
            stats.bytesSent += batch.body.count
            stats.requestsSucceeded += 1
            if batch.samples > 0 { stats.highestSentTimestamp = max(stats.highestSentTimestamp ?? .min, batch.newest) }
        }
        stats.samplesDroppedRelabel += batch.droppedRelabel
        stats.samplesDroppedRetention += batch.droppedRetention
        shards[i].backoff = 0
        if var sent = sentThrough {
            sentThrough = nil  // one owner while it changes: no copy
            for (ref, newest) in batch.covered { sent[ref] = max(sent[ref] ?? .min, newest) }
            sentThrough = sent
        }
        shards[i].next = batch.nextIndex
        progress.cursors[i] = batch.lastHash
        if persist { onProgress(progress) }
    }

    private func retry(_ batch: Batch, shard i: Int, now: Timestamp, error: String) {
        stats.samplesRetried += batch.samples
        stats.requestsRetried += 1
        stats.lastError = error
        stats.lastErrorAt = now
        let q = endpoint.queue
        shards[i].backoff = shards[i].backoff == 0 ? q.minBackoff : min(q.maxBackoff, shards[i].backoff * 2)
        shards[i].retry = batch
        shards[i].retryAt = now + shards[i].backoff
        note("\(error); retrying (\(batch.samples) samples wait in the rings)", now: now)
        wakeUp(shards[i].retryAt)
    }

    /// Prometheus answers 400 "out of order sample" / "duplicate sample for timestamp" (and
    /// Mimir, Thanos, Cortex similar words) when it already holds what a resend carries.
    static func saysAlreadyStored(_ response: HTTPResponse) -> Bool {
        guard (400..<500).contains(response.status) else { return false }
        let text = String(decoding: response.body.prefix(4096), as: UTF8.self).lowercased()
        return ["out of order", "out-of-order", "duplicate sample", "sample-out-of-order", "duplicate-sample"].contains { text.contains($0) }
    }

    private func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingWhitespace
        return text.isEmpty ? "(empty body)" : text + (body.count > 200 ? "…" : "")
    }

    /// Logs an error at a bounded rate: a new kind of error at once, the same one at most once a minute.
    private func note(_ message: String, now: Timestamp) {
        if let suppressed = errorLog.allow(message, now: now) {
            logger.warning("remote_write \(endpoint.name) (\(endpoint.redactedURL)): \(message)\(suppressed > 0 ? " (\(suppressed) similar messages not logged)" : "")")
        }
    }

    /// Stops sending; waits up to `timeout` for requests in flight, whose answers still count.
    public func stop(timeout: DispatchTimeInterval = .seconds(5)) {
        queue.sync { stopped = true }
        _ = inFlight.wait(timeout: .now() + timeout)
    }
}

/// Bounds the rate of a writer's error messages: the first of a kind at once, then at most one a
/// minute with the number left out; the kind is the message without its digits.
struct ErrorLog {
    var lastKind: String?
    var lastLoggedAt: Timestamp = .min
    var suppressed = 0
    static let interval: Milliseconds = 60_000

    /// The number of messages left out since the last one logged, when this one may be logged.
    mutating func allow(_ message: String, now: Timestamp) -> Int? {
        let kind = String(message.unicodeScalars.filter { !("0"..."9").contains($0) }.prefix(80))
        if kind == lastKind && now - lastLoggedAt < Self.interval {
            suppressed += 1
            return nil
        }
        lastKind = kind
        lastLoggedAt = now
        defer { suppressed = 0 }
        return suppressed
    }

    /// After errors, a success: the messages left out, once.
    mutating func recovered() -> Int? {
        guard lastKind != nil else { return nil }
        defer {
            lastKind = nil
            suppressed = 0
        }
        return suppressed
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
