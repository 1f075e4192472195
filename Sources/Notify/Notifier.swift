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
/// the outbox's own queue. `silences` is the library API of `agent silence add|list|expire`.
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

        public init(
            route: Route, inhibitRules: [InhibitRule] = [], integrations: [Integration], resendIntervals: [String: Duration] = [:],
            externalURL: String = "", outbox: Outbox.Configuration, maxAlerts: Int = 50_000
        ) {
            self.route = route
            self.inhibitRules = inhibitRules
            self.integrations = integrations
            self.resendIntervals = resendIntervals
            self.externalURL = externalURL
            self.outbox = outbox
            self.maxAlerts = maxAlerts
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
            externalURL: c.externalURL, maxAlerts: c.maxAlerts, clock: clock)
        return Current(dispatcher: dispatcher, integrations: Dictionary(grouping: c.integrations, by: \.receiver))
    }

    /// Loads what the previous run left in the outbox; returns how many entries.
    @discardableResult
    public func open() throws(OutboxError) -> Int { try outbox.open() }

    /// Starts delivery.
    public func start() { outbox.start() }

    /// Stops delivery, waiting up to `timeout` for requests in flight; undelivered entries stay on disk.
    public func stop(timeout: Duration = .seconds(5)) { outbox.stop(timeout: timeout) }

    /// Takes the latest alert states; notifications due at once are queued before it returns.
    public func receive(_ alerts: [Alert]) {
        let (dispatcher, integrations) = current.withLock { ($0.dispatcher, $0.integrations) }
        let due = dispatcher.receive(alerts)
        outbox.enqueue(render(due, integrations: integrations))
    }

    /// Flushes the groups that are due; call from a timer.
    public func tick() {
        let (dispatcher, integrations) = current.withLock { ($0.dispatcher, $0.integrations) }
        let due = dispatcher.tick()
        outbox.enqueue(render(due, integrations: integrations))
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
    /// integrations that re-send take a `resend`).
    func render(_ notifications: [AlertNotification], integrations: [String: [Integration]]) -> [OutboxEntry] {
        var entries: [OutboxEntry] = []
        for n in withHistory(notifications, integrations: integrations) {
            guard let list = integrations[n.receiver], !list.isEmpty else {
                logger.error("notification for receiver \(n.receiver), which has no integration; check notify.receivers")
                continue
            }
            for integration in list where n.reason != .resend || integration.resends {
                guard let shown = integration.sendResolved ? n : n.withoutResolved() else { continue }
                entries.append(
                    OutboxEntry(
                        name: outbox.nextName(createdAt: n.createdAt), idempotencyKey: n.idempotencyKey, receiver: n.receiver,
                        integrationIndex: integration.index, kind: integration.kind,
                        lane: "\(integration.name)\u{1}\(n.groupKey)", createdAt: n.createdAt,
                        payload: integration.builder.payload(for: shown)))
            }
        }
        return entries
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
