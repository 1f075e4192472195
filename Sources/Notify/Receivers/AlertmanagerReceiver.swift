import TimeSeries
import TextRendering
import JSON

/// Alerts for Alertmanager's `POST /api/v2/alerts`, for fleets that already run an Alertmanager.
///
/// Alertmanager expects clients to re-send firing alerts before their `endsAt` (Prometheus sends
/// `endsAt` = now + 4 × its resend delay and re-sends every minute); the dispatcher re-sends this
/// receiver's groups every `resend_interval` and `endsAt` of a firing alert is the notification's
/// `validUntil`. Alertmanager's identity includes `severity`, so when a tier changed the alert is
/// also sent under its previous tier as resolved; otherwise the old tier would linger there.
///
/// History, when `sparklineAnnotation` is on (config `sparkline_annotation: true`; off by default,
/// so that an alert reaches Alertmanager with exactly the annotations a Prometheus with the same
/// rule sends): a firing alert's last 30 minutes go as one more annotation, `sparkline` (the chat
/// line, `▁▂▃▅▇█▇▅ min 120 max 870 last 640 (30m)`), unless the rule sets that annotation itself.
/// Annotations are free strings that Alertmanager neither matches, groups nor deduplicates on
/// (Prometheus's own `{{ $value }}` annotations change every evaluation too); each re-send replaces
/// them, so templates downstream (`{{ .Annotations.sparkline }}`) see the latest line. The raw
/// points are not sent: Alertmanager's model has no place for numbers but a string.
public struct AlertmanagerReceiver: PayloadBuilder {
    public var kind: String { "alertmanager" }
    /// Add the `sparkline` annotation to firing alerts.
    public var sparklineAnnotation: Bool

    public init(sparklineAnnotation: Bool = false) { self.sparklineAnnotation = sparklineAnnotation }

    public func payload(for n: AlertNotification) -> Payload {
        var items: [JSON] = []
        for alert in n.alerts {
            // Firing: valid until the later of Prometheus's `ValidUntil` (the evaluation plus 4 × the
            // larger of 1m and the rule group's interval) and the notification's own (4 × the time
            // to this receiver's next send), so the alert neither ends sooner than Prometheus's
            // would nor expires there between two of our sends.
            let endsAt = alert.status == .firing ? max(alert.validUntil ?? n.validUntil, n.validUntil) : (alert.endsAt ?? n.createdAt)
            items.append(item(labels: alert.labels, alert: alert, endsAt: endsAt, n: n))
            if alert.status == .firing, let before = alert.previousSeverity {
                items.append(item(labels: alert.labels.setting("severity", to: before), alert: alert, endsAt: n.createdAt, n: n, history: false))
            }
        }
        return Payload(body: JSON.array(items).encoded())
    }

    /// The annotation that carries a firing alert's sparkline line.
    public static let sparklineAnnotation = "sparkline"

    func item(labels: Labels, alert: NotifiedAlert, endsAt: Int64, n: AlertNotification, history: Bool = true) -> JSON {
        var annotations = alert.annotations
        if history, sparklineAnnotation, annotations[AlertmanagerReceiver.sparklineAnnotation] == nil, let line = MessageText.historyLine(alert, code: false) {
            annotations[AlertmanagerReceiver.sparklineAnnotation] = line
        }
        var members: [(String, JSON)] = [
            ("labels", WebhookReceiver.labels(labels)),
            ("annotations", .sortedObject(annotations)),
            ("startsAt", .string(RFC3339.format(alert.startsAt))),
            ("endsAt", .string(RFC3339.format(endsAt))),
        ]
        // `generatorURL` is a `uri` in Alertmanager's API (api/v2/openapi.yaml, `alert`): without an
        // absolute external URL there is none to give ("" or "/agent" is not one).
        // The rule's link (external URL + `/graph?g0.expr=…&g0.tab=1`, as Prometheus sends it), else
        // the external URL (a gate's verdict has no expression); as long as the expression makes it.
        if let url = MessageText.linkURL(alert.generatorURL, maxBytes: .max) ?? MessageText.linkURL(n.externalURL) {
            members.append(("generatorURL", .string(url)))
        }
        return .object(members)
    }
}
