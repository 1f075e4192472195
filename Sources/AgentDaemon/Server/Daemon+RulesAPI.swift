import TextRendering
import JSON
import Alerting
import HTTPServing
import Notify
import Query
import TimeSeries

/// One rule group as the API and the web pages show it: its settings, its last evaluation, and
/// each rule with its health and active alerts (a value taken under the group's lock).
struct RuleGroupSnapshot: Sendable {
    var name: String
    var file: String
    var interval: Milliseconds
    var limit: Int
    var lastEvaluatedAt: Timestamp?
    var lastEvaluationDuration: Duration
    var rules: [RuleSnapshot]
}

/// One rule of a `RuleGroupSnapshot`.
struct RuleSnapshot: Sendable {
    /// The rule as loaded (name, expression, for, labels and annotations as templates, tiers).
    var rule: RuleFile.Rule
    var health: RuleHealth
    var lastEvaluatedAt: Timestamp?
    var lastEvaluationDuration: Duration
    /// Its pending and firing alerts.
    var alerts: [Alert]

    /// Prometheus's rule state: `firing` when an alert fires, else `pending` when one is pending,
    /// else `inactive`.
    var state: String {
        if alerts.contains(where: { $0.state == .firing }) { return "firing" }
        return alerts.contains { $0.state == .pending } ? "pending" : "inactive"
    }
}

/// Prometheus's `/api/v1/rules` and `/api/v1/alerts`, in its shapes (`web/api/v1/api.go`:
/// `RuleDiscovery`, `AlertingRule`, `RecordingRule`, `AlertDiscovery`), which Grafana's rules view
/// and alert list read. `/api/v1/alerts` keeps what the agent always said beyond Prometheus's
/// fields (`severity`, the tier; `firedAt`; `source`, the group) as extra fields.
extension Daemon {
    /// Every rule group in file order, with each rule's state and active alerts.
    ///
    /// The groups report their alerts together, not per rule: an alert belongs to the first alerting
    /// rule of its group with its `alertname` whose constant labels it carries (and, for a tiered
    /// rule, whose tiers name its severity) — exact for the usual warning/critical pairs, which
    /// differ by a constant `severity`.
    func ruleGroupSnapshots() -> [RuleGroupSnapshot] {
        (rules?.groups ?? []).map { group in
            let status = group.status
            let definitions = group.definition.rules
            var alertsByRule = Array(repeating: [Alert](), count: definitions.count)
            for alert in group.alerts() where alert.state != .resolved {
                if let i = Self.owner(of: alert, among: definitions) { alertsByRule[i].append(alert) }
            }
            let rules = definitions.indices.map { i in
                let s = i < status.rules.count ? status.rules[i] : nil
                return RuleSnapshot(rule: definitions[i], health: s?.health ?? .unknown, lastEvaluatedAt: s?.lastEvaluatedAt,
                                    lastEvaluationDuration: s?.lastEvaluationDuration ?? .zero, alerts: alertsByRule[i])
            }
            return RuleGroupSnapshot(name: group.name, file: group.file, interval: group.interval, limit: group.definition.limit,
                                     lastEvaluatedAt: status.lastEvaluatedAt, lastEvaluationDuration: status.lastEvaluationDuration, rules: rules)
        }
    }

    /// The alerting rule of `rules` an alert came from (see `ruleGroupSnapshots`).
    static func owner(of alert: Alert, among rules: [RuleFile.Rule]) -> Int? {
        let labels = alert.labels
        let named = rules.indices.filter { rules[$0].kind == .alerting && rules[$0].name == alert.name }
        let exact = named.first { i in
            let rule = rules[i]
            let constantsHold = rule.labels.allSatisfy { !$0.template.isConstant || labels[$0.name] == $0.template.source }
            let tierHolds = rule.tiers.isEmpty || alert.severity.map { s in rule.tiers.contains { $0.severity == s } } ?? true
            return constantsHold && tierHolds
        }
        return exact ?? named.first
    }

    /// `/api/v1/rules`: `type` (`alert`, `record`), `rule_name[]`, `rule_group[]`, `file[]`,
    /// `match[]` (over the rules' labels), `exclude_alerts`.
    func rulesDocument(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        let names = Set(form.values(of: "rule_name[]")), groups = Set(form.values(of: "rule_group[]")), files = Set(form.values(of: "file[]"))
        let sets = try APIParameters.matcherSets(form.values(of: "match[]"))
        let type = (form["type"] ?? "").lowercased()
        guard type == "" || type == "alert" || type == "record" else {
            throw APIError.invalidParameter("type", "not supported value \(quotedGo(type))")
        }
        var excludeAlerts = false
        if let text = form["exclude_alerts"], !text.isEmpty {
            guard let b = Self.goBool(text.lowercased()) else {
                throw APIError.invalidParameter("exclude_alerts", "error converting exclude_alerts: strconv.ParseBool: parsing \(quotedGo(text)): invalid syntax")
            }
            excludeAlerts = b
        }
        var out: [JSON] = []
        for group in ruleGroupSnapshots() {
            if !groups.isEmpty && !groups.contains(group.name) { continue }
            if !files.isEmpty && !files.contains(group.file) { continue }
            var rules: [JSON] = []
            for r in group.rules {
                if !names.isEmpty && !names.contains(r.rule.name) { continue }
                if !sets.isEmpty {
                    let labels = Labels(r.rule.labels.map { ($0.name, $0.template.source) })
                    guard sets.contains(where: { SeriesSelection.matchesAll($0, labels) }) else { continue }
                }
                switch r.rule.kind {
                case .alerting where type != "record": rules.append(Self.alertingRuleJSON(r, alerts: !excludeAlerts))
                case .recording where type != "alert": rules.append(Self.recordingRuleJSON(r))
                default: break
                }
            }
            // As Prometheus: a group whose rules were all filtered out is left out.
            guard !rules.isEmpty else { continue }
            out.append(.object([
                ("name", .string(group.name)), ("file", .string(group.file)), ("rules", .array(rules)),
                ("interval", .double(Double(group.interval) / 1000)), ("limit", .int(Int64(group.limit))),
                ("evaluationTime", .double(Self.seconds(group.lastEvaluationDuration))),
                ("lastEvaluation", .string(Self.goTime(group.lastEvaluatedAt))),
            ]))
        }
        return .apiSuccess(data: .object([("groups", .array(out))]))
    }

    static func alertingRuleJSON(_ r: RuleSnapshot, alerts: Bool) -> JSON {
        var members: [(String, JSON)] = [
            ("state", .string(r.state)), ("name", .string(r.rule.name)), ("query", .string(r.rule.query.description)),
            ("duration", .double(Double(r.rule.holdDuration) / 1000)), ("keepFiringFor", .double(Double(r.rule.keepFiringFor) / 1000)),
            ("labels", templates(r.rule.labels)), ("annotations", templates(r.rule.annotations)),
            // Prometheus writes null for excluded alerts (a nil slice).
            ("alerts", alerts ? .array(r.alerts.map { alertJSON($0) }) : .null),
            ("health", .string(health(r.health))),
        ]
        if case .error(let message) = r.health { members.append(("lastError", .string(message))) }
        members += [("evaluationTime", .double(seconds(r.lastEvaluationDuration))), ("lastEvaluation", .string(goTime(r.lastEvaluatedAt))),
                    ("type", "alerting")]
        return .object(members)
    }

    static func recordingRuleJSON(_ r: RuleSnapshot) -> JSON {
        var members: [(String, JSON)] = [("name", .string(r.rule.name)), ("query", .string(r.rule.query.description)),
                                         ("labels", templates(r.rule.labels)), ("health", .string(health(r.health)))]
        if case .error(let message) = r.health { members.append(("lastError", .string(message))) }
        members += [("evaluationTime", .double(seconds(r.lastEvaluationDuration))), ("lastEvaluation", .string(goTime(r.lastEvaluatedAt))),
                    ("type", "recording")]
        return .object(members)
    }

    /// `/api/v1/alerts`: every pending and firing alert.
    func alertsDocument() -> JSON {
        let alerts = ruleGroupSnapshots().flatMap { $0.rules.flatMap(\.alerts) }
            .sorted { ($0.name, $0.identity.description) < ($1.name, $1.identity.description) }
        return .object([("alerts", .array(alerts.map { Self.alertJSON($0, extras: true) }))])
    }

    /// An alert in Prometheus's shape; `extras` adds the agent's `severity`, `firedAt` and `source`.
    static func alertJSON(_ a: Alert, extras: Bool = false) -> JSON {
        var members: [(String, JSON)] = [
            ("labels", json(a.labels)), ("annotations", .sortedObject(a.annotations)), ("state", .string(a.state.rawValue)),
            ("activeAt", .string(RFC3339.format(a.activeAt))), ("value", .string(GoFloat.exponentText(a.value))),
        ]
        if extras {
            if let s = a.severity { members.append(("severity", .string(s))) }
            if let f = a.firedAt { members.append(("firedAt", .string(RFC3339.format(f)))) }
            members.append(("source", .string(a.source)))
        }
        return .object(members)
    }

    static func templates(_ fields: [TemplatedField]) -> JSON {
        json(fields.map { (name: $0.name, value: $0.template.source) })
    }

    static func health(_ h: RuleHealth) -> String {
        switch h {
        case .unknown: "unknown"
        case .ok: "ok"
        case .error: "err"
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// A time as Go's `time.Time` marshals it; Go's zero time for none.
    static func goTime(_ t: Timestamp?) -> String {
        t.map(RFC3339.format) ?? "0001-01-01T00:00:00Z"
    }

    /// Go's `strconv.ParseBool`.
    static func goBool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "true": true
        case "0", "f", "false": false
        default: nil
        }
    }
}
