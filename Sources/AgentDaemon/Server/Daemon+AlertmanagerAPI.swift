import AgentClient
import Alerting
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import JSON
import TextRendering
import HTTPServing
import Notify
import TimeSeries

/// Alertmanager's API v2 (api/v2/openapi.yaml of Alertmanager 0.25) for the agent's own alerts and
/// silences, so that `amtool` and Grafana's Alertmanager data source work against the agent.
///
/// The agent is the Alertmanager of its own rules: the alerts are those the notifier takes
/// (`alertsAsSent`: firing ones, with the external labels), each with the receivers its routes
/// lead to and what mutes it now; the silences are the notifier's (`Silences`, the one model
/// behind `agent silence` and `/api/v1/silences`). Answers are JSON as go-openapi writes them
/// (keys of each model in its order, maps sorted, no HTML escaping, a trailing newline); errors
/// are a JSON string with the status, as Alertmanager answers them. Alertmanager's own `POST
/// /api/v2/alerts` is not served: the agent's alerts come from its rules.
extension Daemon {
    /// The routes, registered once in `apiRoutes`.
    var alertmanagerRoutes: [HTTPServing.Route] {
        [
            HTTPServing.Route("GET", "/api/v2/alerts", .general, alertmanagerEndpoint { try $0.alertmanagerAlerts($1, $2) }),
            HTTPServing.Route("GET", "/api/v2/alerts/groups", .general, alertmanagerEndpoint { try $0.alertmanagerGroups($1, $2) }),
            HTTPServing.Route("GET", "/api/v2/silences", .general, alertmanagerEndpoint { try $0.alertmanagerSilences($1, $2) }),
            HTTPServing.Route("POST", "/api/v2/silences", .general, alertmanagerEndpoint { try $0.alertmanagerPostSilence($1, $2) }),
            HTTPServing.Route("GET", "/api/v2/silence/{id}", .general, alertmanagerEndpoint { try $0.alertmanagerSilence($1, $2) }),
            HTTPServing.Route("DELETE", "/api/v2/silence/{id}", .general, alertmanagerEndpoint { try $0.alertmanagerExpire($1, $2) }),
            HTTPServing.Route("GET", "/api/v2/status", .general, alertmanagerEndpoint { d, _, _ in .json(d.alertmanagerStatus()) }),
            HTTPServing.Route("GET", "/api/v2/receivers", .general, alertmanagerEndpoint { d, _, _ in .json(d.alertmanagerReceivers()) }),
        ]
    }

    /// A handler calling `body` with the daemon and the request's form; a thrown
    /// `AlertmanagerAPIError` becomes its JSON string. Holds the daemon weakly.
    func alertmanagerEndpoint(_ body: @escaping @Sendable (Daemon, Request, FormValues) throws -> AlertmanagerAnswer) -> Handler {
        { [weak self] request in
            guard let self else { return AlertmanagerAPIError(500, "the agent is stopping").response }
            do {
                let form: FormValues
                do throws(FormError) { form = try request.form() } catch { throw AlertmanagerAPIError(400, "error parsing query: \(error.message)") }
                return try body(self, request, form).response
            } catch let error as AlertmanagerAPIError {
                return error.response
            } catch {
                return AlertmanagerAPIError(500, "\(error)").response
            }
        }
    }

    // MARK: Alerts

    /// One alert as the API shows it: the alert as sent and its status now.
    struct AlertmanagerAlert {
        var alert: Alert
        var labels: Labels
        var status: AlertStatus
    }

    /// The firing alerts the notifier holds, with their statuses judged together.
    func alertmanagerAlertList() -> [AlertmanagerAlert] {
        let firing = alertsAsSent().filter { $0.state == .firing }
        let labels = firing.map(\.labels)
        let statuses: [AlertStatus]
        if let notifier {
            let d = notifier.dispatcher
            statuses = AlertStatus.of(labels, route: d.route, inhibitor: d.inhibitor, silences: notifier.silences.activeSnapshot())
        } else {
            statuses = AlertStatus.of(labels, route: nil, inhibitor: Inhibitor(rules: []), silences: [])
        }
        return firing.indices.map { AlertmanagerAlert(alert: firing[$0], labels: labels[$0], status: statuses[$0]) }
    }

    /// Alertmanager's `alertFilter` and `receiver` filter from the query: `filter` (matchers, each
    /// must hold), `receiver` (a regex, anchored, that one receiver must match), and the states
    /// `active`, `silenced` and `inhibited` (each shown unless false).
    struct AlertmanagerAlertFilter {
        var matchers: [Matcher]
        var receiver: Matcher?
        var active: Bool
        var silenced: Bool
        var inhibited: Bool

        init(_ p: FormValues) throws(AlertmanagerAPIError) {
            matchers = try AlertmanagerAlertFilter.matchers(p.values(of: "filter"))
            if let r = p["receiver"], !r.isEmpty {
                do { receiver = try Matcher(name: "receiver", .regexMatch, r) } catch {
                    throw AlertmanagerAPIError(400, "failed to parse receiver param: \(error.message)")
                }
            }
            active = AlertmanagerAlertFilter.bool(p["active"])
            silenced = AlertmanagerAlertFilter.bool(p["silenced"])
            inhibited = AlertmanagerAlertFilter.bool(p["inhibited"])
        }

        /// True when the alert passes the state and label filters (not the receiver filter).
        func takes(_ a: AlertmanagerAlert) -> Bool {
            if !active, a.status.state == .active { return false }
            if !silenced, !a.status.silencedBy.isEmpty { return false }
            if !inhibited, !a.status.inhibitedBy.isEmpty { return false }
            return matchers.matches(a.labels)
        }

        func takesReceiver(_ name: String) -> Bool { receiver?.matches(value: name) ?? true }

        /// Each `filter` value is one matcher, as Alertmanager's `labels.ParseMatcher` reads it.
        static func matchers(_ texts: [String]) throws(AlertmanagerAPIError) -> [Matcher] {
            var out: [Matcher] = []
            for text in texts {
                do { out.append(try Matcher.parse(text)) } catch { throw AlertmanagerAPIError(400, "bad matcher format: \(text): \(error.message)") }
            }
            return out
        }

        /// go-openapi's boolean (`swag.ConvertBool`): true when absent or empty (the default), or
        /// one of its true words; anything else is false.
        static func bool(_ text: String?) -> Bool {
            guard let text, !text.isEmpty else { return true }
            return ["true", "1", "yes", "ok", "y", "on", "selected", "checked", "t", "enabled"].contains(text.lowercased())
        }
    }

    /// `GET /api/v2/alerts`: `gettableAlerts`, by fingerprint.
    func alertmanagerAlerts(_ request: Request, _ p: FormValues) throws(AlertmanagerAPIError) -> AlertmanagerAnswer {
        let filter = try AlertmanagerAlertFilter(p)
        let now = clock()
        let shown = alertmanagerAlertList().filter { a in
            (filter.receiver == nil || a.status.receivers.contains(where: filter.takesReceiver)) && filter.takes(a)
        }
        let items = shown.map { (fingerprint: $0.labels.alertmanagerFingerprint, json: Daemon.gettableAlert($0, now: now)) }
        return .json(.array(items.sorted { $0.fingerprint < $1.fingerprint }.map(\.json)))
    }

    /// `GET /api/v2/alerts/groups`: `alertGroups` as the routing tree groups the alerts.
    func alertmanagerGroups(_ request: Request, _ p: FormValues) throws(AlertmanagerAPIError) -> AlertmanagerAnswer {
        let filter = try AlertmanagerAlertFilter(p)
        guard let route = notifier?.dispatcher.route else { return .json(.array([])) }
        let now = clock()
        let alerts = alertmanagerAlertList()
        let groups = AlertGroupView.groups(
            of: alerts.map(\.labels), route: route, takesRoute: { filter.takesReceiver($0.receiver) }, takesAlert: { filter.takes(alerts[$0]) })
        return .json(.array(groups.map { g in
            .object([
                ("alerts", .array(g.members.map { Daemon.gettableAlert(alerts[$0], now: now) })),
                ("labels", Daemon.labelSet(g.labels)),
                ("receiver", .object([("name", .string(g.receiver))])),
            ])
        }))
    }

    /// `gettableAlert`: `startsAt` is when it fired, `endsAt` when it stops being valid unless the
    /// rules say it again (Prometheus's `validUntil`), `updatedAt` its last evaluation.
    static func gettableAlert(_ a: AlertmanagerAlert, now: Timestamp) -> JSON {
        let evaluated = a.alert.evaluatedAt ?? now
        let endsAt = a.alert.validUntil ?? (evaluated + 4 * Alert.resendDelay)
        var members: [(String, JSON)] = [
            ("annotations", .sortedObject(a.alert.annotations)),
            ("endsAt", .string(RFC3339.formatMillis(endsAt))),
            ("fingerprint", .string(a.labels.alertmanagerFingerprint)),
            ("receivers", .array(a.status.receivers.map { .object([("name", .string($0))]) })),
            ("startsAt", .string(RFC3339.formatMillis(a.alert.firedAt ?? a.alert.activeAt))),
            ("status", .object([
                ("inhibitedBy", .array(a.status.inhibitedBy.map(JSON.string))),
                ("silencedBy", .array(a.status.silencedBy.map(JSON.string))),
                ("state", .string(a.status.state.rawValue)),
            ])),
            ("updatedAt", .string(RFC3339.formatMillis(evaluated))),
        ]
        if !a.alert.generatorURL.isEmpty { members.append(("generatorURL", .string(a.alert.generatorURL))) }
        members.append(("labels", labelSet(a.labels)))
        return .object(members)
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    static func labelSet(_ labels: Labels) -> JSON {
        .object(labels.labels.map { ($0.name, .string($0.value)) })
    }

    // MARK: Silences

    /// `GET /api/v2/silences`: `gettableSilences`; a `filter` matcher keeps the silences that have
    /// that very matcher (Alertmanager's `CheckSilenceMatchesFilterLabels`). Active first (soonest
    /// end first), then pending (soonest start first), then expired (latest end first).
    func alertmanagerSilences(_ request: Request, _ p: FormValues) throws(AlertmanagerAPIError) -> AlertmanagerAnswer {
        let filter = try AlertmanagerAlertFilter.matchers(p.values(of: "filter"))
        guard let silences = notifier?.silences else { return .json(.array([])) }
        let now = clock()
        let shown = silences.list().filter { s in filter.allSatisfy { s.matchers.contains($0) } }
        let rank: [Silence.State: Int] = [.active: 0, .pending: 1, .expired: 2]
        let sorted = shown.sorted { a, b in
            let sa = a.state(at: now), sb = b.state(at: now)
            if sa != sb { return rank[sa]! < rank[sb]! }
            switch sa {
            case .active: return a.endsAt < b.endsAt
            case .pending: return a.startsAt < b.startsAt
            case .expired: return a.endsAt > b.endsAt
            }
        }
        return .json(.array(sorted.map { Daemon.gettableSilence($0, now: now) }))
    }

    /// `GET /api/v2/silence/{id}`: one `gettableSilence`, or 404 without a body.
    func alertmanagerSilence(_ request: Request, _ p: FormValues) throws(AlertmanagerAPIError) -> AlertmanagerAnswer {
        let id = request.pathParameters["id"] ?? ""
        guard let silence = notifier?.silences.silence(id: id) else { return .empty(404) }
        return .json(Daemon.gettableSilence(silence, now: clock()))
    }

    /// `DELETE /api/v2/silence/{id}`: expires it now; 200 without a body, 404 for an unknown id.
    func alertmanagerExpire(_ request: Request, _ p: FormValues) throws(AlertmanagerAPIError) -> AlertmanagerAnswer {
        let id = request.pathParameters["id"] ?? ""
        guard let silences = notifier?.silences else { throw AlertmanagerAPIError(404, SilenceError.notFound(id).message) }
        do throws(SilenceError) {
            try silences.expire(id: id)
        } catch {
            throw AlertmanagerAPIError(error.isNotFound ? 404 : 400, error.message)
        }
        queue.async { self.checkpoint(reason: "silence expired") }
        return .empty(200)
    }

    /// `POST /api/v2/silences` with a `postableSilence`: creates a silence, or changes the one
    /// named by `id` (see `Silences.set`); answers `{"silenceID": …}`.
    func alertmanagerPostSilence(_ request: Request, _ p: FormValues) throws(AlertmanagerAPIError) -> AlertmanagerAnswer {
        guard let notifier else {
            throw AlertmanagerAPIError(409, "no notification receivers are configured (notify: in the configuration): there is nothing to silence")
        }
        let posted = try PostableSilence(body: request.http.body)
        guard posted.startsAt < posted.endsAt else { throw AlertmanagerAPIError(400, "Failed to create silence: start time must be before end time") }
        guard posted.endsAt >= clock() else { throw AlertmanagerAPIError(400, "Failed to create silence: end time can't be in the past") }
        let silence: Silence
        do throws(SilenceError) {
            silence = try notifier.silences.set(
                id: posted.id, matchers: posted.matchers, startsAt: posted.startsAt, endsAt: posted.endsAt, createdBy: posted.createdBy,
                comment: posted.comment)
        } catch {
            throw AlertmanagerAPIError(error.isNotFound ? 404 : 400, error.message)
        }
        queue.async { self.checkpoint(reason: "silence set") }
        return .json(.object([("silenceID", .string(silence.id))]))
    }

    /// `gettableSilence`: the id, state and last change, then the `silence` fields.
    static func gettableSilence(_ s: Silence, now: Timestamp) -> JSON {
        .object([
            ("id", .string(s.id)),
            ("status", .object([("state", .string(s.state(at: now).rawValue))])),
            ("updatedAt", .string(RFC3339.formatMillis(s.updatedAt))),
            ("comment", .string(s.comment)),
            ("createdBy", .string(s.createdBy)),
            ("endsAt", .string(RFC3339.formatMillis(s.endsAt))),
            ("matchers", .array(s.matchers.map { m in
                .object([
                    ("isEqual", .bool(m.kind == .equal || m.kind == .regexMatch)),
                    ("isRegex", .bool(m.kind == .regexMatch || m.kind == .regexNoMatch)),
                    ("name", .string(m.name)),
                    ("value", .string(m.value)),
                ])
            })),
            ("startsAt", .string(RFC3339.formatMillis(s.startsAt))),
        ])
    }

    // MARK: Status and receivers

    /// `GET /api/v2/status`: no cluster (`disabled`), the agent's version, its start, and its
    /// routing as an Alertmanager configuration (`alertmanagerConfigYAML`).
    func alertmanagerStatus() -> JSON {
        .object([
            ("cluster", .object([("peers", .array([])), ("status", "disabled")])),
            ("config", .object([("original", .string(Daemon.alertmanagerConfigYAML(running.notify)))])),
            ("uptime", .string(RFC3339.formatMillis(startedAt))),
            ("versionInfo", .object([
                ("branch", ""), ("buildDate", ""), ("buildUser", ""), ("goVersion", ""), ("revision", ""),
                ("version", .string(AgentVersion.string)),
            ])),
        ])
    }

    /// `GET /api/v2/receivers`: the configured receivers, in file order.
    func alertmanagerReceivers() -> JSON {
        .array(running.notify.receivers.map { .object([("name", .string($0.name))]) })
    }

    /// The agent's `notify:` as an Alertmanager configuration (`route`, `inhibit_rules`,
    /// `receivers` by name), which `amtool config routes` reads. Integrations are left out: their
    /// settings are the agent's, and their URLs may hold secrets. Empty when nothing is configured.
    static func alertmanagerConfigYAML(_ notify: NotifyConfig) -> String {
        guard let spec = notify.route, notify.isEnabled else { return "" }
        func matchers(_ list: [Matcher]) -> YAMLValue { .strings(list.map(\.description)) }
        func route(_ r: Notify.Route.Spec) -> YAMLValue {
            var pairs: [(String, YAMLValue)] = []
            if let receiver = r.receiver { pairs.append(("receiver", .string(receiver))) }
            switch r.groupBy {
            case .labels(let names)?: pairs.append(("group_by", .strings(names)))
            case .all?: pairs.append(("group_by", .strings(["..."])))
            case nil: break
            }
            if !r.matchers.isEmpty { pairs.append(("matchers", matchers(r.matchers))) }
            if r.continue { pairs.append(("continue", .bool(true))) }
            if let d = r.groupWait { pairs.append(("group_wait", .plain(PrometheusDuration.format(Daemon.milliseconds(d))))) }
            if let d = r.groupInterval { pairs.append(("group_interval", .plain(PrometheusDuration.format(Daemon.milliseconds(d))))) }
            if let d = r.repeatInterval { pairs.append(("repeat_interval", .plain(PrometheusDuration.format(Daemon.milliseconds(d))))) }
            if !r.routes.isEmpty { pairs.append(("routes", .sequence(r.routes.map(route)))) }
            return .mapping(pairs)
        }
        let inhibit: [YAMLValue] = notify.inhibitRules.map { rule in
            .mapping([("source_matchers", matchers(rule.source)), ("target_matchers", matchers(rule.target)), ("equal", .strings(rule.equal))])
        }
        let document = YAMLValue.mapping([
            ("route", route(spec)),
            ("inhibit_rules", .sequence(inhibit)),
            ("receivers", .sequence(notify.receivers.map { .mapping([("name", .string($0.name))]) })),
        ])
        var out = ""
        document.write(into: &out, indent: 0)
        return out
    }
}

/// A `postableSilence` read from a request body: `matchers` (each `name`, `value`, `isRegex`,
/// optional `isEqual`), `startsAt`, `endsAt`, `createdBy`, `comment`, optional `id`.
struct PostableSilence {
    var id: String?
    var matchers: [Matcher]
    var startsAt: Timestamp
    var endsAt: Timestamp
    var createdBy: String
    var comment: String

    init(body: [UInt8]) throws(AlertmanagerAPIError) {
        guard let document = JSON.parse(body), case .object = document else {
            throw AlertmanagerAPIError(400, "the body is not a JSON object (a postableSilence)")
        }
        func string(_ key: String, required: Bool = true) throws(AlertmanagerAPIError) -> String? {
            switch document[key] {
            case .string(let s)?: return s
            case nil, .null?:
                if required { throw AlertmanagerAPIError(422, "\(key) in body is required") }
                return nil
            default: throw AlertmanagerAPIError(400, "\(key) in body must be of type string")
            }
        }
        func time(_ key: String) throws(AlertmanagerAPIError) -> Timestamp {
            let text = try string(key)!
            guard let t = RFC3339.parse(text) else { throw AlertmanagerAPIError(400, "\(key) in body must be of type date-time: \(quotedGo(text))") }
            return t
        }
        id = try string("id", required: false)
        startsAt = try time("startsAt")
        endsAt = try time("endsAt")
        createdBy = try string("createdBy")!
        comment = try string("comment")!
        guard case .array(let items)? = document["matchers"] else { throw AlertmanagerAPIError(422, "matchers in body is required") }
        guard !items.isEmpty else { throw AlertmanagerAPIError(422, "matchers in body should have at least 1 items") }
        guard items.count <= Silences.maxMatchers else { throw AlertmanagerAPIError(400, "a silence takes at most \(Silences.maxMatchers) matchers") }
        var matchers: [Matcher] = []
        for (i, item) in items.enumerated() {
            guard case .object = item, case .string(let name)? = item["name"], case .string(let value)? = item["value"],
                  case .bool(let isRegex)? = item["isRegex"]
            else { throw AlertmanagerAPIError(422, "matchers.\(i) in body needs name, value (strings) and isRegex (a boolean)") }
            var isEqual = true
            switch item["isEqual"] {
            case .bool(let b)?: isEqual = b
            case nil, .null?: break
            default: throw AlertmanagerAPIError(422, "matchers.\(i).isEqual in body must be of type boolean")
            }
            let kind: Matcher.Kind = isRegex ? (isEqual ? .regexMatch : .regexNoMatch) : (isEqual ? .equal : .notEqual)
            do { matchers.append(try Matcher(name: name, kind, value)) } catch {
                throw AlertmanagerAPIError(400, "invalid label matcher \(i): \(error.message)")
            }
        }
        self.matchers = matchers
    }
}

/// What an Alertmanager API handler answers: JSON as go-openapi writes it, or a bare status.
enum AlertmanagerAnswer {
    case json(JSON)
    case empty(Int)

    var response: HTTPServing.HTTPResponse {
        switch self {
        case .json(let value):
            HTTPResponse(status: 200, contentType: "application/json", body: value.encoded(newline: true))
        case .empty(let status):
            HTTPResponse(status: status)
        }
    }
}

/// An Alertmanager API error: its status and message, answered as a JSON string (the spec's
/// `BadRequest` / `InternalServerError` responses are `type: string`).
struct AlertmanagerAPIError: Error {
    var status: Int
    var message: String

    init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    var response: HTTPServing.HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: JSON.string(message).encoded(newline: true))
    }
}
