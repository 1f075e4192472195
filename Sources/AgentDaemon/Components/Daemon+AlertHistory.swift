import Alerting
import Dispatch
import Logging
import Notify
import Synchronization
import TimeSeries

/// Firing alerts' last 30 minutes for their notifications, from the rule groups that made them.
///
/// For each rule among the alerts of a round (found by the group's `source` and the alert's
/// `alertname`, at the evaluation that produced their values) `RuleGroup.valueHistory` evaluates
/// the rule's value expression at the 29 earlier minutes: 29 instant queries, each holding the
/// store's lock only for itself, so ingestion never waits longer than for one rule evaluation.
/// It runs where the notifier renders, only when a notification is due (a new alert, a tier
/// change, a resolution with others still firing, a repeat) — never per evaluation. A round stops
/// starting new rules once `budget` is spent; their alerts go without a history, counted in
/// `agent_notification_histories_total{result="skipped"}`, and a failing value expression is
/// counted and logged at most once a minute.
///
/// Owner: a lock-protected final class (counters behind a `Mutex`); the rule groups are looked up
/// at each call, so a SIGHUP reload is followed.
final class RuleValueHistory: AlertHistorySource {
    struct Stats {
        /// Alerts given a history, skipped for the budget, or failed.
        var computed: UInt64 = 0, skipped: UInt64 = 0, failed: UInt64 = 0
        /// Rules whose value expression was evaluated.
        var rules: UInt64 = 0
        var seconds = 0.0
        var lastFailureLogged: UInt64?
    }

    let groups: @Sendable () -> [RuleGroup]
    let logger: Logger
    let budget: Duration
    let stats = Mutex(Stats())

    init(groups: @escaping @Sendable () -> [RuleGroup], logger: Logger, budget: Duration = .milliseconds(250)) {
        self.groups = groups
        self.logger = logger
        self.budget = budget
    }

    struct RuleKey: Hashable {
        var source: String
        var rule: String
        var evaluatedAt: Timestamp
    }

    func histories(for alerts: [NotifiedAlert]) -> [UInt64: ValueHistory] {
        let started = ContinuousClock.now
        var byRule: [RuleKey: [(identity: Labels, alert: NotifiedAlert)]] = [:]
        for alert in alerts where alert.status == .firing {
            guard let at = alert.evaluatedAt else { continue }
            byRule[RuleKey(source: alert.source, rule: alert.name, evaluatedAt: at), default: []]
                .append((alert.labels, alert))
        }
        guard !byRule.isEmpty else { return [:] }
        let bySource = Dictionary(groups().map { ($0.source, $0) }, uniquingKeysWith: { first, _ in first })
        var out: [UInt64: ValueHistory] = [:]
        var computed: UInt64 = 0, skipped: UInt64 = 0, failed: UInt64 = 0, rules: UInt64 = 0
        var failure: String?
        // A stable order (group, then rule), so the budget always leaves out the same rules.
        for (key, members) in byRule.sorted(by: { ($0.key.source, $0.key.rule) < ($1.key.source, $1.key.rule) }) {
            guard let group = bySource[key.source] else { continue }
            guard ContinuousClock.now - started < budget else {
                skipped += UInt64(members.count)
                continue
            }
            var values: [Labels: Double] = [:]
            for m in members { values[m.identity] = m.alert.value }
            do {
                rules += 1
                let found = try group.valueHistory(rule: key.rule, alerts: values, evaluatedAt: key.evaluatedAt)
                for m in members {
                    guard let h = found[m.identity] else { continue }
                    out[m.alert.fingerprint] = h
                    computed += 1
                }
            } catch {
                failed += UInt64(members.count)
                failure = "rule \"\(key.rule)\" of \(key.source): \(error.message)"
            }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let now = DispatchTime.now().uptimeNanoseconds
        let logNow = stats.withLock { s -> Bool in
            s.computed += computed
            s.skipped += skipped
            s.failed += failed
            s.rules += rules
            s.seconds += seconds
            guard failure != nil || skipped > 0 else { return false }
            if let last = s.lastFailureLogged, now - last < 60_000_000_000 { return false }
            s.lastFailureLogged = now
            return true
        }
        if logNow {
            if let failure { logger.warning("notification without value history: \(failure)") }
            if skipped > 0 {
                logger.warning("\(skipped) alerts notified without value history: computing histories took over \(budget) this round")
            }
        }
        return out
    }

    func metrics() -> [SelfMetricFamily] {
        let s = stats.withLock { $0 }
        return [
            SelfMetricFamily(name: "agent_notification_histories_total", kind: .counter,
                             help: "Firing alerts' 30-minute value histories for notifications, by result.", samples: [
                                ([("result", "computed")], Double(s.computed)), ([("result", "skipped")], Double(s.skipped)),
                                ([("result", "failed")], Double(s.failed)),
                             ]),
            SelfMetricFamily(name: "agent_notification_history_rules_total", kind: .counter,
                             help: "Rule value expressions evaluated over 30 minutes for notifications.", samples: [([], Double(s.rules))]),
            SelfMetricFamily(name: "agent_notification_history_seconds_total", kind: .counter,
                             help: "Time spent computing value histories for notifications.", samples: [([], s.seconds)]),
        ]
    }
}

extension Daemon {
    /// The notifier's history source: the current rule groups (a reload replaces them).
    func makeAlertHistory() -> RuleValueHistory {
        RuleValueHistory(groups: { [weak self] in self?.rules?.groups ?? [] }, logger: logger)
    }

    /// Self-metrics of the history source, when the notifier has one.
    func alertHistoryMetrics() -> [SelfMetricFamily] {
        (notifier?.history as? RuleValueHistory)?.metrics() ?? []
    }
}
