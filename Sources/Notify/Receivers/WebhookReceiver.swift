import TimeSeries
import TextRendering
import JSON

/// Alertmanager's webhook payload, version 4, byte for byte as Alertmanager's Go encoder writes it:
/// the same field names, order and shapes (`receiver`, `status`, `alerts`, `groupLabels`,
/// `commonLabels`, `commonAnnotations`, `externalURL`, `version`, `groupKey`, `truncatedAlerts`),
/// maps with sorted keys, `<>&` escaped as `\u003c…`, a trailing newline, and `endsAt` of a firing
/// alert as Go's zero time. Receivers written for Alertmanager work unchanged.
public struct WebhookReceiver: PayloadBuilder {
    public var kind: String { "webhook" }
    /// Keep at most this many alerts (0: all); the rest are counted in `truncatedAlerts`.
    public var maxAlerts: Int

    public init(maxAlerts: Int = 0) { self.maxAlerts = maxAlerts }

    public func payload(for notification: AlertNotification) -> Payload {
        Payload(body: message(notification).encoded(escapeHTML: true, newline: true))
    }

    /// The message as a JSON value (the file receiver adds a field to it).
    func message(_ n: AlertNotification) -> JSON {
        var alerts = n.alerts
        var truncated = 0
        if maxAlerts > 0, alerts.count > maxAlerts {
            truncated = alerts.count - maxAlerts
            alerts = Array(alerts.prefix(maxAlerts))
        }
        return .object([
            ("receiver", .string(n.receiver)),
            ("status", .string(n.status.rawValue)),
            ("alerts", .array(alerts.map { WebhookReceiver.alert($0, externalURL: n.externalURL) })),
            ("groupLabels", WebhookReceiver.labels(n.groupLabels)),
            ("commonLabels", WebhookReceiver.labels(n.commonLabels)),
            ("commonAnnotations", .sortedObject(n.commonAnnotations)),
            ("externalURL", .string(n.externalURL)),
            ("version", "4"),
            ("groupKey", .string(n.groupKey)),
            ("truncatedAlerts", .int(Int64(truncated))),
        ])
    }

    static func alert(_ a: NotifiedAlert, externalURL: String) -> JSON {
        var members: [(String, JSON)] = [
            ("status", .string(a.status.rawValue)),
            ("labels", labels(a.labels)),
            ("annotations", .sortedObject(a.annotations)),
            ("startsAt", .string(RFC3339.format(a.startsAt))),
            ("endsAt", .string(a.endsAt.map(RFC3339.format) ?? RFC3339.zero)),
            ("generatorURL", .string(a.generatorURL.isEmpty ? externalURL : a.generatorURL)),
            ("fingerprint", .string(a.fingerprintHex)),
        ]
        // Our one addition to Alertmanager's shape, last, and only on firing alerts that have it.
        if let points = historyPoints(a) { members.append(("history", points)) }
        return .object(members)
    }

    /// A firing alert's history as `[[unix_seconds, value], …]`, oldest first (only the steps
    /// that had a value); nil when it has none.
    static func historyPoints(_ a: NotifiedAlert) -> JSON? {
        guard a.status == .firing, let history = a.history else { return nil }
        return .array(history.points.map { .array([.double(Double($0.timestamp) / 1000), .double($0.value)]) })
    }

    static func labels(_ l: Labels) -> JSON {
        .object(l.labels.map { ($0.name, .string($0.value)) })
    }
}
