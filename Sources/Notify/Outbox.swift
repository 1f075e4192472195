import Dispatch
public import Logging
public import TimeSeries
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The durable queue between "a notification is due" and "the receiver has it".
///
/// Model: every entry is written to the outbox directory before its first attempt — the entries
/// of one `enqueue` (one evaluation's notifications) as one segment file, durably (temp, fsync,
/// rename, fsync of the directory; see `OutboxSegment`) — and marked done only once the receiver
/// answered 2xx, the failure is permanent, or it gave up. After a crash or restart, `open()` loads
/// what is not done and sends it; each entry carries its `Idempotency-Key`, so a receiver that saw
/// a delivery whose done mark did not survive a power loss can drop the duplicate.
///
/// Delivery: entries of one lane (receiver, integration, group) go in order, one at a time, so a
/// resolution never overtakes its firing; lanes proceed in parallel up to `maxInFlight`. Outcomes,
/// as Alertmanager decides them: 2xx delivered; network errors, 408, 429 and 5xx retried with
/// exponential backoff and jitter (429 and 503 wait at least their `Retry-After`); other answers
/// are permanent failures, logged with the receiver's answer. An entry still failing `maxAge`
/// after it was created is given up, logged and counted. Failures are logged at a limited rate
/// per integration; URLs are logged redacted, secrets never.
///
/// Owner: the serial `queue` owns lanes, timers and in-flight state; public methods may be called
/// from any thread. Counters sit behind their own lock for `stats`.
public final class Outbox: @unchecked Sendable {
    /// Where and how the outbox keeps and retries entries.
    public struct Configuration: Sendable {
        /// The outbox directory (`<state_dir>/outbox`); created if missing.
        public var directory: String
        /// Give up on an entry this long after it was created.
        public var maxAge: Duration
        /// First retry delay; doubled per attempt up to `maxBackoff`, each drawn from [d/2, d].
        public var initialBackoff: Duration
        public var maxBackoff: Duration
        /// Longest `Retry-After` honoured.
        public var maxRetryAfter: Duration
        /// Requests in flight at once, over all lanes.
        public var maxInFlight: Int
        /// Entries kept at most; beyond it the oldest waiting entry is dropped (counted, logged).
        public var maxEntries: Int

        public init(
            directory: String, maxAge: Duration = .seconds(6 * 3600), initialBackoff: Duration = .seconds(1),
            maxBackoff: Duration = .seconds(300), maxRetryAfter: Duration = .seconds(3600), maxInFlight: Int = 16,
            maxEntries: Int = 10_000
        ) {
            self.directory = directory
            self.maxAge = maxAge
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.maxRetryAfter = maxRetryAfter
            self.maxInFlight = maxInFlight
            self.maxEntries = maxEntries
        }
    }

    /// Counters for the daemon's self-metrics (`agent_notifications_*`).
    public struct Stats: Sendable, Equatable {
        public var enqueued: UInt64 = 0
        public var delivered: UInt64 = 0
        public var attempts: UInt64 = 0
        public var retries: UInt64 = 0
        /// Rejected by the receiver (4xx other than 408/429) or not deliverable as configured.
        public var failedPermanently: UInt64 = 0
        /// Still failing after `maxAge`.
        public var gaveUp: UInt64 = 0
        /// Dropped because the outbox held `maxEntries`.
        public var dropped: UInt64 = 0
        /// Files that could not be read back (moved to `corrupt/`).
        public var corrupt: UInt64 = 0
        /// Entries that could not be written durably (sent from memory instead).
        public var writeErrors: UInt64 = 0
        /// Waiting or in flight now.
        public var pending: Int = 0
        public var inFlight: Int = 0
        /// Delivered per integration name (`receiver/kind[index]`).
        public var deliveredByIntegration: [String: UInt64] = [:]
        public var failedByIntegration: [String: UInt64] = [:]
    }

    struct Item {
        var entry: OutboxEntry
        var attempts = 0
        var nextAttempt: Timestamp
        var inFlight = false
        /// The segment file holding it and its index there; nil when it could not be written
        /// (it is still delivered, from memory).
        var segment: String?
        var index = 0
    }

    struct IntegrationKey: Hashable {
        var receiver: String
        var index: Int
    }

    public let configuration: Configuration
    let transport: any Transport
    let logger: Logger
    let clock: @Sendable () -> Timestamp
    let random: @Sendable (ClosedRange<Double>) -> Double
    let queue = DispatchQueue(label: "agent.notify.outbox")
    let counters = Mutex(Stats())
    let sequence = Atomic<UInt64>(0)

    // Owned by `queue`.
    var integrations: [IntegrationKey: Integration] = [:]
    var lanes: [String: [Item]] = [:]
    var laneOrder: [String] = []
    var timer: (any DispatchSourceTimer)?
    var timerDeadline: Timestamp?
    /// The timer runs (after `start`).
    var running = false
    /// No new attempts (after `stop`).
    var stopped = false
    var throttle = LogThrottle(interval: 30_000)
    /// Entries not yet done, per segment file.
    var remaining: [String: Int] = [:]

    public init(
        configuration: Configuration, integrations: [Integration], transport: any Transport, logger: Logger,
        clock: @escaping @Sendable () -> Timestamp,
        random: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) {
        self.configuration = configuration
        self.transport = transport
        self.logger = logger
        self.clock = clock
        self.random = random
        for integration in integrations {
            self.integrations[IntegrationKey(receiver: integration.receiver, index: integration.index)] = integration
        }
    }

    /// Creates the directory and loads the entries a previous run left; call once before `start`.
    /// Returns how many were loaded.
    @discardableResult
    public func open() throws(OutboxError) -> Int {
        let dir = configuration.directory
        do {
            try DurableFiles.createDirectory(dir)
            var names = try DurableFiles.list(dir)
            names.sort()
            var loaded: [(entry: OutboxEntry, segment: String, index: Int)] = []
            var counts: [String: Int] = [:]
            var maxSequence: UInt64 = 0
            for name in names {
                if name.hasPrefix(".tmp-") {
                    DurableFiles.remove(dir + "/" + name)  // an unfinished write from a crash
                    continue
                }
                guard name.hasSuffix(OutboxSegment.suffix) else { continue }
                let stem = String(name.dropLast(OutboxSegment.suffix.count))
                if let seq = UInt64(stem.dropFirst(14).prefix(10)) { maxSequence = max(maxSequence, seq) }
                let done = OutboxSegment.doneIndexes((try? DurableFiles.read(dir + "/" + stem + OutboxSegment.doneSuffix, limit: 1 << 22)) ?? [])
                var entries: [OutboxEntry?]
                do {
                    entries = try OutboxSegment.decode(try DurableFiles.read(dir + "/" + name, limit: OutboxSegment.maxBytes + OutboxEntry.maxBytes + (1 << 20)), name: stem)
                } catch {
                    entries = [nil]
                }
                let damaged = entries.enumerated().filter { $0.element == nil && !done.contains($0.offset) }.count
                if damaged > 0 {
                    try? DurableFiles.createDirectory(dir + "/corrupt")
                    if let bytes = try? DurableFiles.read(dir + "/" + name, limit: OutboxSegment.maxBytes + OutboxEntry.maxBytes + (1 << 20)) {
                        try? DurableFiles.write(bytes, directory: dir + "/corrupt", name: name)
                    }
                    counters.withLock { $0.corrupt += UInt64(damaged) }
                    logger.error("outbox segment \(name): \(damaged) damaged notifications cannot be sent; a copy is in \(dir)/corrupt")
                }
                var live = 0
                for (i, entry) in entries.enumerated() where !done.contains(i) {
                    guard let entry else { continue }
                    loaded.append((entry, stem, i))
                    live += 1
                }
                if live == 0 {
                    DurableFiles.remove(dir + "/" + name)
                    DurableFiles.remove(dir + "/" + stem + OutboxSegment.doneSuffix)
                } else {
                    counts[stem] = live
                    // Damaged entries count as done, so the segment goes once the others are delivered.
                    if damaged > 0 {
                        let marks = entries.indices.filter { entries[$0] == nil && !done.contains($0) }.map { "\($0)\n" }.joined()
                        try? DurableFiles.append(Array(marks.utf8), to: dir + "/" + stem + OutboxSegment.doneSuffix)
                    }
                }
            }
            sequence.store(maxSequence, ordering: .relaxed)
            let now = clock()
            queue.sync {
                remaining = counts
                for l in loaded { append(Item(entry: l.entry, nextAttempt: now, segment: l.segment, index: l.index)) }
            }
            counters.withLock { $0.pending += loaded.count }
            if !loaded.isEmpty { logger.info("outbox: \(loaded.count) undelivered notifications from the previous run will be sent") }
            return loaded.count
        } catch {
            throw OutboxError(message: "cannot use the outbox directory: \(error); check state_dir and its permissions")
        }
    }

    /// Starts delivering (a Dispatch timer wakes the queue when the next retry is due).
    public func start() {
        queue.async {
            self.running = true
            self.pumpOnQueue()
        }
    }

    /// Stops starting new attempts and waits up to `timeout` for those in flight. Entries stay on
    /// disk for the next run.
    public func stop(timeout: Duration = .seconds(5)) {
        queue.sync {
            running = false
            stopped = true
            timer?.cancel()
            timer = nil
            timerDeadline = nil
        }
        let deadline = ContinuousClock.now + timeout
        while counters.withLock({ $0.inFlight }) > 0, ContinuousClock.now < deadline {
            usleepMs(5)
        }
    }

    /// Replaces the integrations (after a configuration reload). Entries for integrations that no
    /// longer exist fail permanently when their turn comes.
    public func update(integrations: [Integration]) {
        queue.async {
            self.integrations = [:]
            for integration in integrations {
                self.integrations[IntegrationKey(receiver: integration.receiver, index: integration.index)] = integration
            }
            self.pumpOnQueue()
        }
    }

    /// Takes rendered entries, writes them durably as one segment (two flushes for the batch),
    /// then queues them for delivery. If the write fails they are still delivered, from memory,
    /// and the failure is logged and counted.
    public func enqueue(_ entries: [OutboxEntry]) {
        guard !entries.isEmpty else { return }
        // Segments stay well under the size `open()` reads back (a batch of large PagerDuty
        // events is split into several).
        var start = 0
        while start < entries.count {
            var end = start
            var bytes = 0
            while end < entries.count, end == start || (bytes + entries[end].payload.body.count <= OutboxSegment.maxBytes && end - start < OutboxSegment.maxEntries) {
                bytes += entries[end].payload.body.count
                end += 1
            }
            enqueueSegment(Array(entries[start..<end]))
            start = end
        }
    }

    func enqueueSegment(_ entries: [OutboxEntry]) {
        var segment: String? = entries[0].name
        do {
            try DurableFiles.write(OutboxSegment.encode(entries), directory: configuration.directory, name: segment! + OutboxSegment.suffix)
            try DurableFiles.syncDirectory(configuration.directory)
        } catch {
            logger.error("outbox: \(entries.count) notifications could not be written durably (\(error)); sending them from memory")
            segment = nil
        }
        counters.withLock {
            $0.enqueued += UInt64(entries.count)
            $0.pending += entries.count
            if segment == nil { $0.writeErrors += UInt64(entries.count) }
        }
        let now = clock()
        let written = segment
        queue.async {
            if let written { self.remaining[written] = entries.count }
            for (i, entry) in entries.enumerated() {
                self.append(Item(entry: entry, nextAttempt: now, segment: written, index: i))
            }
            self.enforceLimit()
            self.pumpOnQueue()
        }
    }

    /// A new entry name: creation time and a sequence number, sortable.
    public func nextName(createdAt: Timestamp) -> String {
        let seq = sequence.wrappingAdd(1, ordering: .relaxed).newValue
        return Outbox.pad(createdAt, 13) + "-" + Outbox.pad(Int64(seq % 10_000_000_000), 10)
    }

    /// Runs due attempts now (the timer does this; tests with a manual clock call it).
    public func pump() {
        dispatchPrecondition(condition: .notOnQueue(queue))
        queue.sync { pumpOnQueue() }
    }

    public var stats: Stats { counters.withLock { $0 } }

    /// Waits until nothing is pending (or `timeout` passes); true when empty. For tests and drains.
    public func waitUntilEmpty(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if counters.withLock({ $0.pending }) == 0 { return true }
            usleepMs(5)
        }
        return counters.withLock { $0.pending } == 0
    }

    // MARK: - On the queue

    func append(_ item: Item) {
        if lanes[item.entry.lane] == nil {
            lanes[item.entry.lane] = []
            laneOrder.append(item.entry.lane)
        }
        lanes[item.entry.lane]!.append(item)
    }

    func pumpOnQueue() {
        guard !stopped else { return }
        let now = clock()
        var inFlight = counters.withLock { $0.inFlight }
        laneOrder.removeAll { lane in
            guard lanes[lane]?.isEmpty ?? true else { return false }
            lanes[lane] = nil  // so the next entry of this lane re-registers it
            return true
        }
        for lane in laneOrder where inFlight < configuration.maxInFlight {
            guard let head = lanes[lane]?.first, !head.inFlight, head.nextAttempt <= now else { continue }
            lanes[lane]![0].inFlight = true
            inFlight += 1
            counters.withLock { $0.inFlight += 1 }
            attempt(lanes[lane]![0], lane: lane)
        }
        // After the attempts (some finish at once: files, unreadable secrets), the next wake-up.
        var nextDue: Timestamp?
        for lane in laneOrder {
            guard let head = lanes[lane]?.first, !head.inFlight else { continue }
            let due = max(head.nextAttempt, now + 1)
            nextDue = min(nextDue ?? due, due)
        }
        schedule(nextDue)
    }

    func schedule(_ due: Timestamp?) {
        guard running, let due else { return }
        if let current = timerDeadline, current <= due, timer != nil { return }
        timer?.cancel()
        let t = DispatchSource.makeTimerSource(queue: queue)
        let delay = max(0, due - clock())
        t.schedule(deadline: .now() + .milliseconds(Int(min(delay, Int64(Int32.max)))), leeway: .milliseconds(5))
        t.setEventHandler { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.timerDeadline = nil
            self.pumpOnQueue()
        }
        timer = t
        timerDeadline = due
        t.resume()
    }

    func attempt(_ item: Item, lane: String) {
        counters.withLock { $0.attempts += 1 }
        let entry = item.entry
        guard let integration = integrations[IntegrationKey(receiver: entry.receiver, index: entry.integrationIndex)],
            integration.kind == entry.kind
        else {
            finish(lane: lane, outcome: .permanent("receiver \(entry.receiver) has no \(entry.kind) integration at position \(entry.integrationIndex) any more"))
            return
        }
        switch integration.destination {
        case .stdout:
            do {
                try DurableFiles.writeAll(1, entry.payload.body, path: "standard output")
                finish(lane: lane, outcome: .delivered, integration: integration)
            } catch {
                finish(lane: lane, outcome: .retry("\(error)", after: nil), integration: integration)
            }
        case .file(let path):
            do {
                try DurableFiles.append(entry.payload.body, to: path)
                finish(lane: lane, outcome: .delivered, integration: integration)
            } catch {
                finish(lane: lane, outcome: .retry("\(error)", after: nil), integration: integration)
            }
        case .http(let endpoint):
            let request: TransportRequest
            do {
                request = try Outbox.request(for: entry, integration: integration, endpoint: endpoint)
            } catch {
                finish(lane: lane, outcome: .retry(error.message, after: nil), integration: integration)
                return
            }
            let redacted = RedactedURL.string(request.url)
            transport.send(request) { result in
                self.queue.async {
                    self.finish(lane: lane, outcome: Outbox.classify(result, url: redacted, now: self.clock()), integration: integration)
                    self.pumpOnQueue()
                }
            }
        }
    }

    /// The HTTP request for an entry: URL and body secrets resolved, headers and signature added.
    static func request(for entry: OutboxEntry, integration: Integration, endpoint: Endpoint) throws(SecretError) -> TransportRequest {
        var url = try endpoint.url.resolve()
        if !entry.payload.query.isEmpty {
            let query = entry.payload.query.sorted { $0.key < $1.key }.map { "\(percentEncode($0.key))=\(percentEncode($0.value))" }
            url += (url.contains("?") ? "&" : "?") + query.joined(separator: "&")
        }
        let body = try integration.finalBody(entry.payload.body)
        var headers: [(name: String, value: String)] = [
            ("Content-Type", entry.payload.contentType),
            ("Idempotency-Key", entry.idempotencyKey),
        ]
        if let secret = endpoint.hmacSecret {
            headers.append(("X-Signature-256", HMACSHA256.signatureHeader(key: Array(try secret.resolve().utf8), body: body)))
        }
        headers.append(contentsOf: endpoint.headers)
        return TransportRequest(url: url, headers: headers, body: body, timeout: endpoint.timeout)
    }

    enum Outcome {
        case delivered
        /// Try again: after the backoff, or not before `after` (ms) when the receiver said so.
        case retry(String, after: Int64?)
        case permanent(String)
    }

    /// Alertmanager's rule: 2xx done; 408, 429 and 5xx retry; the rest is final.
    static func classify(_ result: Result<TransportResponse, TransportError>, url: String, now: Timestamp) -> Outcome {
        switch result {
        case .failure(let error):
            return error.retryable ? .retry("\(url): \(error.message)", after: nil) : .permanent("\(url): \(error.message)")
        case .success(let response):
            let status = response.status
            if (200..<300).contains(status) { return .delivered }
            let answer = "\(url) answered \(status): \(excerpt(response.body))"
            if status == 429 || status == 503 || status == 408 || (500..<600).contains(status) {
                return .retry(answer, after: response.header("Retry-After").flatMap { RetryAfter.milliseconds($0, now: now) })
            }
            return .permanent(answer)
        }
    }

    func finish(lane: String, outcome: Outcome, integration: Integration? = nil) {
        guard var item = lanes[lane]?.first else { return }
        let now = clock()
        let name = integration?.name ?? "\(item.entry.receiver)/\(item.entry.kind)[\(item.entry.integrationIndex)]"
        counters.withLock { $0.inFlight -= 1 }
        switch outcome {
        case .delivered:
            remove(lane: lane, item)
            counters.withLock {
                $0.delivered += 1
                $0.deliveredByIntegration[name, default: 0] += 1
            }
            if let suppressed = throttle.recovered(name) {
                logger.info("notifications to \(name) are delivered again (\(suppressed) failures were not logged)")
            }
        case .permanent(let why):
            remove(lane: lane, item)
            counters.withLock {
                $0.failedPermanently += 1
                $0.failedByIntegration[name, default: 0] += 1
            }
            logger.error("notification to \(name) failed permanently and is dropped: \(why)")
        case .retry(let why, let after):
            item.attempts += 1
            item.inFlight = false
            if now - item.entry.createdAt >= configuration.maxAge.milliseconds {
                remove(lane: lane, item)
                counters.withLock {
                    $0.gaveUp += 1
                    $0.failedByIntegration[name, default: 0] += 1
                }
                logger.error("notification to \(name) given up after \(item.attempts) attempts over \(configuration.maxAge): \(why)")
                return
            }
            let delay = max(backoff(attempts: item.attempts), min(after ?? 0, configuration.maxRetryAfter.milliseconds))
            item.nextAttempt = now + delay
            lanes[lane]![0] = item
            counters.withLock { $0.retries += 1 }
            if let suppressed = throttle.allow(name, now: now) {
                let note = suppressed > 0 ? " (\(suppressed) similar messages were not logged)" : ""
                logger.warning("notification to \(name) failed, retrying in \(delay) ms (attempt \(item.attempts)): \(why)\(note)")
            }
        }
    }

    /// Exponential backoff with "equal jitter": a delay drawn from [d/2, d], d = initial × 2^(n-1) capped.
    func backoff(attempts: Int) -> Int64 {
        let initial = Double(configuration.initialBackoff.milliseconds)
        let cap = Double(configuration.maxBackoff.milliseconds)
        let d = min(cap, initial * pow2(min(attempts - 1, 40)))
        return Int64(random(d / 2...d))
    }

    func remove(lane: String, _ item: Item) {
        lanes[lane]!.removeFirst()
        markDone(item)
        counters.withLock { $0.pending -= 1 }
    }

    /// Records that an entry is finished; removes its segment when it was the last one.
    func markDone(_ item: Item) {
        guard let segment = item.segment else { return }
        let dir = configuration.directory
        let left = (remaining[segment] ?? 1) - 1
        if left <= 0 {
            remaining[segment] = nil
            DurableFiles.remove(dir + "/" + segment + OutboxSegment.suffix)
            DurableFiles.remove(dir + "/" + segment + OutboxSegment.doneSuffix)
        } else {
            remaining[segment] = left
            do {
                try DurableFiles.append(Array("\(item.index)\n".utf8), to: dir + "/" + segment + OutboxSegment.doneSuffix)
            } catch {
                logger.warning("outbox: cannot record a finished notification (\(error)); it may be sent again after a restart")
            }
        }
    }

    /// Drops the oldest waiting entries while more than `maxEntries` are held.
    func enforceLimit() {
        var total = lanes.values.reduce(0) { $0 + $1.count }
        while total > configuration.maxEntries {
            var oldest: (lane: String, created: Timestamp, index: Int)?
            for (lane, items) in lanes {
                for (i, item) in items.enumerated() where !item.inFlight {
                    if oldest == nil || item.entry.createdAt < oldest!.created { oldest = (lane, item.entry.createdAt, i) }
                    break
                }
            }
            guard let victim = oldest else { return }
            let item = lanes[victim.lane]!.remove(at: victim.index)
            markDone(item)
            counters.withLock {
                $0.dropped += 1
                $0.pending -= 1
            }
            logger.error("outbox holds \(configuration.maxEntries) notifications; dropped the oldest, for \(item.entry.receiver)")
            total -= 1
        }
    }

    static func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(512), as: UTF8.self)
        let cleaned = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 ? " " : $0 }))
        return cleaned.isEmpty ? "(empty body)" : cleaned + (body.count > 512 ? "…" : "")
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if Matcher.isNameByte(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "~") {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "%" + Hex.bytes([b]).uppercased()
            }
        }
        return out
    }
}

/// The outbox directory cannot be used.
public struct OutboxError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

func pow2(_ n: Int) -> Double {
    var r = 1.0
    for _ in 0..<max(0, n) { r *= 2 }
    return r
}

func usleepMs(_ ms: Int) {
    var ts = timespec(tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000)
    nanosleep(&ts, nil)
}
