import JSON
import TextRendering
/// PagerDuty Events API v2: `trigger` while any alert of the group fires, `resolve` when all
/// resolved, with `dedup_key` = SHA-256 of the group key (as Alertmanager does), so a trigger,
/// its updates and its resolve address the same incident, retries included.
///
/// Tiers map to PagerDuty's severities: critical → critical, high → error, medium → warning,
/// low → info (anything else → error). Firing alerts' last 30 minutes are in
/// `custom_details.history`: per alert its summary, fingerprint, sparkline line and
/// `[unix_seconds, value]` points.
///
/// Limits (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ and /overview/):
/// `summary` at most 1,024 characters, `dedup_key` 255, the event 512 KB. The summary is cut
/// (UTF-16 code units, PagerDuty's unit being undocumented) before its "(and N more)"; the body
/// as sent stays within 512,000 bytes by shortening `custom_details`: the list of alerts past
/// the first 100 first, then descriptions, then alerts (`Detail.fit`). `links[].href` and
/// `client_url` are absolute http(s) URLs or absent.
/// The routing key is not in the stored body: `routing_key` holds a placeholder that the outbox
/// replaces with the key read from its file at send time.
public struct PagerDutyReceiver: PayloadBuilder {
    public var kind: String { "pagerduty" }
    /// Replaced by the routing key at send time (see `Integration.bodySecret`).
    public static let routingKeyPlaceholder = "@@agent-routing-key@@"
    static let maxSummary = 1024
    static let maxEventBytes = 512_000

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
        let detail = Detail.fit(total: n.alerts.count, cap: min(n.alerts.count, PagerDutyReceiver.maxDetailed), descriptionLimit: PagerDutyReceiver.maxDescription) {
            // Room for the routing key, spliced in at send time (32 characters; JSON-escaped, at most 6 bytes each).
            render(n, details: details(n, $0)).count + 6 * 32 <= PagerDutyReceiver.maxEventBytes
        }
        return Payload(body: render(n, details: details(n, detail)))
    }

    static let maxDetailed = 100, maxDescription = 16_384

    /// `custom_details`: the firing and the resolved alerts as text (a block per detailed alert, a
    /// line per listed one, then how many more), counts, group and common labels, and the
    /// histories of the detailed firing alerts.
    func details(_ n: AlertNotification, _ d: Detail) -> JSON {
        let u = TextUnit.utf16, plain = Markup.plain
        var text: [NotifiedAlert.Status: [String]] = [.firing: [], .resolved: []]
        for (i, a) in n.alerts.enumerated() {
            if i < d.detailed {
                var block = "• [\(MessageText.tierText(a))] \(plain.fitted(MessageText.summary(a), 1024, u))"
                if let description = MessageText.description(a), d.description > 0 { block += "\n  " + plain.fitted(description, d.description, u) }
                if let h = MessageText.historyLine(a, code: false) { block += "\n  " + h }
                if let r = MessageText.runbook(a) { block += "\n  Runbook: " + plain.fitted(r, 2048, u) }
                text[a.status, default: []].append(block)
            } else if i < d.detailed + d.listed {
                text[a.status, default: []].append("• [\(MessageText.tierText(a))] \(plain.fitted(MessageText.summary(a), 300, u))")
            }
        }
        let hidden = n.alerts.dropFirst(d.detailed + d.listed)
        for status in [NotifiedAlert.Status.firing, .resolved] {
            let count = hidden.filter { $0.status == status }.count
            if count > 0 { text[status, default: []].append("… and \(count) more") }
        }
        var details: [(String, JSON)] = [
            ("firing", .string(text[.firing, default: []].joined(separator: "\n"))),
            ("resolved", .string(text[.resolved, default: []].joined(separator: "\n"))),
            ("num_firing", .int(Int64(n.firing.count))),
            ("num_resolved", .int(Int64(n.resolved.count))),
            ("group_labels", WebhookReceiver.labels(n.groupLabels)),
            ("common_labels", WebhookReceiver.labels(n.commonLabels)),
        ]
        let histories = n.alerts.prefix(d.detailed).filter { $0.status == .firing }.compactMap { a -> JSON? in
            guard let points = WebhookReceiver.historyPoints(a) else { return nil }
            var item: [(String, JSON)] = [("alert", .string(plain.fitted(MessageText.summary(a), 300, u))), ("fingerprint", .string(a.fingerprintHex))]
            if let line = MessageText.historyLine(a, code: false) { item.append(("sparkline", .string(line))) }
            item.append(("points", points))
            return .object(item)
        }
        if !histories.isEmpty { details.append(("history", .array(histories))) }
        return .object(details)
    }

    func render(_ n: AlertNotification, details: JSON) -> [UInt8] {
        let u = TextUnit.utf16, plain = Markup.plain
        let first = n.firing.first ?? n.alerts.first
        var summary = n.title
        if let first { summary += ": " + MessageText.summary(first) }
        let more = n.firing.count > 1 ? " (and \(n.firing.count - 1) more)" : ""
        let src = source ?? first?.labels["instance"] ?? first?.labels["host"] ?? first?.labels["job"] ?? "agent"
        var payload: [(String, JSON)] = [
            // The count stays whole: the summary is cut before it.
            ("summary", .string(plain.fitted(summary, PagerDutyReceiver.maxSummary - u.count(more), u) + more)),
            ("source", .string(plain.fitted(src.isEmpty ? "agent" : src, 255, u))),
            ("severity", .string(PagerDutyReceiver.severity(n.severity))),
            ("timestamp", .string(RFC3339.format(n.createdAt))),
        ]
        if let c = eventClass ?? (n.groupLabels["alertname"] ?? first?.name), !c.isEmpty { payload.append(("class", .string(plain.fitted(c, 255, u)))) }
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
        if let url = MessageText.linkURL(n.externalURL) { message.append(("client_url", .string(url))) }
        // Links must be absolute http(s) URLs; a relative runbook stays in custom_details' text.
        var seen = Set<String>()
        let links = n.alerts.compactMap { MessageText.runbook($0).flatMap(MessageText.linkURL) }.filter { seen.insert($0).inserted }.prefix(5)
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
