public import TimeSeries
public import Alerting
import Synchronization

/// Routes alerts into aggregation groups and decides when each group notifies.
///
/// The daemon gives it every alert state change (`receive`) and calls `tick()` from a Dispatch
/// timer (at `nextDeadline()`, or at least every second); both return the notifications due, which
/// the `Notifier` renders and hands to the outbox. Time comes from the injected clock only, so tests
/// drive every window. Owner: a lock-protected final class (one `Mutex` around all groups).
///
/// Tiers: an alert's identity excludes `severity`, so an escalation or de-escalation reaches the
/// dispatcher as the same alert with another tier. Once a tier has been notified, a change of tier
/// flushes every group the alert is in (or enters) at once, bypassing `group_wait` and
/// `group_interval`; a group the alert leaves because its new tier routes elsewhere (the pager
/// when critical falls to high) sees it as resolved, and says so at once.
///
/// Bounded state: a firing alert the rules stop handing over (its rule was removed by a reload,
/// say) is taken as resolved after `alertTimeout`, as Alertmanager resolves an alert whose
/// `endsAt` passed; a group is dropped once it has no alerts left after its resolutions were
/// notified; restored log records and remembered tiers go after `logRetention` or once nothing
/// refers to them (a sweep every `sweepInterval`).
public final class Dispatcher: Sendable {
    /// Counters for the daemon's self-metrics.
    public struct Stats: Sendable, Equatable {
        public var alertsReceived: UInt64 = 0
        public var notifications: UInt64 = 0
        public var escalations: UInt64 = 0
        /// Alerts not taken because `maxAlerts` was reached.
        public var alertsDropped: UInt64 = 0
        /// Firing alerts left out of a notification because a silence matched.
        public var silenced: UInt64 = 0
        /// Firing alerts left out of a notification because an inhibition rule matched.
        public var inhibited: UInt64 = 0
        /// Firing alerts taken as resolved because the rules stopped handing them over.
        public var expired: UInt64 = 0
        public var groups: Int = 0
        public var alerts: Int = 0
    }

    /// Per-receiver behaviour the dispatcher needs.
    public struct ReceiverTiming: Sendable {
        /// Re-send firing alerts at least this often, whatever `repeat_interval` says (Alertmanager
        /// forwarding: alerts there expire unless re-sent), to the integrations that `resend` only.
        public var resendInterval: Duration?
        public init(resendInterval: Duration? = nil) { self.resendInterval = resendInterval }
    }

    struct State {
        var groups: [String: AggregationGroup] = [:]
        /// Which groups each alert identity is in.
        var memberships: [UInt64: Set<String>] = [:]
        /// The tier last notified for each firing identity (any receiver).
        var notifiedTier: [UInt64: String] = [:]
        /// AlertNotification log records from a checkpoint or the previous configuration, by
        /// `groupKey \u{1} receiver`, waiting for their group to be formed again.
        var restored: [String: LogRecord] = [:]
        var stats = Stats()
        var lastSweep: Timestamp?
    }

    let state = Mutex(State())
    public let route: Route
    public let inhibitor: Inhibitor
    public let silences: Silences
    let timings: [String: ReceiverTiming]
    let clock: @Sendable () -> Timestamp
    let externalURL: String
    /// Bound on alert identities held (new ones beyond it are dropped and counted).
    public let maxAlerts: Int
    /// A firing alert not handed over again for this long is taken as resolved (ms).
    public let alertTimeout: Int64
    /// How often `tick` expires alerts and prunes restored records (ms).
    static let sweepInterval: Int64 = 10_000

    public init(
        route: Route, inhibitor: Inhibitor = Inhibitor(rules: []), silences: Silences,
        timings: [String: ReceiverTiming] = [:], externalURL: String = "", maxAlerts: Int = 50_000,
        alertTimeout: Duration = .seconds(3600), clock: @escaping @Sendable () -> Timestamp
    ) {
        self.route = route
        self.inhibitor = inhibitor
        self.silences = silences
        self.timings = timings
        self.externalURL = externalURL
        self.maxAlerts = maxAlerts
        self.alertTimeout = max(1, alertTimeout.milliseconds)
        self.clock = clock
    }

    /// Takes the latest state of these alerts (pending ones are ignored) and returns the
    /// notifications due at once: groups with `group_wait: 0s`, tier changes, and anything else due.
    public func receive(_ alerts: [Alert]) -> [AlertNotification] {
        receiveLogged(alerts).map(\.notification)
    }

    /// Flushes every group whose time has come; the daemon calls it from its timer.
    public func tick() -> [AlertNotification] {
        tickLogged().map(\.notification)
    }

    /// A notification with the log record it makes (what its group has now said, and its sequence).
    struct Logged: Sendable {
        var notification: AlertNotification
        var record: LogRecord
    }

    /// `receive`, with each notification's log record (the outbox writes them together).
    func receiveLogged(_ alerts: [Alert]) -> [Logged] {
        let now = clock()
        return state.withLock { state in
            for alert in alerts { take(alert, now: now, into: &state) }
            return flushDue(now: now, state: &state)
        }
    }

    /// `tick`, with each notification's log record; sweeps stale state every `sweepInterval`.
    func tickLogged() -> [Logged] {
        let now = clock()
        return state.withLock { state in
            if let last = state.lastSweep, now >= last, now - last < Dispatcher.sweepInterval {} else {
                sweep(now: now, state: &state)
            }
            return flushDue(now: now, state: &state)
        }
    }

    /// Expires firing alerts not seen for `alertTimeout` (they resolve at their group's next
    /// flush), drops restored records past their retention and remembered tiers of alerts nothing
    /// holds any more.
    func sweep(now: Timestamp, state: inout State) {
        state.lastSweep = now
        for (id, group) in state.groups {
            for (fp, member) in group.members where member.alert.status == .firing && now - member.lastSeen > alertTimeout {
                state.groups[id]!.members[fp]!.alert.status = .resolved
                state.groups[id]!.members[fp]!.alert.endsAt = now
                if state.memberships.removeValue(forKey: fp) != nil { state.stats.expired += 1 }
            }
        }
        state.restored = state.restored.filter { now - $0.value.at < Dispatcher.logRetention }
        if state.restored.count > Dispatcher.maxRestored {
            let oldest = state.restored.sorted { $0.value.at < $1.value.at }.prefix(state.restored.count - Dispatcher.maxRestored)
            for (key, _) in oldest { state.restored[key] = nil }
        }
        if state.notifiedTier.count > state.memberships.count {
            var referenced = Set(state.memberships.keys)
            for record in state.restored.values { referenced.formUnion(record.firing.keys) }
            state.notifiedTier = state.notifiedTier.filter { referenced.contains($0.key) }
        }
    }

    /// Restored records kept at most (the newest).
    static let maxRestored = 100_000

    /// The earliest moment a group wants to flush, or nil when there is no group.
    public func nextDeadline() -> Timestamp? {
        state.withLock { state in
            state.groups.values.map { $0.urgent ? Int64.min : $0.nextFlush }.min()
        }
    }

    public var stats: Stats {
        state.withLock { state in
            var s = state.stats
            s.groups = state.groups.count
            s.alerts = state.memberships.count
            return s
        }
    }

    /// The alerts held, as the groups see them (firing and not yet flushed resolved ones), for `agent alerts`.
    public func alerts() -> [NotifiedAlert] {
        state.withLock { state in
            var seen: [UInt64: NotifiedAlert] = [:]
            for group in state.groups.values {
                for (fp, m) in group.members where seen[fp] == nil || m.alert.status == .firing { seen[fp] = m.alert }
            }
            return seen.values.sorted { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
        }
    }

    func take(_ alert: Alert, now: Timestamp, into state: inout State) {
        guard alert.state != .pending else { return }
        state.stats.alertsReceived += 1
        let fp = alert.fingerprint
        let labels = alert.labels
        let notified = NotifiedAlert(
            status: alert.state == .firing ? .firing : .resolved, labels: labels, annotations: alert.annotations,
            severity: alert.severity, startsAt: alert.firedAt ?? alert.activeAt,
            endsAt: alert.state == .resolved ? (alert.resolvedAt ?? now) : nil, value: alert.value, fingerprint: fp,
            source: alert.source, evaluatedAt: alert.evaluatedAt, validUntil: alert.validUntil, generatorURL: alert.generatorURL)
        let previous = state.memberships[fp] ?? []

        if notified.status == .resolved {
            for id in previous {
                state.groups[id]?.members[fp]?.alert = notified
            }
            if previous.isEmpty { takeResolutionAfterRestart(notified, now: now, into: &state) }
            state.memberships[fp] = nil
            state.notifiedTier[fp] = nil
            return
        }

        if previous.isEmpty, state.memberships.count >= maxAlerts {
            state.stats.alertsDropped += 1
            return
        }
        let tierChanged = state.notifiedTier[fp].map { $0 != (alert.severity ?? "") } ?? false
        if tierChanged { state.stats.escalations += 1 }

        var current = Set<String>()
        for route in route.match(labels) {
            let groupLabels = route.groupLabels(of: labels)
            let id = route.id + "\u{1}" + String(decoding: groupLabels.encoded, as: UTF8.self)
            current.insert(id)
            if state.groups[id] == nil {
                var group = AggregationGroup(route: route, labels: groupLabels, now: now)
                if let record = state.restored.removeValue(forKey: group.key + "\u{1}" + route.receiver) {
                    group.last = AggregationGroup.LogEntry(firing: record.firing, at: record.at, everyoneAt: record.everyoneAt)
                    group.sequence = record.sequence
                }
                state.groups[id] = group
            }
            let oldTier = state.groups[id]!.members[fp]?.alert.severity
            state.groups[id]!.members[fp] = AggregationGroup.Member(alert: notified, lastSeen: now)
            if tierChanged || (oldTier != nil && oldTier != notified.severity && state.groups[id]!.last?.firing[fp] != nil) {
                state.groups[id]!.urgent = true
            }
        }
        // Groups the alert left because its labels now route elsewhere: it is resolved there.
        for id in previous.subtracting(current) {
            guard var member = state.groups[id]?.members[fp] else { continue }
            member.alert.status = .resolved
            member.alert.endsAt = now
            state.groups[id]!.members[fp] = member
            state.groups[id]!.urgent = true
        }
        state.memberships[fp] = current
    }

    /// A resolution of an alert this run never saw firing (it fired before a restart, and its rule
    /// found it resolved at once): a group whose log says it announced the alert firing hears it
    /// resolved, formed again from its record if need be.
    func takeResolutionAfterRestart(_ alert: NotifiedAlert, now: Timestamp, into state: inout State) {
        let fp = alert.fingerprint
        for route in route.match(alert.labels) {
            let groupLabels = route.groupLabels(of: alert.labels)
            let id = route.id + "\u{1}" + String(decoding: groupLabels.encoded, as: UTF8.self)
            if var group = state.groups[id] {
                guard group.last?.firing[fp] != nil, group.members[fp] == nil else { continue }
                group.members[fp] = AggregationGroup.Member(alert: alert, lastSeen: now)
                state.groups[id] = group
            } else {
                var group = AggregationGroup(route: route, labels: groupLabels, now: now)
                let key = group.key + "\u{1}" + route.receiver
                guard let record = state.restored[key], record.firing[fp] != nil else { continue }
                state.restored[key] = nil
                group.last = AggregationGroup.LogEntry(firing: record.firing, at: record.at, everyoneAt: record.everyoneAt)
                group.sequence = record.sequence
                group.members[fp] = AggregationGroup.Member(alert: alert, lastSeen: now)
                state.groups[id] = group
            }
        }
    }

    func flushDue(now: Timestamp, state: inout State) -> [Logged] {
        let due = state.groups.filter { $0.value.isDue(at: now) }.map(\.key).sorted()
        guard !due.isEmpty else { return [] }
        // Mute decisions for this round: silences as of now, inhibition by every firing alert.
        let active = silences.activeSnapshot(at: now)
        var firingSources: [UInt64: Labels] = [:]
        for group in state.groups.values {
            for (fp, m) in group.members where m.alert.status == .firing { firingSources[fp] = m.alert.labels }
        }
        let inhibition = inhibitor.index(firing: firingSources.map { (labels: $0.value, fingerprint: $0.key) })
        var silencedCount: UInt64 = 0, inhibitedCount: UInt64 = 0
        let muted: (NotifiedAlert) -> Bool = { alert in
            if active.contains(where: { $0.matchers.matches(alert.labels) }) {
                silencedCount += 1
                return true
            }
            if inhibition.mutes(alert.labels, fingerprint: alert.fingerprint) {
                inhibitedCount += 1
                return true
            }
            return false
        }

        var out: [Logged] = []
        for id in due {
            guard var group = state.groups[id] else { continue }
            let resend = timings[group.route.receiver]?.resendInterval?.milliseconds
            let validFor = 4 * max(effectiveRepeat(group.route), group.route.groupInterval.milliseconds)
            let receiver = group.route.receiver, groupKey = group.key
            if let n = group.flush(
                at: now, repeatInterval: group.route.repeatInterval.milliseconds, resendInterval: resend, muted: muted,
                makeKey: { IdempotencyKey.derive(speaker: receiver, groupKey: groupKey, sequence: String($0), alerts: $1) },
                validFor: validFor, externalURL: externalURL), let record = group.record
            {
                out.append(Logged(notification: n, record: record))
                for a in n.firing { state.notifiedTier[a.fingerprint] = a.severity ?? "" }
            }
            if group.isEmpty {
                // Its record stays (for `logRetention`), so a group formed again with the same key
                // continues its sequence and never repeats an idempotency key.
                if let record = group.record { state.restored[record.groupKey + "\u{1}" + record.receiver] = record }
                state.groups[id] = nil
            } else {
                state.groups[id] = group
            }
        }
        state.stats.silenced += silencedCount
        state.stats.inhibited += inhibitedCount
        state.stats.notifications += UInt64(out.count)
        return out
    }

    func effectiveRepeat(_ route: Route) -> Int64 {
        let repeatEvery = route.repeatInterval.milliseconds
        if let resend = timings[route.receiver]?.resendInterval { return min(repeatEvery, resend.milliseconds) }
        return repeatEvery
    }
}
