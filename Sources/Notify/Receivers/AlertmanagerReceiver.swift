import TimeSeries

/// Alerts for Alertmanager's `POST /api/v2/alerts`, for fleets that already run an Alertmanager.
///
/// Alertmanager expects clients to re-send firing alerts before their `endsAt` (Prometheus sends
/// `endsAt` = now + 4 × its resend delay and re-sends every minute); the dispatcher re-sends this
/// receiver's groups every `resend_interval` and `endsAt` of a firing alert is the notification's
/// `validUntil`. Alertmanager's identity includes `severity`, so when a tier changed the alert is
/// also sent under its previous tier as resolved; otherwise the old tier would linger there.
public struct AlertmanagerReceiver: PayloadBuilder {
    public var kind: String { "alertmanager" }

    public init() {}

    public func payload(for n: AlertNotification) -> Payload {
        var items: [JSON] = []
        for alert in n.alerts {
            let endsAt = alert.status == .firing ? n.validUntil : (alert.endsAt ?? n.createdAt)
            items.append(item(labels: alert.labels, alert: alert, endsAt: endsAt, n: n))
            if alert.status == .firing, let before = alert.previousSeverity {
                items.append(item(labels: alert.labels.setting("severity", to: before), alert: alert, endsAt: n.createdAt, n: n))
            }
        }
        return Payload(body: JSON.array(items).encoded())
    }

    func item(labels: Labels, alert: NotifiedAlert, endsAt: Int64, n: AlertNotification) -> JSON {
        .object([
            ("labels", WebhookReceiver.labels(labels)),
            ("annotations", .sortedObject(alert.annotations)),
            ("startsAt", .string(RFC3339.format(alert.startsAt))),
            ("endsAt", .string(RFC3339.format(endsAt))),
            ("generatorURL", .string(n.externalURL)),
        ])
    }
}
