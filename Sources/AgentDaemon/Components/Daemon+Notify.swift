import Alerting
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import HTTPServing
import Ingest
import Notify
import TimeSeries

extension Daemon {
    /// The notifier of `notify:`, or nil when no receiver is configured.
    func buildNotifier() throws -> Notifier? {
        guard config.notify.isEnabled else { return nil }
        let notifier = Notifier(configuration: try config.notify.notifierConfiguration(stateDir: config.global.stateDir),
                                transport: CurlTransport(client: HTTPClient()), logger: logger, clock: clock, history: makeAlertHistory())
        // The outbox logs what it found (undelivered entries, damaged files) itself.
        try notifier.open()
        return notifier
    }

    /// Every rule group's alerts, as the notifier wants them after each evaluation.
    func forwardAlerts() {
        guard let notifier else { return }
        notifier.receive(alertsAsSent())
    }

    /// The alerts the notifier takes, as Prometheus sends them to Alertmanager: every rule group's
    /// (pending, firing and resolved) and the gates' verdicts (`notify:` in a gate file), with
    /// `global.external_labels` added where an alert has no label of that name. Routes, silences
    /// and inhibitions see these labels, as an Alertmanager behind a Prometheus would.
    func alertsAsSent() -> [Alert] {
        let external = Labels(running.global.externalLabels)
        return (latestAlerts.value.values.flatMap { $0 } + (gates?.alerts(now: clock()) ?? [])).map { $0.addingExternalLabels(external) }
    }

    /// Checkpoint sections of the notifier: silences and what each group last sent (as the outbox
    /// holds it on disk, so the checkpoint never claims a notification that is not there).
    func notifierSections() -> [String: [UInt8]] {
        guard let notifier else { return [:] }
        return [Silences.checkpointSection: notifier.silences.encoded(), Dispatcher.checkpointSection: notifier.encodedLog()]
    }

    /// `agent status`'s `notifications`: per integration, deliveries, refusals (the last one with
    /// the service's answer, quoted), withheld resolutions and entries waiting.
    func notifierStatus() -> [String: Any] {
        guard let notifier else { return [:] }
        let s = notifier.outbox.stats
        let now = clock()
        let integrations: [[String: Any]] = notifier.outbox.integrationStatus().map { i in
            var doc: [String: Any] = [
                "receiver": i.receiver, "integration": i.integration, "delivered": i.delivered,
                "refused": i.refused.values.reduce(0, +), "withheld_resolutions": i.withheldResolutions, "pending": i.pending,
                "unheard_firings": i.unheardFirings,
            ]
            if let r = i.lastRefusal {
                var last: [String: Any] = ["at": r.at, "age_seconds": max(0, now - r.at) / 1000, "reason": r.reason, "answer": r.answer]
                if let status = r.status { last["status"] = status }
                doc["last_refusal"] = last
            }
            return doc
        }
        return ["pending": s.pending, "delivered": s.delivered, "refused": s.failedPermanently, "gave_up": s.gaveUp,
                "integrations": integrations]
    }

    /// The notifier, or 409 when no receiver is configured (silences need one).
    func silencingNotifier() throws(APIError) -> Notifier {
        guard let notifier else { throw APIError(.unavailable, "no notification receivers are configured (notify: in the configuration)") }
        return notifier
    }

    /// `GET /api/v1/silences`: every silence.
    func listSilences(_ request: Request, _ p: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        .apiSuccess(try silencingNotifier().silences.list().map(silenceDocument))
    }

    /// `POST /api/v1/silences`: `matchers` (`alertname="X" route="/api"`), `duration` (`2h` or
    /// seconds, at most Go's 292 years), optional `author` and `comment`.
    func addSilence(_ request: Request, _ p: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        let notifier = try silencingNotifier()
        guard let text = p["matchers"], !text.isEmpty else { throw APIError(.badData, "give matchers, e.g. alertname=\"ApiLatency\" route=\"/api\"") }
        let matchers: [Matcher]
        do { matchers = try Matcher.parseList(text) } catch { throw APIError(.badData, error.description) }
        guard let duration = try APIParameters.duration(p, "duration"), duration > 0 else {
            throw APIError(.badData, "give a positive duration (--for 2h)")
        }
        let (endsAt, overflow) = clock().addingReportingOverflow(duration)
        guard !overflow else { throw APIError.invalidParameter("duration", "ends beyond the representable time") }
        do {
            let silence = try notifier.silences.add(matchers: matchers, endsAt: endsAt, createdBy: p["author"] ?? "", comment: p["comment"] ?? "")
            queue.async { self.checkpoint(reason: "silence added") }
            return .apiSuccess(silenceDocument(silence))
        } catch {
            throw APIError(.badData, error.description)
        }
    }

    /// `POST /api/v1/silences/expire`: `id`.
    func expireSilence(_ request: Request, _ p: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        let notifier = try silencingNotifier()
        guard let id = p["id"], !id.isEmpty else { throw APIError(.badData, "POST an id") }
        do {
            let silence = try notifier.silences.expire(id: id)
            queue.async { self.checkpoint(reason: "silence expired") }
            return .apiSuccess(silenceDocument(silence))
        } catch {
            throw APIError(.notFound, error.description)
        }
    }

    func silenceDocument(_ s: Silence) -> [String: Any] {
        ["id": s.id, "matchers": s.matchers.map(\.description), "startsAt": Double(s.startsAt) / 1000, "endsAt": Double(s.endsAt) / 1000,
         "createdBy": s.createdBy, "comment": s.comment, "state": s.state(at: clock()).rawValue]
    }

    func notifierMetrics() -> [SelfMetricFamily] {
        guard let notifier else { return [] }
        let s = notifier.outbox.stats
        func counter(_ name: String, _ help: String, _ v: UInt64) -> SelfMetricFamily {
            SelfMetricFamily(name: name, kind: .counter, help: help, samples: [([], Double(v))])
        }
        let perIntegration = s.integrations.sorted { $0.key < $1.key }.map(\.value)
        return [
            SelfMetricFamily(name: "agent_notifications_total", kind: .counter, help: "Notifications by result.", samples: [
                ([("result", "enqueued")], Double(s.enqueued)), ([("result", "delivered")], Double(s.delivered)),
                ([("result", "failed_permanently")], Double(s.failedPermanently)), ([("result", "gave_up")], Double(s.gaveUp)),
                ([("result", "dropped")], Double(s.dropped)), ([("result", "removed")], Double(s.removed)),
                ([("result", "withheld")], Double(s.withheld)),
            ]),
            SelfMetricFamily(name: "agent_notifications_delivered_total", kind: .counter, help: "Notifications delivered, by receiver integration.",
                             samples: s.deliveredByIntegration.sorted { $0.key < $1.key }.map { ([("integration", $0.key)], Double($0.value)) }),
            SelfMetricFamily(name: "agent_notifications_refused_total", kind: .counter,
                             help: "Notifications a service refused for good (4xx other than 408/429, a redirect, a request that cannot be made), by receiver, integration and reason.",
                             samples: perIntegration.flatMap { i in
                                 i.refused.sorted { $0.key < $1.key }.map { ([("receiver", i.receiver), ("integration", i.integration), ("reason", $0.key)], Double($0.value)) }
                             }),
            SelfMetricFamily(name: "agent_notification_resolutions_withheld_total", kind: .counter,
                             help: "Resolved alerts not announced to an integration because their firing never reached it.",
                             samples: perIntegration.filter { $0.withheldResolutions > 0 }.map {
                                 ([("receiver", $0.receiver), ("integration", $0.integration)], Double($0.withheldResolutions))
                             }),
            counter("agent_notification_attempts_total", "Delivery attempts, retries included.", s.attempts),
            counter("agent_notification_retries_total", "Delivery retries (network errors, 5xx, 429).", s.retries),
            counter("agent_outbox_write_errors_total", "Outbox writes that failed.", s.writeErrors),
            counter("agent_outbox_snapshot_errors_total", "Outbox state snapshots that failed.", s.snapshotErrors),
            SelfMetricFamily(name: "agent_outbox_pending", kind: .gauge, help: "Notifications waiting in the outbox.", samples: [([], Double(s.pending))]),
        ] + alertHistoryMetrics()
    }
}
