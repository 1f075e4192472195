import TimeSeries

/// The alerts of one route that share the values of the route's `group_by` labels, and what was
/// last notified about them.
///
/// Timing, as Alertmanager's aggregation group: the first flush comes `group_wait` after the group
/// is created; later flushes every `group_interval`. A flush notifies only when something changed
/// since the last notification (a new firing alert, an alert whose tier changed, a firing alert
/// that resolved) or when `repeat_interval` passed with alerts still firing. A receiver with a
/// resend interval (Alertmanager forwarding) also re-sends its firing alerts that often, but only
/// to the integrations that need it (`AlertNotification.Reason.resend`): the others of the same
/// receiver still hear of an unchanged alert once per `repeat_interval`. Muted alerts
/// (silenced or inhibited) are left out; a resolution is announced only for an alert this group
/// announced as firing, so a receiver never hears "resolved" about something it never saw.
/// Resolved alerts leave the group at the flush; an empty group is dropped by the dispatcher, as
/// Alertmanager drops a group once its resolution has been notified.
///
/// A value type owned by the `Dispatcher`, under its lock.
struct AggregationGroup: Sendable {
    /// An alert as the group holds it.
    struct Member: Sendable, Equatable {
        var alert: NotifiedAlert
        /// When the rules last handed it over (firing): an alert not seen for the dispatcher's
        /// `alertTimeout` is taken as resolved (its rule was removed, say).
        var lastSeen: Timestamp = 0
        /// When it resolved (or left this route because its tier changed), if it did.
        var resolvedAt: Timestamp? { alert.endsAt }
    }

    /// What the last notification said: the firing alerts with their tiers, and when; and when
    /// the last one that every integration got (not a resend) was sent.
    struct LogEntry: Sendable, Equatable {
        var firing: [UInt64: String]
        var at: Timestamp
        var everyoneAt: Timestamp
    }

    let route: Route
    let labels: Labels
    /// `route.key:labels`, Alertmanager's group key.
    let key: String
    var members: [UInt64: Member] = [:]
    var nextFlush: Timestamp
    var last: LogEntry?
    /// Notifications sent so far: part of the idempotency key, and durable (the outbox writes it
    /// with each notification, see `LogRecord`), so it never goes back after a crash.
    var sequence: UInt64 = 0
    /// Flush at the next opportunity regardless of timers (a tier changed).
    var urgent = false

    init(route: Route, labels: Labels, now: Timestamp) {
        self.route = route
        self.labels = labels
        key = route.key + ":" + labels.description
        nextFlush = now + route.groupWait.milliseconds
    }

    var isEmpty: Bool { members.isEmpty }

    /// True when the group wants to flush at `now`.
    func isDue(at now: Timestamp) -> Bool { urgent || now >= nextFlush }

    /// The record of what it last said, for the notification log.
    var record: LogRecord? {
        last.map { LogRecord(groupKey: key, receiver: route.receiver, sequence: sequence, at: $0.at, everyoneAt: $0.everyoneAt, firing: $0.firing) }
    }

    /// Flushes at `now`: returns the notification to send (nil when nothing needs saying), updates
    /// the log, drops resolved members and schedules the next flush. `muted` tells whether a
    /// firing alert is silenced or inhibited now; `resendInterval` is the receiver's, if any.
    mutating func flush(
        at now: Timestamp, repeatInterval: Int64, resendInterval: Int64?, muted: (NotifiedAlert) -> Bool,
        makeKey: (UInt64, [NotifiedAlert]) -> String, validFor: Int64, externalURL: String
    ) -> AlertNotification? {
        urgent = false
        nextFlush = now + route.groupInterval.milliseconds
        var firing: [NotifiedAlert] = []
        var resolved: [NotifiedAlert] = []
        var firingTiers: [UInt64: String] = [:]
        for member in members.values {
            var alert = member.alert
            if alert.status == .firing {
                if let before = last?.firing[alert.fingerprint], before != (alert.severity ?? "") {
                    alert.previousSeverity = before.isEmpty ? nil : before
                }
                if muted(alert) { continue }
                firing.append(alert)
                firingTiers[alert.fingerprint] = alert.severity ?? ""
            } else if last?.firing[alert.fingerprint] != nil {
                resolved.append(alert)
            }
        }
        members = members.filter { $0.value.alert.status == .firing }

        let reason: AlertNotification.Reason?
        if let last {
            if firingTiers.keys.contains(where: { last.firing[$0] == nil }) {
                reason = .new
            } else if firingTiers.contains(where: { last.firing[$0.key] != $0.value }) {
                reason = .severityChanged
            } else if !resolved.isEmpty {
                reason = .resolved
            } else if !firing.isEmpty, now - last.everyoneAt >= repeatInterval {
                reason = .repeat
            } else if !firing.isEmpty, let resendInterval, now - last.at >= resendInterval {
                reason = .resend
            } else {
                // Unchanged, or only muted since: a silence does not notify (as in Alertmanager).
                reason = nil
            }
        } else {
            reason = firing.isEmpty ? nil : .new
        }
        guard let reason else { return nil }
        last = LogEntry(firing: firingTiers, at: now, everyoneAt: reason == .resend ? last?.everyoneAt ?? now : now)
        sequence += 1
        let byLabels: (NotifiedAlert, NotifiedAlert) -> Bool = { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
        let alerts = firing.sorted(by: byLabels) + resolved.sorted(by: byLabels)
        return AlertNotification(
            receiver: route.receiver, groupKey: key, groupLabels: labels, alerts: alerts, reason: reason,
            idempotencyKey: makeKey(sequence, alerts), createdAt: now, validUntil: now + validFor, externalURL: externalURL)
    }
}
