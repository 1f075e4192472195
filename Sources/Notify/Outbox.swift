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
/// of one `enqueue` (one evaluation's notifications) as one segment file with the notification-log
/// records of the notifications they carry, durably (temp, fsync, rename, fsync of the directory;
/// see `OutboxSegment`) — and marked done once the receiver answered 2xx, refused it, or it was
/// given up. A finished segment is removed at once, its records appended to the journal (see
/// `OutboxJournal`), which a state snapshot (`OutboxState`) compacts now and then. After a crash or
/// restart, `open()` loads what is not done and sends it, and hands the notifier the records, so a
/// notification the outbox holds, or delivered, is never made again under another key. Each entry carries its `Idempotency-Key`, derived from what it says (see
/// `Notifier.integrationKey`), so a receiver that saw a delivery whose done mark did not survive a
/// crash can drop the duplicate.
///
/// Delivery: entries of one lane (integration, group) go in order, one at a time, so a resolution
/// never overtakes its firing; lanes proceed in parallel up to `maxInFlight`. Outcomes, as
/// Alertmanager decides them: 2xx delivered; network errors, 408, 429 and 5xx retried with
/// exponential backoff and jitter (429 and 503 wait at least their `Retry-After`); other answers
/// are refusals: counted by reason, shown by `integrationStatus()`, logged with the service's
/// answer quoted. An entry still failing `maxAge` after it was created is given up. A notification
/// that did not reach an integration (refused, given up, dropped) makes the resolutions of its
/// firing alerts be withheld from that integration (see `FiringLedger`): nobody hears "resolved"
/// about an alert they never saw fire.
///
/// Integrations are found by identity (see `IntegrationTable.resolve`), so a reload that reorders,
/// edits or renames them keeps their pending entries; entries of receivers a reload removed are
/// dropped and counted.
///
/// Owners: the serial `queue` owns lanes, timers, in-flight state and the integrations; the serial
/// `writer` queue owns the files (segments and their fsyncs, done marks, the journal, the state
/// snapshot), so no caller ever waits for a disk flush. `counters`, `ledger` and `journal` sit
/// behind their own locks. Public methods may be called from any thread.
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
        /// How long `drain` (SIGTERM) keeps delivering before it stops; what is left stays on disk.
        public var drainTimeout: Duration
        /// Finished segments are removed, after a state snapshot, at most this often.
        public var snapshotInterval: Duration

        public init(
            directory: String, maxAge: Duration = .seconds(6 * 3600), initialBackoff: Duration = .seconds(1),
            maxBackoff: Duration = .seconds(300), maxRetryAfter: Duration = .seconds(3600), maxInFlight: Int = 16,
            maxEntries: Int = 10_000, drainTimeout: Duration = .seconds(10), snapshotInterval: Duration = .seconds(5)
        ) {
            self.directory = directory
            self.maxAge = maxAge
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.maxRetryAfter = maxRetryAfter
            self.maxInFlight = maxInFlight
            self.maxEntries = maxEntries
            self.drainTimeout = drainTimeout
            self.snapshotInterval = snapshotInterval
        }
    }

    /// Counters for the daemon's self-metrics (`agent_notifications_*`).
    public struct Stats: Sendable, Equatable {
        public var enqueued: UInt64 = 0
        public var delivered: UInt64 = 0
        public var attempts: UInt64 = 0
        public var retries: UInt64 = 0
        /// Refused by the service (4xx other than 408/429, a redirect) or not deliverable as configured.
        public var failedPermanently: UInt64 = 0
        /// Still failing after `maxAge`.
        public var gaveUp: UInt64 = 0
        /// Dropped because the outbox held `maxEntries`.
        public var dropped: UInt64 = 0
        /// Dropped because a reload (or the configuration at start) no longer has their integration.
        public var removed: UInt64 = 0
        /// Entries not sent because every alert they announced was a withheld resolution.
        public var withheld: UInt64 = 0
        /// Files that could not be read back (moved to `corrupt/`).
        public var corrupt: UInt64 = 0
        /// Entries that could not be written durably (sent from memory instead).
        public var writeErrors: UInt64 = 0
        /// State snapshots that could not be written.
        public var snapshotErrors: UInt64 = 0
        /// Waiting or in flight now.
        public var pending: Int = 0
        public var inFlight: Int = 0
        /// Delivered per integration name (`receiver/kind[index]`).
        public var deliveredByIntegration: [String: UInt64] = [:]
        public var failedByIntegration: [String: UInt64] = [:]
        /// Per integration name: refusals, withheld resolutions, the last refusal.
        public var integrations: [String: IntegrationStatus] = [:]
    }

    /// What one integration refused, and what was withheld from it as a consequence.
    public struct IntegrationStatus: Sendable, Equatable {
        public var receiver: String
        /// `kind[index]`.
        public var integration: String
        public var delivered: UInt64 = 0
        /// Refusals by reason (`status_400`, `request_error`, …).
        public var refused: [String: UInt64] = [:]
        /// Resolutions (alerts) not sent because their firing had not reached it.
        public var withheldResolutions: UInt64 = 0
        public var lastRefusal: Refusal?
        /// Entries waiting for it now (filled by `integrationStatus()`).
        public var pending: Int = 0
        /// Alerts whose firing it refused (or that was given up or dropped) and whose resolution it
        /// will not be sent, from the durable ledger: unlike the counts above it survives restarts.
        public var unheardFirings: Int = 0
    }

    /// A service's permanent "no".
    public struct Refusal: Sendable, Equatable {
        public var at: Timestamp
        /// The HTTP status, or nil when the request could not be made.
        public var status: Int?
        /// `status_<code>` or `request_error`.
        public var reason: String
        /// The service's answer, quoted, at most `Outbox.quoteLimit` characters, URLs and secrets redacted.
        public var answer: String
    }

    /// One notification's entries and its notification-log record, written in the same file.
    public struct Notice: Sendable {
        public var record: LogRecord?
        public var entries: [OutboxEntry]
        public init(record: LogRecord?, entries: [OutboxEntry]) {
            self.record = record
            self.entries = entries
        }
    }

    struct Item {
        /// Unique in this process (lanes are rebuilt on reload; completions find their item by it).
        let id: UInt64
        var entry: OutboxEntry
        /// `FiringLedger.lane(integration name, group key)`.
        var lane: String
        /// The integration's name in `table`.
        var integration: String
        var attempts = 0
        var nextAttempt: Timestamp
        /// Not before this (the service's `Retry-After`), even when draining.
        var notBefore: Timestamp?
        var inFlight = false
        /// The segment file holding it and its index there; nil when it could not be written
        /// (it is still delivered, from memory).
        var segment: String?
        var index = 0
    }

    public let configuration: Configuration
    let transport: any Transport
    let logger: Logger
    let clock: @Sendable () -> Timestamp
    let random: @Sendable (ClosedRange<Double>) -> Double
    let queue = DispatchQueue(label: "agent.notify.outbox")
    let writer = DispatchQueue(label: "agent.notify.outbox.writer")
    let counters = Mutex(Stats())
    let ledger = Mutex(FiringLedger())
    /// The last record of each group (`groupKey \u{1} receiver`) whose notification the outbox
    /// holds durably (or held: delivered ones stay).
    let journal = Mutex([String: LogRecord]())
    /// Journal frames of ledger events noted on `queue`, waiting for the writer's next batch.
    let pendingEvents = Mutex<[UInt8]>([])
    /// Done marks (`.done` lines) per segment, waiting for the writer's next batch.
    let pendingDone = Mutex<[String: String]>([:])
    let sequence = Atomic<UInt64>(0)

    // Owned by `queue`.
    var table: IntegrationTable
    var lanes: [String: [Item]] = [:]
    var laneOrder: [String] = []
    var inFlightLane: [UInt64: String] = [:]
    var nextItemID: UInt64 = 0
    var timer: (any DispatchSourceTimer)?
    var timerDeadline: Timestamp?
    /// The timer runs (after `start`).
    var running = false
    /// No new attempts (after `stop`).
    var stopped = false
    /// `drain` is under way: waiting entries are tried at once, retries come quickly.
    var drainUntil: Timestamp?
    var throttle = LogThrottle(interval: 30_000)
    /// Entries not yet done, per segment file.
    var remaining: [String: Int] = [:]

    // Owned by `writer`.
    /// The log records of each segment on disk, journaled when the segment is finished.
    var segmentRecords: [String: [LogRecord]] = [:]
    /// Bytes appended to the journal since the last snapshot.
    var journalBytes = 0
    /// The journal had appends since its last fsync.
    var journalUnsynced = false
    /// Events waiting for the next journal write, and the segments it finishes.
    var journalBuffer: [UInt8] = []
    var finishedSegments: [String] = []
    var journalFlushScheduled = false
    var snapshotScheduled = false
    /// The state changed in a way the journal does not record (a reload renamed lanes, records
    /// were imported from a checkpoint, an append failed).
    var stateDirty = false

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
        table = IntegrationTable(integrations)
    }

    /// Starts delivering (a Dispatch timer wakes the queue when the next retry is due).
    public func start() {
        queue.async {
            self.running = true
            self.pumpOnQueue()
        }
    }

    /// Stops starting new attempts, waits up to `timeout` for those in flight, and writes what the
    /// journal buffers. Everything enqueued before is on disk when it returns; undelivered entries
    /// stay there for the next run.
    public func stop(timeout: Duration = .seconds(5)) {
        writer.sync {}
        queue.sync {
            running = false
            stopped = true
            drainUntil = nil
            timer?.cancel()
            timer = nil
            timerDeadline = nil
        }
        let deadline = ContinuousClock.now + timeout
        while counters.withLock({ $0.inFlight }) > 0, ContinuousClock.now < deadline {
            usleepMs(5)
        }
        writer.sync { flushOnWriter() }
    }

    /// What `drain` did.
    public struct DrainResult: Sendable, Equatable {
        public var delivered: UInt64
        /// Still undelivered, on disk for the next start.
        public var left: Int
    }

    /// SIGTERM: delivers what is pending for up to `timeout` (default `drainTimeout`) — waiting
    /// entries are tried at once, retries follow within half a second, a `Retry-After` is still
    /// honoured — then stops as `stop` does. It returns early when everything is delivered, or when
    /// nothing is left that could be tried before the deadline.
    @discardableResult
    public func drain(timeout: Duration? = nil) -> DrainResult {
        let limit = timeout ?? configuration.drainTimeout
        let deliveredBefore = counters.withLock { $0.delivered }
        writer.sync {}
        queue.sync {
            let now = clock()
            drainUntil = now + limit.milliseconds
            for lane in laneOrder {
                guard let head = lanes[lane]?.first, !head.inFlight, head.nextAttempt > now else { continue }
                if let notBefore = head.notBefore, notBefore > now { continue }
                lanes[lane]![0].nextAttempt = now
            }
            pumpOnQueue()
        }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if counters.withLock({ $0.pending }) == 0 { break }
            if !queue.sync(execute: { drainHasWork() }) { break }
            usleepMs(5)
        }
        stop(timeout: .zero)
        let s = stats
        return DrainResult(delivered: s.delivered - deliveredBefore, left: s.pending)
    }

    /// Replaces the integrations (after a configuration reload). Pending entries follow their
    /// integration by identity; those of integrations that no longer exist are dropped and counted.
    public func update(integrations: [Integration]) {
        queue.async {
            let old = self.table
            self.table = IntegrationTable(integrations)
            var mapping: [String: String?] = [:]
            for i in old.all {
                let now = self.table.resolve(i.identity)
                if now?.name != i.name { mapping[i.name] = now?.name }
            }
            if !mapping.isEmpty {
                self.ledger.withLock { $0.rename(mapping) }
                self.writer.async {
                    self.stateDirty = true
                    self.scheduleSnapshot()
                }
            }
            self.rebuildLanes(why: "the configuration no longer has them")
            self.throttle.retain(Set(self.table.byID.keys))
            self.pumpOnQueue()
        }
    }

    /// Takes rendered entries without log records (tests, tools), each as its own notification.
    public func enqueue(_ entries: [OutboxEntry]) {
        enqueue(notices: entries.map { Notice(record: nil, entries: [$0]) })
    }

    /// Takes the notifications of one round: each one's entries and record are written durably in
    /// one segment (two flushes per segment, on the writer queue, not the caller's), then queued
    /// for delivery. If the write fails they are still delivered, from memory, and the failure is
    /// logged and counted.
    public func enqueue(notices: [Notice]) {
        let count = notices.reduce(0) { $0 + $1.entries.count }
        guard count > 0 || notices.contains(where: { $0.record != nil }) else { return }
        counters.withLock {
            $0.enqueued += UInt64(count)
            $0.pending += count
        }
        // Segments stay well under the size `open()` reads back; a notification is never split.
        var batches: [[Notice]] = [[]]
        var bytes = 0, entries = 0
        for notice in notices {
            let size = notice.entries.reduce(0) { $0 + $1.payload.body.count }
            if !batches[batches.count - 1].isEmpty,
                bytes + size > OutboxSegment.maxBytes || entries + notice.entries.count > OutboxSegment.maxEntries
            {
                batches.append([])
                bytes = 0
                entries = 0
            }
            batches[batches.count - 1].append(notice)
            bytes += size
            entries += notice.entries.count
        }
        let now = clock()
        let segments = batches
        writer.async {
            for batch in segments { self.writeSegment(batch, now: now) }
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
        writer.sync {}
        queue.sync { pumpOnQueue() }
    }

    public var stats: Stats { counters.withLock { $0 } }

    /// Per integration: deliveries, refusals and the last one, withheld resolutions, entries
    /// waiting — for `agent status`. Integrations of the configuration in force, then any other
    /// that has counts.
    public func integrationStatus() -> [IntegrationStatus] {
        let (configured, pending) = queue.sync { () -> ([Integration], [String: Int]) in
            var pending: [String: Int] = [:]
            for items in lanes.values {
                for item in items { pending[item.integration, default: 0] += 1 }
            }
            return (table.all, pending)
        }
        let known = counters.withLock { $0.integrations }
        let unheard = ledger.withLock { l -> [String: Int] in
            var byIntegration: [String: Int] = [:]
            for (lane, entry) in l.lanes where !entry.refused.isEmpty {
                guard let sep = lane.firstIndex(of: "\u{1}") else { continue }
                byIntegration[String(lane[..<sep]), default: 0] += entry.refused.count
            }
            return byIntegration
        }
        var out: [IntegrationStatus] = []
        var seen = Set<String>()
        for i in configured {
            var s = known[i.name] ?? IntegrationStatus(receiver: i.receiver, integration: "\(i.kind)[\(i.kindIndex)]")
            s.pending = pending[i.name] ?? 0
            s.unheardFirings = unheard[i.name] ?? 0
            out.append(s)
            seen.insert(i.name)
        }
        for (name, s) in known.sorted(by: { $0.key < $1.key }) where !seen.contains(name) {
            var copy = s
            copy.pending = pending[name] ?? 0
            copy.unheardFirings = unheard[name] ?? 0
            out.append(copy)
        }
        return out
    }

    /// The notification log as the outbox holds it durably: one record per group and receiver.
    public func journalRecords() -> [LogRecord] {
        journal.withLock { Array($0.values) }.sorted { ($0.groupKey, $0.receiver) < ($1.groupKey, $1.receiver) }
    }

    /// Adds records from elsewhere (the checkpoint's section); a record with a higher sequence wins.
    public func importJournal(_ records: [LogRecord]) {
        guard !records.isEmpty else { return }
        journal.withLock { j in
            for r in records { Outbox.merge(r, into: &j) }
        }
        writer.async {
            self.stateDirty = true
            self.scheduleSnapshot()
        }
    }

    /// Returns once everything enqueued so far is written and flushed (the writer queue is idle):
    /// what a caller of `enqueue` would wait for if the writes were its own. For benchmarks.
    public func waitUntilWritten() { writer.sync {} }

    /// Runs `body` on the writer queue once the writes queued before it are done: a probe that
    /// tells a writer stuck in a flush (a wedged disk) from an idle one, which callers of
    /// `enqueue` no longer notice since they never wait for the disk.
    public func afterWrites(_ body: @escaping @Sendable () -> Void) { writer.async(execute: body) }

    /// Waits until nothing is pending (or `timeout` passes); true when empty. For tests and drains.
    public func waitUntilEmpty(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if counters.withLock({ $0.pending }) == 0 { return true }
            usleepMs(5)
        }
        return counters.withLock { $0.pending } == 0
    }

    /// Keeps the record with the higher sequence (the later one on a tie).
    static func merge(_ record: LogRecord, into journal: inout [String: LogRecord]) {
        let key = record.groupKey + "\u{1}" + record.receiver
        if let old = journal[key], (old.sequence, old.at) >= (record.sequence, record.at) { return }
        journal[key] = record
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
