public import TimeSeries

/// The alerts of one alerting rule and how each moves between states, one evaluation at a time.
///
/// ## States
/// Per label set (the alert's `identity`: its labels, without `severity` for a tiered rule):
///
/// ```
///  inactive ──condition holds──► pending ──held for `for`──► firing(tier) ──stops holding──► resolved
///      ▲                            │                          │   ▲  tier changes            │
///      └──────stops holding─────────┘                          └───┘  (escalate/de-escalate)  │
///      └───────────────────────────── after 15 min ◄───────────────────────────────────────────┘
/// ```
/// As in Prometheus (`rules/alerting.go`): a pending alert whose condition stops holding is dropped;
/// a firing alert whose condition stops holding keeps firing for `keep_firing_for` (counted from
/// the first evaluation without it) and then resolves; a resolved alert is kept 15 minutes so that
/// notifications can say so, and an alert that comes back meanwhile starts again as pending.
///
/// ## Tiers
/// A tiered rule has tiers 0…n−1, most severe first. Tier *i* **holds** when the value meets tier
/// *i* or a more severe one (thresholds are ordered, so meeting a more severe tier meets every
/// less severe one). Each tier has a hold time — its own `for`, else the rule's `for` — and the alert
/// tracks, per tier, since when that tier has held without interruption. Tier *i* is **reached**
/// once it has held for its hold time.
/// - **Firing.** A pending alert fires as soon as any tier is reached, at the most severe reached tier.
///   (A rule without tiers is one tier whose condition is "the series is in the result", which is
///   exactly Prometheus's `for`.)
/// - **Escalation.** A firing alert moves to a more severe tier as soon as that tier is reached:
///   a tier's `for` gates entry into it, measured from when the value first met it. `for: 0s` on the
///   critical tier escalates at the first evaluation that sees a critical value.
/// - **De-escalation.** When the current tier stops holding, the alert keeps it for `keep_firing_for`
///   (the same grace a firing alert gets before it resolves), then moves to the most severe tier
///   that holds now, without waiting for that tier's `for` (which only gates escalation).
/// - **Hysteresis.** With `recover_below`/`recover_above`, a *firing* alert whose value meets no tier
///   but has not crossed the recovery threshold stays firing at the least severe tier: it resolves
///   only once the value crosses the recovery threshold (then `keep_firing_for` applies as usual).
///   Pending alerts get no such band.
/// A tier change keeps the alert's identity, `activeAt` and `firedAt`; it sets `previousSeverity` and
/// `severityChangedAt`, which notifications use to announce an escalation or de-escalation.
///
/// Time is always an argument; nothing here reads a clock. Owned by its `RuleGroup` (whose serial
/// evaluation queue is the only caller); a value type, so copies are snapshots.
public struct AlertStateMachine: Sendable {
    /// The rule's name (`alertname`).
    public let name: String
    /// The rule's `for`.
    public let holdDuration: Milliseconds
    /// The rule's `keep_firing_for`.
    public let keepFiringFor: Milliseconds
    /// The tiers, most severe first (empty for a rule without tiers).
    public let tiers: [SeverityTier]
    /// The recovery threshold of a tiered rule (hysteresis).
    public let recovery: Double?
    /// Most active (pending or firing) alerts per evaluation; 0 means unlimited.
    public var limit: Int

    /// How long a resolved alert is kept for notification (Prometheus: 15 minutes).
    public static let resolvedRetention: Milliseconds = 15 * 60_000

    /// Tracked alerts by identity.
    var tracked: [Labels: Tracked] = [:]

    /// One alert's full state, including what the public `Alert` does not show.
    struct Tracked: Sendable, Equatable {
        var identity: Labels
        var state: Alert.State
        var severity: String?
        var value: Double
        var activeAt: Timestamp
        var firedAt: Timestamp?
        var resolvedAt: Timestamp?
        /// First evaluation at which a firing alert's condition (or its current tier) no longer held.
        var keepFiringSince: Timestamp?
        var tierKeepSince: Timestamp?
        /// Per tier: start of the current uninterrupted run in which that tier held.
        var tierSince: [Timestamp?]
        var previousSeverity: String?
        var severityChangedAt: Timestamp?
        var annotations: [String: String] = [:]
        var lastEvaluatedAt: Timestamp

        static func == (a: Tracked, b: Tracked) -> Bool {
            a.identity == b.identity && a.state == b.state && a.severity == b.severity
                && (a.value == b.value || (a.value.isNaN && b.value.isNaN)) && a.activeAt == b.activeAt
                && a.firedAt == b.firedAt && a.resolvedAt == b.resolvedAt && a.keepFiringSince == b.keepFiringSince
                && a.tierKeepSince == b.tierKeepSince && a.tierSince == b.tierSince && a.previousSeverity == b.previousSeverity
                && a.severityChangedAt == b.severityChangedAt && a.annotations == b.annotations && a.lastEvaluatedAt == b.lastEvaluatedAt
        }
    }

    /// A state machine for `rule` (an alerting rule).
    public init(rule: RuleFile.Rule, limit: Int = 0) {
        self.init(name: rule.name, holdDuration: rule.holdDuration, keepFiringFor: rule.keepFiringFor, tiers: rule.tiers,
                  recovery: rule.recovery, limit: limit)
    }

    /// A state machine from its parameters.
    public init(name: String, holdDuration: Milliseconds, keepFiringFor: Milliseconds = 0, tiers: [SeverityTier] = [],
                recovery: Double? = nil, limit: Int = 0) {
        self.name = name
        self.holdDuration = holdDuration
        self.keepFiringFor = keepFiringFor
        self.tiers = tiers
        self.recovery = recovery
        self.limit = limit
    }

    var tierCount: Int { max(tiers.count, 1) }

    /// The most severe tier `value` meets (0 = most severe), or nil; a rule without tiers always "meets" tier 0.
    func level(of value: Double) -> Int? {
        guard !tiers.isEmpty else { return 0 }
        for (i, tier) in tiers.enumerated() where tier.holds(value) { return i }
        return nil
    }

    func hold(ofTier i: Int) -> Milliseconds {
        tiers.isEmpty ? holdDuration : (tiers[i].holdDuration ?? holdDuration)
    }

    /// True when a firing alert's value is inside the hysteresis band (meets no tier, has not recovered).
    func inRecoveryBand(_ value: Double) -> Bool {
        guard let recovery, let direction = tiers.last?.direction, !value.isNaN else { return false }
        return direction == .above ? value >= recovery : value <= recovery
    }

    /// Advances every alert to time `t` given the expression's result: each element is one series
    /// after the rule's labels were applied (`alertname` included) and its value. A rule without
    /// tiers treats every element as "condition holds"; a tiered rule checks the value against its tiers.
    /// Throws when two results share an identity, or when more alerts are active than `limit` (then,
    /// as Prometheus does, every alert of the rule is dropped).
    public mutating func evaluate(_ results: [(labels: Labels, value: Double)], at t: Timestamp) throws(AlertRuleError) {
        var seen = Set<Labels>()
        seen.reserveCapacity(results.count)
        for r in results {
            let staticSeverity = tiers.isEmpty ? r.labels[Alert.severityLabel] : nil
            let identity = Self.identity(of: r.labels, tiered: !tiers.isEmpty)
            guard seen.insert(identity).inserted else {
                throw AlertRuleError.duplicateLabelSet(identity)
            }
            let level = level(of: r.value)
            if var a = tracked[identity], a.state != .resolved {
                if advance(&a, level: level, value: r.value, staticSeverity: staticSeverity, at: t) {
                    tracked[identity] = a
                } else {
                    tracked[identity] = nil
                }
                continue
            }
            // A new alert (or one that comes back after it resolved) starts pending.
            guard let level else { continue }
            var a = Tracked(identity: identity, state: .pending, severity: nil, value: r.value, activeAt: t,
                            tierSince: Array(repeating: nil, count: tierCount), lastEvaluatedAt: t)
            _ = advance(&a, level: level, value: r.value, staticSeverity: staticSeverity, at: t)
            tracked[identity] = a
        }
        // Alerts whose series left the result.
        for (identity, var a) in tracked where !seen.contains(identity) {
            switch a.state {
            case .resolved:
                if t - (a.resolvedAt ?? t) > Self.resolvedRetention { tracked[identity] = nil }
            case .pending, .firing:
                if advance(&a, level: nil, value: nil, staticSeverity: a.severity, at: t) {
                    tracked[identity] = a
                } else {
                    tracked[identity] = nil
                }
            }
        }
        if limit > 0 {
            let active = tracked.values.reduce(0) { $0 + ($1.state == .resolved ? 0 : 1) }
            if active > limit {
                tracked.removeAll()
                throw AlertRuleError.limitExceeded(limit: limit, alerts: active)
            }
        }
    }

    /// The identity of an alert with `labels`: a tiered rule's alert keeps it across tiers, so
    /// `severity` is not part of it; for a rule without tiers every label is (as in Prometheus).
    public static func identity(of labels: Labels, tiered: Bool) -> Labels {
        tiered && labels[Alert.severityLabel] != nil ? labels.removing([Alert.severityLabel]) : labels
    }

    /// Moves one alert to time `t`; `level` nil means no tier holds (or the series is absent, then
    /// `value` is nil too). Returns false when the alert is to be dropped (a pending alert that stopped).
    mutating func advance(_ a: inout Tracked, level rawLevel: Int?, value: Double?, staticSeverity: String?, at t: Timestamp) -> Bool {
        if let value { a.value = value }
        a.lastEvaluatedAt = t
        var level = rawLevel
        if level == nil, a.state == .firing, let value, inRecoveryBand(value) { level = tierCount - 1 }
        for i in 0..<tierCount {
            if let level, level <= i {
                if a.tierSince[i] == nil { a.tierSince[i] = t }
            } else {
                a.tierSince[i] = nil
            }
        }
        func severity(ofTier i: Int) -> String? { tiers.isEmpty ? staticSeverity : tiers[i].severity }
        func tierIndex(of severity: String?) -> Int {
            tiers.isEmpty ? 0 : (tiers.firstIndex { $0.severity == severity } ?? tierCount - 1)
        }
        func mostSevereReached() -> Int? {
            for i in 0..<tierCount {
                if let since = a.tierSince[i], t - since >= hold(ofTier: i) { return i }
            }
            return nil
        }
        func changeSeverity(to s: String?) {
            guard s != a.severity else { return }
            a.previousSeverity = a.severity
            a.severity = s
            a.severityChangedAt = t
        }

        switch a.state {
        case .pending:
            guard let level else { return false }
            if let fire = mostSevereReached() {
                a.state = .firing
                a.firedAt = t
                a.severity = severity(ofTier: fire)
            } else {
                a.severity = severity(ofTier: level)
            }
            return true
        case .firing:
            guard let level else {
                if keepFiringFor > 0 {
                    let since = a.keepFiringSince ?? t
                    a.keepFiringSince = since
                    if t - since < keepFiringFor { return true }
                }
                a.state = .resolved
                a.resolvedAt = t
                a.keepFiringSince = nil
                a.tierKeepSince = nil
                return true
            }
            a.keepFiringSince = nil
            if tiers.isEmpty {
                changeSeverity(to: staticSeverity)
                return true
            }
            let current = tierIndex(of: a.severity)
            if let up = mostSevereReached(), up < current {
                a.tierKeepSince = nil
                changeSeverity(to: severity(ofTier: up))
            } else if level > current {
                // The current tier stopped holding: keep it for keep_firing_for, then step down.
                if keepFiringFor > 0 {
                    let since = a.tierKeepSince ?? t
                    a.tierKeepSince = since
                    if t - since < keepFiringFor { return true }
                }
                a.tierKeepSince = nil
                changeSeverity(to: severity(ofTier: level))
            } else {
                a.tierKeepSince = nil
            }
            return true
        case .resolved:
            return true
        }
    }

    /// Sets the rendered annotations of the alert with `identity`.
    public mutating func setAnnotations(_ annotations: [String: String], for identity: Labels) {
        tracked[identity]?.annotations = annotations
    }

    /// Every tracked alert (pending, firing and recently resolved), ordered by labels.
    public func alerts(source: String = "") -> [Alert] {
        tracked.values.sorted { $0.identity.encoded.lexicographicallyPrecedes($1.identity.encoded) }.map { $0.alert(source: source) }
    }

    /// The alerts that are pending or firing (what `ALERTS` shows).
    public func activeAlerts(source: String = "") -> [Alert] {
        alerts(source: source).filter { $0.state != .resolved }
    }

    /// Number of tracked alerts.
    public var count: Int { tracked.count }
}

extension AlertStateMachine.Tracked {
    func alert(source: String) -> Alert {
        var alert = Alert(identity: identity, severity: severity, annotations: annotations, state: state, value: value,
                          activeAt: activeAt, firedAt: firedAt, resolvedAt: resolvedAt, source: source)
        alert.previousSeverity = previousSeverity
        alert.severityChangedAt = severityChangedAt
        alert.evaluatedAt = lastEvaluatedAt
        return alert
    }
}

/// Why an alerting rule's evaluation failed (the rule is then marked unhealthy with this error).
public enum AlertRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Two series of the result have the same labels once the rule's labels are applied.
    case duplicateLabelSet(Labels)
    /// More active alerts than the group's `limit`.
    case limitExceeded(limit: Int, alerts: Int)

    public var description: String {
        switch self {
        case .duplicateLabelSet(let labels):
            "vector contains metrics with the same labelset after applying alert labels: \(labels)"
        case .limitExceeded(let limit, let alerts):
            "exceeded limit of \(limit) with \(alerts) alerts"
        }
    }
}
