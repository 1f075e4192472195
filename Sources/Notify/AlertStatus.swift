public import TimeSeries

/// Where one firing alert stands in the pipeline, as Alertmanager's API reports it
/// (`receivers`, `status.silencedBy`, `status.inhibitedBy`, `status.state`).
public struct AlertStatus: Sendable, Equatable {
    /// Alertmanager's `alertStatus.state`.
    public enum State: String, Sendable {
        /// Neither silenced nor inhibited.
        case active
        /// Silenced or inhibited.
        case suppressed
    }

    /// The receivers of the routes that take the alert, in tree order (a receiver twice when two
    /// routes lead to it, as Alertmanager lists them).
    public var receivers: [String]
    /// Ids of the active silences that match it, sorted.
    public var silencedBy: [String]
    /// The fingerprint (16 hex digits) of the firing alert that inhibits it, if one does.
    public var inhibitedBy: [String]

    public var state: State { silencedBy.isEmpty && inhibitedBy.isEmpty ? .active : .suppressed }

    /// The statuses of `alerts` (the labels of every firing alert, as sent), judged together: each
    /// may inhibit the others, as every firing alert Alertmanager holds may. `route` is nil when no
    /// receiver is configured (no receivers, nothing inhibits). Fingerprints are Alertmanager's
    /// (`Labels.stableHash` of the labels as sent).
    public static func of(_ alerts: [Labels], route: Route?, inhibitor: Inhibitor, silences: [Silence]) -> [AlertStatus] {
        let index = inhibitor.index(firing: alerts.map { (labels: $0, fingerprint: $0.stableHash) })
        return alerts.map { labels in
            AlertStatus(
                receivers: route?.match(labels).map(\.receiver) ?? [],
                silencedBy: silences.filter { $0.matchers.matches(labels) }.map(\.id).sorted(),
                inhibitedBy: index.inhibitor(of: labels, fingerprint: labels.stableHash).map { [Hex.fixed64($0)] } ?? [])
        }
    }
}

/// One aggregation group as Alertmanager's `GET /api/v2/alerts/groups` shows it: a route's
/// receiver, the values of its `group_by` labels, and the alerts in it.
public struct AlertGroupView: Sendable, Equatable {
    public var receiver: String
    public var labels: Labels
    /// Positions in the list the groups were formed from, in label order.
    public var members: [Int]

    /// The groups `alerts` form under `route`, as the dispatcher forms them (one per route and
    /// group-label values), keeping only routes `takesRoute` accepts and alerts `takesAlert`
    /// accepts (by position); a group left empty is not shown. Ordered as Alertmanager orders
    /// them: by group labels, then receiver.
    public static func groups(
        of alerts: [Labels], route: Route, takesRoute: (Route) -> Bool, takesAlert: (Int) -> Bool
    ) -> [AlertGroupView] {
        var byID: [String: AlertGroupView] = [:]
        for (i, labels) in alerts.enumerated() where takesAlert(i) {
            for r in route.match(labels) where takesRoute(r) {
                let groupLabels = r.groupLabels(of: labels)
                let id = r.id + "\u{1}" + String(decoding: groupLabels.encoded, as: UTF8.self)
                byID[id, default: AlertGroupView(receiver: r.receiver, labels: groupLabels, members: [])].members.append(i)
            }
        }
        return byID.values.map { group in
            var g = group
            g.members.sort { alerts[$0].encoded.lexicographicallyPrecedes(alerts[$1].encoded) }
            return g
        }.sorted {
            if $0.labels != $1.labels { return $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
            return $0.receiver < $1.receiver
        }
    }
}
