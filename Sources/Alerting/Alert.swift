public import TimeSeries

/// An alert as rules produce it and notifications consume it: one rule's verdict on one label set.
///
/// Identity (`identity`) is, for a tiered rule, its label set *without* `severity`: a move between
/// tiers changes `severity` on the same alert (an escalation or de-escalation), it does not start a
/// new alert. For a rule without tiers it is the whole label set, as in Prometheus, so a
/// warning/critical pair of rules with one name gives two alerts told apart by `severity`.
/// `labels` is what receivers see: the identity plus `severity` when the alert has one.
public struct Alert: Sendable, Equatable {
    /// Where an alert is in its life.
    public enum State: String, Sendable, Codable {
        /// The condition holds, but not yet for the rule's `for`.
        case pending
        /// The condition has held for `for` (or `keep_firing_for` keeps it firing).
        case firing
        /// It fired and no longer holds; kept for notification for a while.
        case resolved
    }

    /// The alert's labels (without `severity` for a tiered rule): `alertname`, the series' labels, the rule's labels.
    public var identity: Labels
    /// The current tier, or the `severity` label a rule without tiers sets; nil for an alert without one.
    public var severity: String?
    /// Annotations after templating (`summary`, `description`, `runbook_url`, …).
    public var annotations: [String: String]
    public var state: State
    /// The expression's value at the last evaluation.
    public var value: Double
    /// When the condition started to hold (pending since).
    public var activeAt: Timestamp
    /// When it started firing.
    public var firedAt: Timestamp?
    /// When it resolved.
    public var resolvedAt: Timestamp?
    /// The rule group and file it came from, for links and logs.
    public var source: String
    /// The tier before the last tier change (an escalation or de-escalation), if there was one.
    public var previousSeverity: String? = nil
    /// When the tier last changed while the alert was firing (nil: it never changed).
    public var severityChangedAt: Timestamp? = nil
    /// The evaluation that produced `value` (the group's evaluation time, before `query_offset`);
    /// nil for an alert not made by a rule group. A value history ends there.
    public var evaluatedAt: Timestamp? = nil
    /// Until when a firing alert holds without news, as Prometheus's `ValidUntil`: the evaluation
    /// plus 4 × the larger of the resend delay (`Alert.resendDelay`) and the group's interval
    /// ("two evaluations or sends may fail"). What Alertmanager gets as a firing alert's `endsAt`.
    /// Nil unless firing, and for alerts not made by a rule group.
    public var validUntil: Timestamp? = nil
    /// A link to the rule's expression (`<external URL>/graph?g0.expr=…&g0.tab=1`), as Prometheus's
    /// `generatorURL`; empty when there is no rule or no external URL.
    public var generatorURL: String = ""

    public init(identity: Labels, severity: String?, annotations: [String: String], state: State, value: Double,
                activeAt: Timestamp, firedAt: Timestamp? = nil, resolvedAt: Timestamp? = nil, source: String = "") {
        self.identity = identity
        self.severity = severity
        self.annotations = annotations
        self.state = state
        self.value = value
        self.activeAt = activeAt
        self.firedAt = firedAt
        self.resolvedAt = resolvedAt
        self.source = source
    }

    /// The label that carries the tier.
    public static let severityLabel = "severity"

    /// Prometheus's default `--rules.alert.resend-delay` (1m): how often it re-sends a firing alert.
    public static let resendDelay: Milliseconds = 60_000

    /// This alert with the `external` labels added where it has no label of that name (its own
    /// win, as in Prometheus's notifier): the labels it carries once it leaves the agent.
    public func addingExternalLabels(_ external: Labels) -> Alert {
        guard !external.isEmpty else { return self }
        var copy = self
        copy.identity = Alert.adding(external, to: identity)
        return copy
    }

    /// `labels` with the `external` labels whose names it lacks.
    public static func adding(_ external: Labels, to labels: Labels) -> Labels {
        guard !external.isEmpty else { return labels }
        var b = LabelsBuilder(external)
        for l in labels.labels { b.set(l.name, l.value) }
        return b.build()
    }

    /// What receivers see: the identity plus `severity`.
    public var labels: Labels {
        // A plain rule's identity already holds its severity: no new label set to build.
        guard let severity, identity[Alert.severityLabel] != severity else { return identity }
        return identity.setting(Alert.severityLabel, to: severity)
    }

    /// The alert's name (`alertname`).
    public var name: String { identity["alertname"] ?? "" }

    /// A stable fingerprint of the identity, the same across restarts and processes.
    public var fingerprint: UInt64 { identity.stableHash }
}
