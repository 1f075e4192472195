import Alerting
import Dispatch
import Ingest
import Notify
import Query
import TimeSeries

/// What the pages show, read from each owner through its own accessor: every owner's lock is
/// held only while its values are copied (the store's once per read below, a rule group's while
/// its status is copied), and rendering happens afterwards, outside every lock.
extension Daemon {
    // MARK: Overview

    struct OverviewSnapshot {
        var now: Timestamp
        var problem: String?
        var ready: Bool
        var startedAt: Timestamp
        var configSource: String
        var reload: ReloadStats
        var store: StoreStats
        var storeBytes: Int
        var seriesLimit: Int
        var checkpoint: CheckpointStats
        var checkpointPath: String
        var outbox: Outbox.Stats?
        var dispatcher: Dispatcher.Stats?
        var activeSilences: Int
        var process: ProcessStats
        /// CPU seconds per second over the last minute of self-metrics, nil before there are two.
        var recentCPU: Double?
        var loops: [(loop: String, secondsSinceProgress: Double?, boundSeconds: Double?)]
        var ruleGroups: Int, rules: Int
        var firing: Int, pending: Int
        var targetsUp: Int, targets: Int
        var logFiles: Int
    }

    func overviewSnapshot() -> OverviewSnapshot {
        let now = clock()
        let alerts = latestAlerts.value.values.flatMap { $0 }
        let loops = scrapes?.loops ?? []
        let groups = rules?.groups ?? []
        return OverviewSnapshot(
            now: now, problem: healthProblem(), ready: flags.ready, startedAt: startedAt, configSource: config.source,
            reload: reloads.value, store: store.stats, storeBytes: store.heapBytes, seriesLimit: config.global.store.seriesLimit,
            checkpoint: checkpointStatsSnapshot(), checkpointPath: stateFiles.seriesPath,
            outbox: notifier?.outbox.stats, dispatcher: notifier?.dispatcher.stats,
            activeSilences: notifier?.silences.activeSnapshot(at: now).count ?? 0,
            process: ProcessStats.current(), recentCPU: recentCPU(now: now), loops: progress.snapshot(),
            ruleGroups: groups.count, rules: groups.reduce(0) { $0 + $1.definition.rules.count },
            firing: alerts.count { $0.state == .firing }, pending: alerts.count { $0.state == .pending },
            targetsUp: loops.count { $0.lastReport?.up == true }, targets: loops.count,
            logFiles: logs?.activity.snapshot().files.count ?? 0)
    }

    /// The agent's CPU use over the last minute, from its own `process_cpu_seconds_total` series
    /// (recorded every scrape interval, see `recordSelfMetrics`).
    func recentCPU(now: Timestamp) -> Double? {
        let labels = Labels(name: "process_cpu_seconds_total", ["job": "agent", "instance": "self"])
        var samples: [Sample] = []
        store.read { r in
            if let ref = r.ref(for: labels) { r.samples(of: ref, from: now - 60_000, through: now, into: &samples) }
        }
        let finite = samples.filter { $0.value.isFinite }
        guard let first = finite.first, let last = finite.last, last.timestamp > first.timestamp, last.value >= first.value else { return nil }
        return (last.value - first.value) * 1000 / Double(last.timestamp - first.timestamp)
    }

    // MARK: Alerts

    /// An active alert as the alerts page shows it.
    struct AlertRow {
        var alert: Alert
        /// Silences muting it now.
        var silencedBy: [String]
        var inhibited: Bool
        /// The last 30 minutes of its value; nil when it could not be computed (see `historiesSkipped`).
        var history: ValueHistory?
    }

    /// An alert that stopped firing within the last hour.
    struct ResolvedRow {
        var labels: Labels
        var annotations: [String: String]
        /// When it started to hold (nil when only the store's `ALERTS` series remembers it, without that).
        var activeAt: Timestamp?
        var resolvedAt: Timestamp
        var source: String
    }

    struct AlertsSnapshot {
        var now: Timestamp
        var active: [AlertRow]
        var resolved: [ResolvedRow]
        /// Alerts left without a sparkline because computing histories took the page's budget.
        var historiesSkipped: Int
        var historyErrors: [String]
        var notifications: Bool
        /// How long the value histories' queries took.
        var queryTime: Duration? = nil
    }

    /// How long the alerts page may spend evaluating value histories before it leaves the rest
    /// without a sparkline (each rule's history is `ValueHistory.defaultSteps − 1` instant queries).
    static let webHistoryBudget: Duration = .milliseconds(100)

    /// How far back the alerts page lists resolved alerts.
    static let resolvedWindow: Milliseconds = 3_600_000

    func alertsSnapshot() -> AlertsSnapshot {
        let now = clock()
        let all = latestAlerts.value.values.flatMap { $0 }
        let active = all.filter { $0.state != .resolved }
        // Muting, as the notifier decides it: silences by matchers, inhibition by the firing alerts.
        var silencedBy: [UInt64: [String]] = [:]
        var inhibited = Set<UInt64>()
        if let notifier {
            let index = notifier.dispatcher.inhibitor.index(firing: active.filter { $0.state == .firing }.map { ($0.labels, $0.fingerprint) })
            for a in active {
                let ids = notifier.silences.silencing(a.labels, at: now)
                if !ids.isEmpty { silencedBy[a.fingerprint] = ids }
                if a.state == .firing, index.mutes(a.labels, fingerprint: a.fingerprint) { inhibited.insert(a.fingerprint) }
            }
        }
        let queryStarted = ContinuousClock.now
        let (histories, skipped, errors) = webHistories(for: active)
        let queryTime = ContinuousClock.now - queryStarted
        let rows = active.map { a in
            AlertRow(alert: a, silencedBy: silencedBy[a.fingerprint] ?? [], inhibited: inhibited.contains(a.fingerprint),
                     history: histories[a.fingerprint])
        }
        return AlertsSnapshot(now: now, active: rows, resolved: resolvedAlerts(now: now, known: all), historiesSkipped: skipped,
                              historyErrors: errors, notifications: notifier != nil, queryTime: queryTime)
    }

    /// Each active alert's last 30 minutes, one `RuleGroup.valueHistory` per rule (each instant
    /// query of it holds the store's lock only for itself), until `webHistoryBudget` is spent.
    func webHistories(for alerts: [Alert]) -> (histories: [UInt64: ValueHistory], skipped: Int, errors: [String]) {
        struct Key: Hashable {
            var source: String, rule: String, evaluatedAt: Timestamp
        }
        var byRule: [Key: [Alert]] = [:]
        for a in alerts {
            guard let at = a.evaluatedAt else { continue }
            byRule[Key(source: a.source, rule: a.name, evaluatedAt: at), default: []].append(a)
        }
        guard !byRule.isEmpty else { return ([:], 0, []) }
        let groups = Dictionary((rules?.groups ?? []).map { ($0.source, $0) }, uniquingKeysWith: { first, _ in first })
        let started = ContinuousClock.now
        var out: [UInt64: ValueHistory] = [:]
        var skipped = 0
        var errors: [String] = []
        // A stable order, so the budget always leaves out the same rules.
        for (key, members) in byRule.sorted(by: { ($0.key.source, $0.key.rule) < ($1.key.source, $1.key.rule) }) {
            guard let group = groups[key.source] else { continue }
            guard ContinuousClock.now - started < Self.webHistoryBudget else {
                skipped += members.count
                continue
            }
            var values: [Labels: Double] = [:]
            for m in members { values[m.identity] = m.value }
            do {
                let found = try group.valueHistory(rule: key.rule, alerts: values, evaluatedAt: key.evaluatedAt)
                for m in members { out[m.fingerprint] = found[m.identity] }
            } catch {
                errors.append("rule \"\(key.rule)\": \(error.message)")
            }
        }
        return (out, skipped, errors)
    }

    /// Alerts resolved within `resolvedWindow`: those the rule groups still keep (15 minutes,
    /// with their annotations), then those only the store remembers — an `ALERTS{alertstate="firing"}`
    /// series whose newest sample is the staleness marker written when the alert stopped firing,
    /// and whose `ALERTS_FOR_STATE` series tells since when it had held.
    func resolvedAlerts(now: Timestamp, known: [Alert]) -> [ResolvedRow] {
        var rows: [ResolvedRow] = []
        // The store's series carry `labels`; a tiered alert's identity is those without `severity`
        // (one series per tier it went through), a plain rule's identity holds its severity.
        var seen = Set<Labels>()
        for a in known {
            seen.insert(a.identity)
            seen.insert(a.labels)
            guard a.state == .resolved, let at = a.resolvedAt, now - at <= Self.resolvedWindow else { continue }
            rows.append(ResolvedRow(labels: a.labels, annotations: a.annotations, activeAt: a.activeAt, resolvedAt: at, source: a.source))
        }
        let since = now - Self.resolvedWindow
        var remembered: [ResolvedRow] = []
        store.read { r in
            for ref in r.series(withLabel: "alertstate", equalTo: "firing") {
                guard let labels = r.labels(of: ref), labels.metricName == "ALERTS",
                      let newest = r.latest(of: ref), newest.value.isStaleMarker, newest.timestamp >= since else { continue }
                let alertLabels = labels.removing([Labels.metricName, "alertstate"])
                var activeAt: Timestamp?
                if let forState = r.ref(for: alertLabels.setting(Labels.metricName, to: "ALERTS_FOR_STATE")) {
                    var samples: [Sample] = []
                    r.samples(of: forState, from: since - 60_000, through: now, into: &samples)
                    // The value is the Unix time the alert became active; anything else is not ours.
                    if let v = samples.last(where: { $0.value.isFinite })?.value, v > 0, v < 1e11 { activeAt = Timestamp(v * 1000) }
                }
                remembered.append(ResolvedRow(labels: alertLabels, annotations: [:], activeAt: activeAt, resolvedAt: newest.timestamp, source: ""))
            }
        }
        // A tiered alert leaves one series per tier it went through: the newest marker is its end.
        for row in remembered.sorted(by: { $0.resolvedAt > $1.resolvedAt })
        where !seen.contains(row.labels) && seen.insert(row.labels.removing([Alert.severityLabel])).inserted {
            rows.append(row)
        }
        return rows.sorted { $0.resolvedAt > $1.resolvedAt }
    }

    // MARK: Rules, targets, logs

    /// Each rule group's status and definition, copied under the group's lock.
    func rulesSnapshot() -> [(status: GroupStatus, definition: RuleFile.Group)] {
        (rules?.groups ?? []).map { ($0.status, $0.definition) }
    }

    struct TargetRow {
        var target: ScrapeTarget
        var report: ScrapeReport?
        var consecutiveFailures: Int
    }

    func targetsSnapshot() -> [TargetRow] {
        (scrapes?.loops ?? []).map { TargetRow(target: $0.target, report: $0.lastReport, consecutiveFailures: $0.consecutiveFailures) }
    }

    struct LogRow {
        var paths: [String]
        var job: String?
        var metrics: [String]
        var files: [LogFileRow]
        var malformed: [(path: String, reason: String, count: Int)]
        var problems: [(path: String, problem: String)]
    }

    struct LogFileRow {
        var path: String
        var stats: LogFileStats
        /// Where reading stands in the open file; nil when it is not open (not there, or finished).
        var offset: Int64?
        var rotated: Bool
        var linesPerSecond: Double?
    }

    func logsSnapshot() -> (logs: [LogRow], activity: LogActivity.Snapshot) {
        guard let logs else { return ([], LogActivity.Snapshot()) }
        let activity = logs.activity.snapshot()
        let rows: [LogRow] = logs.queue.sync {
            logs.pipelines.map { mapping, pipeline in
                let tailer = pipeline.tailer
                var open: [String: TailOffsets.File] = [:]
                for f in tailer.offsets().files where open[f.path] == nil || !f.rotated { open[f.path] = f }
                let files = zip(tailer.filePaths, tailer.fileStats).map { path, stats in
                    LogFileRow(path: path, stats: stats, offset: open[path]?.offset, rotated: open[path]?.rotated ?? false,
                               linesPerSecond: activity.files[path]?.linesPerSecond)
                }
                return LogRow(paths: mapping.paths, job: mapping.job, metrics: mapping.metrics.map(\.name), files: files,
                              malformed: pipeline.malformedCounts().map { ($0.path, "\($0.reason)", $0.count) },
                              problems: tailer.problems.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            }
        }
        return (rows, activity)
    }
}
