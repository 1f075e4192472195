public import Alerting
public import TimeSeries

/// One alert as a notification carries it: its labels (with `severity`), annotations, status and times.
public struct NotifiedAlert: Sendable, Equatable {
    public enum Status: String, Sendable {
        case firing, resolved
    }

    public var status: Status
    /// Identity plus `severity`.
    public var labels: Labels
    public var annotations: [String: String]
    /// The tier, if any.
    public var severity: String?
    /// When the alert fired (Prometheus's `FiredAt`, the `startsAt` it sends Alertmanager); the
    /// pending start for an alert that never had a firing time.
    public var startsAt: Timestamp
    /// When it resolved; nil while firing.
    public var endsAt: Timestamp?
    /// The expression's value at the last evaluation.
    public var value: Double
    /// Until when a firing alert holds without news, as Prometheus computes it (`Alert.validUntil`);
    /// nil when not known (not made by a rule group).
    public var validUntil: Timestamp?
    /// Link to the rule's expression (`Alert.generatorURL`), or empty.
    public var generatorURL: String
    /// The identity's stable hash: the same across tiers, restarts and hosts.
    public var fingerprint: UInt64
    /// Where it came from (rule group and file).
    public var source: String
    /// The tier this group last notified for it, when that differs from `severity` (an escalation
    /// or de-escalation); nil otherwise.
    public var previousSeverity: String?
    /// The rule evaluation that produced `value` (`Alert.evaluatedAt`), if known.
    public var evaluatedAt: Timestamp?
    /// The value over the last 30 minutes, for a firing alert: attached by the `Notifier` when it
    /// renders (from its `AlertHistorySource`), never stored by the dispatcher.
    public var history: ValueHistory?

    public init(
        status: Status, labels: Labels, annotations: [String: String], severity: String?, startsAt: Timestamp,
        endsAt: Timestamp?, value: Double, fingerprint: UInt64, source: String, previousSeverity: String? = nil,
        evaluatedAt: Timestamp? = nil, history: ValueHistory? = nil, validUntil: Timestamp? = nil, generatorURL: String = ""
    ) {
        self.status = status
        self.labels = labels
        self.annotations = annotations
        self.severity = severity
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.value = value
        self.fingerprint = fingerprint
        self.source = source
        self.previousSeverity = previousSeverity
        self.evaluatedAt = evaluatedAt
        self.history = history
        self.validUntil = validUntil
        self.generatorURL = generatorURL
    }

    /// The alert's name (`alertname`).
    public var name: String { labels["alertname"] ?? "" }

    /// Alertmanager's fingerprint of `labels` (as sent: `severity` and external labels included),
    /// 16 hex digits: what a real Alertmanager holding this alert calls it. `fingerprint` (the
    /// identity's, the same across tiers) stays the dispatcher's key.
    public var fingerprintHex: String { labels.alertmanagerFingerprint }
}

/// What a group flush produces for one receiver: the group's alerts as the receiver should see them.
public struct AlertNotification: Sendable, Equatable {
    /// Why the group was notified now.
    public enum Reason: String, Sendable {
        /// The group's first notification, or new alerts in it.
        case new
        /// An alert moved between tiers (escalation or de-escalation): sent at once.
        case severityChanged = "severity_changed"
        /// Alerts resolved.
        case resolved
        /// Nothing changed for `repeat_interval`.
        case `repeat`
        /// Nothing changed, but the receiver's resend interval passed: only for the integrations
        /// that must re-send (`Integration.resends`, Alertmanager forwarding); the others skip it.
        case resend
    }

    public var receiver: String
    /// Alertmanager's group key: the route key and the group labels, `{}/{severity="critical"}:{alertname="X"}`.
    public var groupKey: String
    public var groupLabels: Labels
    /// Firing alerts first, then resolved ones; each part in label order.
    public var alerts: [NotifiedAlert]
    public var reason: Reason
    /// Unique per notification and stable across retries and restarts (it is stored with it).
    public var idempotencyKey: String
    public var createdAt: Timestamp
    /// When a firing alert stops being valid unless re-sent (for Alertmanager's `endsAt`).
    public var validUntil: Timestamp
    /// Link back to this agent (config `external_url`), or empty.
    public var externalURL: String

    public init(
        receiver: String, groupKey: String, groupLabels: Labels, alerts: [NotifiedAlert], reason: Reason,
        idempotencyKey: String, createdAt: Timestamp, validUntil: Timestamp, externalURL: String = ""
    ) {
        self.receiver = receiver
        self.groupKey = groupKey
        self.groupLabels = groupLabels
        self.alerts = alerts
        self.reason = reason
        self.idempotencyKey = idempotencyKey
        self.createdAt = createdAt
        self.validUntil = validUntil
        self.externalURL = externalURL
    }

    /// `firing` when any alert fires, else `resolved`.
    public var status: NotifiedAlert.Status {
        alerts.contains { $0.status == .firing } ? .firing : .resolved
    }

    public var firing: [NotifiedAlert] { alerts.filter { $0.status == .firing } }
    public var resolved: [NotifiedAlert] { alerts.filter { $0.status == .resolved } }

    /// Labels every alert has with the same value.
    public var commonLabels: Labels {
        guard var common = alerts.first.map({ Dictionary(uniqueKeysWithValues: $0.labels.labels.map { ($0.name, $0.value) }) }) else {
            return Labels()
        }
        for alert in alerts.dropFirst() {
            common = common.filter { alert.labels[$0.key] == $0.value }
        }
        return Labels(common)
    }

    /// Annotations every alert has with the same value.
    public var commonAnnotations: [String: String] {
        guard var common = alerts.first?.annotations else { return [:] }
        for alert in alerts.dropFirst() {
            common = common.filter { alert.annotations[$0.key] == $0.value }
        }
        return common
    }

    /// The most severe tier among the firing alerts (or among all when none fires).
    public var severity: String? {
        let pool = firing.isEmpty ? alerts : firing
        return pool.compactMap(\.severity).min { SeverityOrder.rank($0) < SeverityOrder.rank($1) }
    }

    /// A copy without resolved alerts (for integrations with `send_resolved: false`); nil when none would remain.
    public func withoutResolved() -> AlertNotification? {
        let f = firing
        guard !f.isEmpty else { return nil }
        var copy = self
        copy.alerts = f
        return copy
    }

    /// `[FIRING:2] HighLatency (critical)`: Alertmanager's default title, with the tier.
    public var title: String {
        var t = "[\(status.rawValue.uppercased())"
        if status == .firing { t += ":\(firing.count)" }
        t += "] "
        let name = groupLabels["alertname"] ?? commonLabels["alertname"] ?? alerts.first?.name ?? ""
        t += name.isEmpty ? groupKey : name
        if let severity { t += " (\(severity))" }
        return t
    }
}

/// The order of the usual tiers, most severe first; unknown tiers rank after them.
public enum SeverityOrder {
    public static let tiers = ["critical", "high", "medium", "low"]

    /// 0 for critical … 3 for low, 4 for anything else.
    public static func rank(_ severity: String) -> Int {
        switch severity.lowercased() {
        case "critical", "page", "emergency": 0
        case "high", "error", "major": 1
        case "medium", "warning", "minor": 2
        case "low", "info": 3
        default: 4
        }
    }
}

enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    static func fixed64(_ v: UInt64) -> String {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { out[15 - i] = digits[Int((v >> (4 * UInt64(i))) & 0xF)] }
        return String(decoding: out, as: UTF8.self)
    }

    static func bytes<C: Collection>(_ b: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(b.count * 2)
        for x in b {
            out.append(digits[Int(x >> 4)])
            out.append(digits[Int(x & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
