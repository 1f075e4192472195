public import Alerting
public import Logging
public import TimeSeries
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The notification pipeline in one object: route → inhibit/silence → group → render → outbox →
/// delivery. What the daemon holds.
///
/// The daemon calls `receive` after every rule evaluation with every active alert (firing ones
/// again each time, resolved ones once) and `tick` from a Dispatch timer (at `nextDeadline()`, at
/// least every second). Notifications that are due are rendered for each integration of their
/// receiver and written to the outbox before `receive`/`tick` return; delivery then proceeds on
/// the outbox's own queues (its fsyncs too: the caller never waits for the disk). `silences` is
/// the library API of `agent silence add|list|expire`.
/// With a `history` source, each round of due notifications asks it once for the firing alerts'
/// last 30 minutes, which every payload then shows (a sparkline line or raw points).
///
/// Owner: lock-protected final class. The dispatcher and integrations are swapped whole on
/// `reload`, which keeps silences, the notification log and undelivered entries.
public final class Notifier: Sendable {
    /// Everything configurable about notifications.
    public struct Configuration: Sendable {
        public var route: Route
        public var inhibitRules: [InhibitRule]
        public var integrations: [Integration]
        /// Receivers whose firing alerts must be re-sent this often (Alertmanager forwarding).
        public var resendIntervals: [String: Duration]
        /// Link back to this agent in payloads (Alertmanager's `externalURL`), or empty.
        public var externalURL: String
        public var outbox: Outbox.Configuration
        /// Alert identities held at most.
        public var maxAlerts: Int
        /// A firing alert not handed over again for this long is taken as resolved (see `Dispatcher`).
        public var alertTimeout: Duration

        public init(
            route: Route, inhibitRules: [InhibitRule] = [], integrations: [Integration], resendIntervals: [String: Duration] = [:],
            externalURL: String = "", outbox: Outbox.Configuration, maxAlerts: Int = 50_000, alertTimeout: Duration = .seconds(3600)
        ) {
            self.route = route
            self.inhibitRules = inhibitRules
            self.integrations = integrations
            self.resendIntervals = resendIntervals
            self.externalURL = externalURL
            self.outbox = outbox
            self.maxAlerts = maxAlerts
            self.alertTimeout = alertTimeout
        }
    }

    struct Current {
        var dispatcher: Dispatcher
        var integrations: [String: [Integration]]
    }

    public let silences: Silences
    public let outbox: Outbox
    /// Where firing alerts' last 30 minutes come from when a notification is rendered; nil: none.
    public let history: (any AlertHistorySource)?
    let current: Mutex<Current>
    let logger: Logger
    let clock: @Sendable () -> Timestamp

    /// The wall clock in milliseconds since the epoch.
    public static let wallClock: @Sendable () -> Timestamp = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public init(
        configuration: Configuration, transport: any Transport, logger: Logger = Logger(label: "agent.notify"),
        silences: Silences? = nil, clock: @escaping @Sendable () -> Timestamp = Notifier.wallClock,
        random: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) },
        history: (any AlertHistorySource)? = nil
    ) {
        self.clock = clock
        self.history = history
        self.logger = logger
        let silences = silences ?? Silences(clock: clock)
        self.silences = silences
        outbox = Outbox(
            configuration: configuration.outbox, integrations: configuration.integrations, transport: transport, logger: logger,
            clock: clock, random: random)
        current = Mutex(Notifier.makeCurrent(configuration, silences: silences, clock: clock))
    }

    static func makeCurrent(_ c: Configuration, silences: Silences, clock: @escaping @Sendable () -> Timestamp) -> Current {
        var timings: [String: Dispatcher.ReceiverTiming] = [:]
        for (name, interval) in c.resendIntervals { timings[name] = Dispatcher.ReceiverTiming(resendInterval: interval) }
        let dispatcher = Dispatcher(
            route: c.route, inhibitor: Inhibitor(rules: c.inhibitRules), silences: silences, timings: timings,
            externalURL: c.externalURL, maxAlerts: c.maxAlerts, alertTimeout: c.alertTimeout, clock: clock)
        return Current(dispatcher: dispatcher, integrations: Dictionary(grouping: Integration.numbered(c.integrations), by: \.receiver))
    }

    /// Loads what the previous run left in the outbox — undelivered entries, and what each group
    /// last said (so nothing the outbox holds is notified again); returns how many entries.
    @discardableResult
    public func open() throws(OutboxError) -> Int {
        let loaded = try outbox.open()
        dispatcher.importLog(outbox.journalRecords())
        return loaded
    }

    /// Starts delivery.
    public func start() { outbox.start() }

    /// Stops delivery, waiting up to `timeout` for requests in flight; undelivered entries stay on disk.
    public func stop(timeout: Duration = .seconds(5)) { outbox.stop(timeout: timeout) }

    /// SIGTERM: delivers what is pending for up to `timeout` (the outbox's `drainTimeout` by
    /// default), then stops; what could not be delivered stays on disk for the next start.
    @discardableResult
    public func drain(timeout: Duration? = nil) -> Outbox.DrainResult { outbox.drain(timeout: timeout) }

    /// Takes the latest alert states; notifications due at once are queued before it returns
    /// (written to disk on the outbox's writer queue, then sent).
    public func receive(_ alerts: [Alert]) {
        let (dispatcher, integrations) = current.withLock { ($0.dispatcher, $0.integrations) }
        let due = dispatcher.receiveLogged(alerts)
        guard !due.isEmpty else { return }
        outbox.enqueue(notices: render(due, integrations: integrations))
    }

    /// Flushes the groups that are due; call from a timer.
    public func tick() {
        let (dispatcher, integrations) = current.withLock { ($0.dispatcher, $0.integrations) }
        let due = dispatcher.tickLogged()
        guard !due.isEmpty else { return }
        outbox.enqueue(notices: render(due, integrations: integrations))
    }

    /// The notification log for the checkpoint: as the outbox holds it durably, so the checkpoint
    /// never claims a notification that is not on disk.
    public func encodedLog() -> [UInt8] { Dispatcher.encode(outbox.journalRecords()) }

    /// Restores the checkpoint's notification log (`encodedLog()`, or `Dispatcher.encodedLog()`
    /// of earlier versions); merged with what the outbox holds, the higher sequence winning.
    public func restoreLog(from bytes: [UInt8]) throws(CheckpointError) {
        let records = try Dispatcher.decodeLog(bytes)
        dispatcher.importLog(records)
        outbox.importJournal(records)
    }

    /// When `tick` next has work, or nil.
    public func nextDeadline() -> Timestamp? {
        current.withLock { $0.dispatcher }.nextDeadline()
    }

    /// The dispatcher in use (for `agent alerts` and stats).
    public var dispatcher: Dispatcher { current.withLock { $0.dispatcher } }

    /// Applies a new configuration: new routes, inhibitions and integrations; silences, the
    /// notification log and undelivered entries carry over. Groups form again as alerts arrive
    /// (the daemon passes every active alert at each evaluation), so nothing is re-notified that
    /// the receivers already know. The outbox directory and its limits stay as they were.
    public func reload(_ configuration: Configuration) {
        let next = Notifier.makeCurrent(configuration, silences: silences, clock: clock)
        let previous = current.withLock { state -> Dispatcher in
            let old = state.dispatcher
            state = next
            return old
        }
        next.dispatcher.importLog(previous.exportLog())
        outbox.update(integrations: configuration.integrations)
    }

    /// Outbox entries for these notifications: one per integration of each receiver (integrations
    /// with `send_resolved: false` skip resolved alerts, and notifications with nothing else; only
    /// integrations that re-send take a `resend`), each with its key (`integrationKey`), what it
    /// announces, and — when it announces a resolution — the notification, so the outbox can
    /// withhold that resolution later. Each notification's log record goes with its entries.
    func render(_ due: [Dispatcher.Logged], integrations: [String: [Integration]]) -> [Outbox.Notice] {
        let notifications = withHistory(due.map(\.notification), integrations: integrations)
        var notices: [Outbox.Notice] = []
        for (n, logged) in zip(notifications, due) {
            var entries: [OutboxEntry] = []
            if let list = integrations[n.receiver], !list.isEmpty {
                for integration in list where n.reason != .resend || integration.resends {
                    guard var shown = integration.sendResolved ? n : n.withoutResolved() else { continue }
                    shown.idempotencyKey = Notifier.integrationKey(
                        integration: integration.name, groupKey: n.groupKey, base: n.idempotencyKey, alerts: shown.alerts)
                    entries.append(
                        OutboxEntry(
                            name: outbox.nextName(createdAt: n.createdAt), idempotencyKey: shown.idempotencyKey, target: integration.identity,
                            groupKey: n.groupKey, createdAt: n.createdAt, payload: integration.builder.payload(for: shown),
                            alerts: shown.alerts.map { OutboxEntry.Announced(fingerprint: $0.fingerprint, firing: $0.status == .firing) },
                            notification: shown.resolved.isEmpty ? nil : shown))
                }
            } else {
                logger.error("notification for receiver \(n.receiver), which has no integration; check notify.receivers")
            }
            notices.append(Outbox.Notice(record: logged.record, entries: entries))
        }
        return notices
    }

    /// The `Idempotency-Key` of a notification to one integration: see `IdempotencyKey` (the
    /// speaker is the integration's identity, the sequence the receiver-level key `base`).
    public static func integrationKey(integration: String, groupKey: String, base: String, alerts: [NotifiedAlert]) -> String {
        IdempotencyKey.derive(speaker: integration, groupKey: groupKey, sequence: base, alerts: alerts)
    }

    /// Most firing alerts given a history per round of notifications; the rest go without (rare:
    /// a round is what one evaluation or one tick made due).
    public static let maxHistoryAlerts = 500

    /// The notifications with their firing alerts' histories attached: one request to the
    /// source for the whole round, so an alert in several groups or receivers costs once.
    func withHistory(_ notifications: [AlertNotification], integrations: [String: [Integration]]) -> [AlertNotification] {
        guard let history else { return notifications }
        var wanted: [NotifiedAlert] = []
        var seen = Set<UInt64>()
        for n in notifications where !(integrations[n.receiver]?.isEmpty ?? true) {
            for a in n.alerts where a.status == .firing && wanted.count < Notifier.maxHistoryAlerts && seen.insert(a.fingerprint).inserted {
                wanted.append(a)
            }
        }
        guard !wanted.isEmpty else { return notifications }
        let found = history.histories(for: wanted)
        guard !found.isEmpty else { return notifications }
        return notifications.map { n in
            var copy = n
            for i in copy.alerts.indices where copy.alerts[i].status == .firing {
                copy.alerts[i].history = found[copy.alerts[i].fingerprint]
            }
            return copy
        }
    }
}

/// Supplies the recent values of firing alerts when their notifications are rendered.
///
/// The daemon's source evaluates each alert's rule over the last 30 minutes (see
/// `RuleGroup.valueHistory`). Called on the thread that renders (the caller of `receive` or
/// `tick`), once per round of due notifications, with firing alerts only.
public protocol AlertHistorySource: Sendable {
    /// Histories by alert fingerprint; alerts it has none for are left out.
    func histories(for alerts: [NotifiedAlert]) -> [UInt64: ValueHistory]
}
