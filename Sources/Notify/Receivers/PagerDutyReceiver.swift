/// PagerDuty Events API v2: `trigger` while any alert of the group fires, `resolve` when all
/// resolved, with `dedup_key` = SHA-256 of the group key (as Alertmanager does), so a trigger,
/// its updates and its resolve address the same incident, retries included.
///
/// Tiers map to PagerDuty's severities: critical → critical, high → error, medium → warning,
/// low → info (anything else → error). Firing alerts' last 30 minutes are in
/// `custom_details.history`: per alert its summary, fingerprint, sparkline line and
/// `[unix_seconds, value]` points. Limits: `summary` is cut to 1,024 characters; an event over
/// 512 KB loses its `custom_details` (replaced by a note), as Alertmanager does.
/// The routing key is not in the stored body: `routing_key` holds a placeholder that the outbox
/// replaces with the key read from its file at send time.
public struct PagerDutyReceiver: PayloadBuilder {
    public var kind: String { "pagerduty" }
    /// Replaced by the routing key at send time (see `Integration.bodySecret`).
    public static let routingKeyPlaceholder = "@@agent-routing-key@@"
    static let maxSummary = 1024
    static let maxEventBytes = 512 * 1024

    public var source: String?
    public var component: String?
    public var group: String?
    public var eventClass: String?

    public init(source: String? = nil, component: String? = nil, group: String? = nil, eventClass: String? = nil) {
        self.source = source
        self.component = component
        self.group = group
        self.eventClass = eventClass
    }

    /// PagerDuty's severity for a tier.
    public static func severity(_ tier: String?) -> String {
        switch tier?.lowercased() {
        case "critical": "critical"
        case "high", "error": "error"
        case "medium", "warning": "warning"
        case "low", "info": "info"
        default: "error"
        }
    }

    /// The dedup key of a group: hex SHA-256 of the group key.
    public static func dedupKey(_ groupKey: String) -> String {
        Hex.bytes(SHA256.hash(Array(groupKey.utf8)))
    }

    public func payload(for n: AlertNotification) -> Payload {
        var details: [(String, JSON)] = [
            ("firing", .string(MessageText.plainText(AlertNotification.subset(n, .firing), code: false))),
            ("resolved", .string(MessageText.plainText(AlertNotification.subset(n, .resolved), code: false))),
            ("num_firing", .int(Int64(n.firing.count))),
            ("num_resolved", .int(Int64(n.resolved.count))),
            ("group_labels", WebhookReceiver.labels(n.groupLabels)),
            ("common_labels", WebhookReceiver.labels(n.commonLabels)),
        ]
        let histories = n.firing.compactMap { a -> JSON? in
            guard let points = WebhookReceiver.historyPoints(a) else { return nil }
            var item: [(String, JSON)] = [("alert", .string(MessageText.summary(a))), ("fingerprint", .string(a.fingerprintHex))]
            if let line = MessageText.historyLine(a, code: false) { item.append(("sparkline", .string(line))) }
            item.append(("points", points))
            return .object(item)
        }
        if !histories.isEmpty { details.append(("history", .array(histories))) }
        var body = render(n, details: .object(details))
        if body.count > PagerDutyReceiver.maxEventBytes {
            details = [("error", .string("Custom details have been removed because the original event exceeds the maximum size of 512 KB"))]
            body = render(n, details: .object(details))
        }
        return Payload(body: body)
    }

    func render(_ n: AlertNotification, details: JSON) -> [UInt8] {
        let first = n.firing.first ?? n.alerts.first
        var summary = n.title
        if let first { summary += ": " + MessageText.summary(first) }
        if n.firing.count > 1 { summary += " (and \(n.firing.count - 1) more)" }
        let src = source ?? first?.labels["instance"] ?? first?.labels["host"] ?? first?.labels["job"] ?? "agent"
        var payload: [(String, JSON)] = [
            ("summary", .string(MessageText.truncate(summary, PagerDutyReceiver.maxSummary))),
            ("source", .string(MessageText.truncate(src, 255))),
            ("severity", .string(PagerDutyReceiver.severity(n.severity))),
            ("timestamp", .string(RFC3339.format(n.createdAt))),
        ]
        if let c = eventClass ?? (n.groupLabels["alertname"] ?? first?.name) { payload.append(("class", .string(c))) }
        if let component { payload.append(("component", .string(component))) }
        if let group { payload.append(("group", .string(group))) }
        payload.append(("custom_details", details))
        var message: [(String, JSON)] = [
            ("routing_key", .string(PagerDutyReceiver.routingKeyPlaceholder)),
            ("dedup_key", .string(PagerDutyReceiver.dedupKey(n.groupKey))),
            ("event_action", .string(n.status == .firing ? "trigger" : "resolve")),
            ("payload", .object(payload)),
            ("client", "agent"),
        ]
        if !n.externalURL.isEmpty { message.append(("client_url", .string(n.externalURL))) }
        var seen = Set<String>()
        let links = n.alerts.compactMap(MessageText.runbook).filter { seen.insert($0).inserted }.prefix(5)
        if !links.isEmpty {
            message.append(("links", .array(links.map { .object([("href", .string($0)), ("text", "Runbook")]) })))
        }
        return JSON.object(message).encoded()
    }
}

extension AlertNotification {
    /// A copy holding only the alerts with this status.
    static func subset(_ n: AlertNotification, _ status: NotifiedAlert.Status) -> AlertNotification {
        var copy = n
        copy.alerts = n.alerts.filter { $0.status == status }
        return copy
    }
}
