#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
public import Query
import Synchronization
public import TimeSeries

/// A rule group at run time: evaluates its rules in order at a given time through the query
/// engine, writes recording-rule results and the `ALERTS`/`ALERTS_FOR_STATE` series back into the
/// store, and keeps each alerting rule's `AlertStateMachine`.
///
/// As in Prometheus (`rules/group.go`): rules run in file order, so a rule sees what the recording
/// rules before it wrote in the same evaluation; a rule that fails (query error, duplicate label
/// sets, limit exceeded) is marked unhealthy with its error and the group goes on with the next;
/// a series a rule produced in the previous evaluation but not in this one gets a staleness
/// marker, so it disappears from queries at once.
///
/// Evaluation takes its time as an argument and never reads a clock; the `RuleGroupTimer` decides
/// when. State is owned by a `Mutex` held for a whole evaluation, so status readers on other
/// threads always see a finished evaluation.
public final class RuleGroup: Sendable {
    /// The group's name.
    public let name: String
    /// The file the group came from.
    public let file: String
    /// How often the group is evaluated.
    public let interval: Milliseconds
    /// The group as loaded.
    public let definition: RuleFile.Group
    let engine: Engine
    let externalLabels: Labels
    let externalURL: String
    let state: Mutex<State>
    /// Each rule's name in checkpoints (`checkpointNames`), by rule index.
    let checkpointNames: [String]

    /// What one rule is at run time.
    struct RuleState: Sendable {
        let rule: RuleFile.Rule
        var machine: AlertStateMachine?
        var health: RuleHealth = .unknown
        var lastEvaluationDuration: Duration = .zero
        var lastEvaluatedAt: Timestamp?
        /// Series this rule wrote in its last evaluation (for staleness markers).
        var written: Set<Labels> = []
        /// What the rule's selectors picked, reused until a series is created or removed.
        let selections = SelectionCache()
        /// Label sets derived from the last evaluation's series, reused while the same series
        /// come back (building them was most of an alerting rule's own cost): a series' alert
        /// labels and identity (only when no rule label reads the value), and an alert's
        /// `ALERTS`/`ALERTS_FOR_STATE` series. Holds only what the last evaluation used.
        var alertLabelMemo: [Labels: (labels: Labels, identity: Labels)] = [:]
        var alertSeriesMemo: [Labels: (pending: Labels, firing: Labels, forState: Labels)] = [:]
        /// The rule's `labelsMayReadValue`, worked out once rather than at every evaluation.
        let labelsMayReadValue: Bool
        /// The first template that failed to render at the last evaluation (`file:line:column: …`).
        var templateError: String?
        /// Each active alert's annotations with the labels and value they were rendered from:
        /// rendered again only when those change (or a template reads the store or the clock).
        var annotationMemo: [Labels: (labels: Labels, value: UInt64, annotations: [String: String])] = [:]
        /// True when an annotation's template calls `query` or `now`, so it is rendered at every evaluation.
        let annotationsReadStoreOrClock: Bool

        init(rule: RuleFile.Rule, machine: AlertStateMachine?) {
            self.rule = rule
            self.machine = machine
            labelsMayReadValue = rule.labelsMayReadValue
            annotationsReadStoreOrClock = rule.annotations.contains { $0.template.readsStoreOrClock }
        }
    }

    struct State: Sendable {
        var rules: [RuleState]
        var lastEvaluatedAt: Timestamp?
        var lastEvaluationDuration: Duration = .zero
        var lastError: String?
        var evaluations = 0
        var failedRuleEvaluations = 0
    }

    /// A group from its definition; `defaultInterval` applies when the group gives none.
    public init(_ group: RuleFile.Group, file: String, engine: Engine, defaultInterval: Milliseconds = 60_000,
                externalLabels: Labels = Labels(), externalURL: String = "") {
        name = group.name
        self.file = file
        interval = group.interval ?? defaultInterval
        definition = group
        self.engine = engine
        self.externalLabels = externalLabels
        self.externalURL = externalURL
        let rules = group.rules.map { rule in
            RuleState(rule: rule, machine: rule.kind == .alerting ? AlertStateMachine(rule: rule, limit: group.limit) : nil)
        }
        state = Mutex(State(rules: rules))
        checkpointNames = Self.checkpointNames(group.rules)
    }

    /// Each rule's name in checkpoints: its name; for a name several alerting rules of the group
    /// share (a warning/critical pair), the name with the rule's constant labels, and their place
    /// among those rules when even these are the same. Reordering such a pair keeps each rule's
    /// states; a name used once keys as it always did.
    static func checkpointNames(_ rules: [RuleFile.Rule]) -> [String] {
        var uses: [String: Int] = [:]
        for r in rules where r.kind == .alerting { uses[r.name, default: 0] += 1 }
        var taken: [String: Int] = [:]
        return rules.map { r in
            guard r.kind == .alerting, uses[r.name, default: 0] > 1 else { return r.name }
            let constant = r.labels.filter(\.template.isConstant).map { "\($0.name)=\($0.template.source)" }.sorted()
            var key = r.name + "\u{1}" + constant.joined(separator: "\u{1}")
            let earlier = taken[key, default: 0]
            taken[key] = earlier + 1
            if earlier > 0 { key += "\u{1}#\(earlier + 1)" }
            return key
        }
    }

    /// `file:group`, the `source` of this group's alerts.
    public var source: String { "\(file):\(name)" }

    /// Evaluates every rule at time `t` and returns what the evaluation did.
    @discardableResult
    public func evaluate(at t: Timestamp) -> GroupEvaluation {
        state.withLock { state in
            let clock = ContinuousClock()
            let start = clock.now
            var errors: [String] = []
            for i in state.rules.indices {
                let ruleStart = clock.now
                // In place: a copy taken out of the array would copy the rule's alert states and
                // memos (its dictionaries are still shared with the array) at their first change.
                if let message = evaluateCatching(&state.rules[i], at: t) {
                    state.rules[i].health = .error(message)
                    errors.append("rule \"\(state.rules[i].rule.name)\": \(message)")
                    state.failedRuleEvaluations += 1
                } else {
                    state.rules[i].health = .ok
                }
                state.rules[i].lastEvaluatedAt = t
                state.rules[i].lastEvaluationDuration = clock.now - ruleStart
            }
            state.lastEvaluatedAt = t
            state.lastEvaluationDuration = clock.now - start
            state.lastError = errors.first
            state.evaluations += 1
            return GroupEvaluation(at: t, duration: state.lastEvaluationDuration, errors: errors)
        }
    }

    struct RuleEvaluationError: Error {
        var message: String
    }

    /// Evaluates one rule; returns its error message when it failed.
    func evaluateCatching(_ r: inout RuleState, at t: Timestamp) -> String? {
        do {
            try evaluate(&r, at: t)
            return nil
        } catch {
            return error.message
        }
    }

    func evaluate(_ r: inout RuleState, at t: Timestamp) throws(RuleEvaluationError) {
        let evalTime = t - definition.queryOffset
        let value: QueryValue
        do {
            var warnings: [String] = []
            value = try engine.instant(r.rule.query, at: evalTime, cache: r.selections, warnings: &warnings)
        } catch {
            throw RuleEvaluationError(message: error.message)
        }
        let samples: [VectorSample]
        switch value {
        case .vector(let v, _): samples = v
        case .scalar(let v, _): samples = [VectorSample(labels: Labels(), value: v)]
        case .string, .matrix: throw RuleEvaluationError(message: "rule result is not a vector or scalar")
        }
        switch r.rule.kind {
        case .recording: try record(&r, samples, at: t)
        case .alerting: try alert(&r, samples, at: t)
        }
    }

    /// A recording rule: each sample under the recorded name with the group's and rule's labels.
    func record(_ r: inout RuleState, _ samples: [VectorSample], at t: Timestamp) throws(RuleEvaluationError) {
        var output: [(Labels, Double)] = []
        output.reserveCapacity(samples.count)
        var seen = Set<Labels>()
        for s in samples {
            var b = LabelsBuilder(s.labels)
            b.set(Labels.metricName, r.rule.name)
            for l in definition.labels { b.set(l.name, l.value) }
            for l in r.rule.labels { b.set(l.name, l.template.source) }
            let labels = b.build()
            guard seen.insert(labels).inserted else {
                throw RuleEvaluationError(message: "vector contains metrics with the same labelset after applying rule labels: \(labels)")
            }
            output.append((labels, s.value))
        }
        if definition.limit > 0, output.count > definition.limit {
            writeStale(&r, keeping: [], at: t)
            throw RuleEvaluationError(message: "exceeded limit of \(definition.limit) with \(output.count) series")
        }
        try write(&r, output, at: t)
    }

    /// An alerting rule: the state machine, annotations, and the `ALERTS` series.
    func alert(_ r: inout RuleState, _ samples: [VectorSample], at t: Timestamp) throws(RuleEvaluationError) {
        guard var machine = r.machine else { return }
        // Moved out, not copied: its alert states change in place (it is put back on every path).
        r.machine = nil
        var results: [(labels: Labels, value: Double)] = []
        results.reserveCapacity(samples.count)
        var seriesLabels: [Labels: (Labels, Double)] = [:]
        let memoize = !r.labelsMayReadValue
        var labelMemo: [Labels: (labels: Labels, identity: Labels)] = [:]
        if memoize { labelMemo.reserveCapacity(samples.count) }
        var templateProblems: [String] = []
        defer { r.templateError = templateProblems.first }
        for s in samples {
            let labels: Labels, identity: Labels
            if memoize, let known = r.alertLabelMemo[s.labels] {
                (labels, identity) = known
            } else {
                labels = alertLabels(r.rule, series: s.labels, value: s.value, at: t, problems: &templateProblems)
                identity = AlertStateMachine.identity(of: labels, tiered: r.rule.isTiered)
            }
            if memoize { labelMemo[s.labels] = (labels, identity) }
            results.append((labels, s.value))
            seriesLabels[identity] = (s.labels, s.value)
        }
        r.alertLabelMemo = labelMemo
        do {
            try machine.evaluate(results, at: t)
        } catch {
            r.machine = machine
            writeStale(&r, keeping: [], at: t)
            throw RuleEvaluationError(message: error.description)
        }
        // Annotations are rendered with the series' labels (plus the tier of a tiered rule) and value.
        if !r.rule.annotations.isEmpty {
            var memo: [Labels: (labels: Labels, value: UInt64, annotations: [String: String])] = [:]
            for a in machine.activeAlerts() {
                guard let (labels, value) = seriesLabels[a.identity] else { continue }
                var templateLabels = labels
                if r.rule.isTiered, let severity = a.severity { templateLabels = labels.setting(Alert.severityLabel, to: severity) }
                if !r.annotationsReadStoreOrClock, let known = r.annotationMemo[a.identity], known.value == value.bitPattern,
                   known.labels == templateLabels {
                    memo[a.identity] = known
                    continue
                }
                let context = templateContext(labels: templateLabels, value: value, at: t)
                var annotations: [String: String] = [:]
                let problemsBefore = templateProblems.count
                for field in r.rule.annotations { annotations[field.name] = render(field, "annotation", context, problems: &templateProblems) }
                machine.setAnnotations(annotations, for: a.identity)
                // A failed rendering is tried again (and reported) at the next evaluation.
                if templateProblems.count == problemsBefore { memo[a.identity] = (templateLabels, value.bitPattern, annotations) }
            }
            r.annotationMemo = memo
        }
        r.machine = machine
        var output: [(Labels, Double)] = []
        var seriesMemo: [Labels: (pending: Labels, firing: Labels, forState: Labels)] = [:]
        for a in machine.activeAlerts() {
            let labels = a.labels
            let series: (pending: Labels, firing: Labels, forState: Labels)
            if let known = r.alertSeriesMemo[labels] {
                series = known
            } else {
                var b = LabelsBuilder(labels)
                b.set(Labels.metricName, "ALERTS")
                b.set("alertstate", Alert.State.pending.rawValue)
                let pending = b.build()
                b.set("alertstate", Alert.State.firing.rawValue)
                let firing = b.build()
                var f = LabelsBuilder(labels)
                f.set(Labels.metricName, "ALERTS_FOR_STATE")
                series = (pending, firing, f.build())
            }
            seriesMemo[labels] = series
            output.append((a.state == .firing ? series.firing : series.pending, 1))
            output.append((series.forState, Double(a.activeAt) / 1000))
        }
        r.alertSeriesMemo = seriesMemo
        try write(&r, output, at: t)
    }

    /// The labels of the alert a series of an alerting rule's result makes: the series' labels
    /// without `__name__`, the group's labels, the rule's (rendered with the series and value),
    /// and `alertname`.
    func alertLabels(_ rule: RuleFile.Rule, series: Labels, value: Double, at t: Timestamp, problems: inout [String]) -> Labels {
        var b = LabelsBuilder(series)
        b.set(Labels.metricName, "")
        for l in definition.labels { b.set(l.name, l.value) }
        if !rule.labels.isEmpty {
            let context = templateContext(labels: series, value: value, at: t)
            for l in rule.labels { b.set(l.name, render(l, "label", context, problems: &problems)) }
        }
        b.set("alertname", rule.name)
        return b.build()
    }

    /// What a rule's templates see at evaluation time `t`: `query` runs PromQL against the store at `t`.
    func templateContext(labels: Labels, value: Double, at t: Timestamp) -> TemplateContext {
        let engine = self.engine
        return TemplateContext(labels: labels, value: value, externalLabels: externalLabels, externalURL: externalURL, time: t) {
            q throws(TemplateQueryError) in
            do {
                switch try engine.instant(try PromQL.parse(q), at: t) {
                case .vector(let samples, _):
                    // Prometheus gives a selector's series in the order the store holds them; here
                    // that is its label order (`labels.Compare`), so that `first` is deterministic.
                    return samples.map { QuerySample(labels: $0.labels.labels.map { (name: $0.name, value: $0.value) }, value: $0.value) }
                        .sorted { QuerySample.precedes($0.labels, $1.labels) }
                case .scalar(let v, _):
                    return [QuerySample(labels: [], value: v)]
                case .string, .matrix:
                    throw TemplateQueryError(message: "rule result is not a vector or scalar")
                }
            } catch let e as TemplateQueryError {
                throw e
            } catch let e as QueryError {
                throw TemplateQueryError(message: e.message)
            } catch {
                throw TemplateQueryError(message: "\(error)")
            }
        }
    }

    /// A label or annotation rendered; a failure renders as Prometheus renders it and is noted as
    /// `file:line:column: annotation "x": message (template line:column)` for the rule's status.
    func render(_ field: TemplatedField, _ what: String, _ context: TemplateContext, problems: inout [String]) -> String {
        switch field.template.execute(context) {
        case .success(let text):
            return text
        case .failure(let error):
            var note = "\(file):\(field.position): \(what) \"\(field.name)\": \(error.message)"
            if let offset = error.offset {
                let before = Array(field.template.source.utf8.prefix(offset))
                let line = 1 + before.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                let column = offset - (before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
                note += " (at \(line):\(column) of the template)"
            }
            problems.append(note)
            return "<error expanding template: \(error.message)>"
        }
    }

    /// Writes a rule's output at `t` in one batch, and staleness markers for what it no longer produces.
    func write(_ r: inout RuleState, _ output: [(Labels, Double)], at t: Timestamp) throws(RuleEvaluationError) {
        var written = Set<Labels>()
        written.reserveCapacity(output.count)
        var refused = 0
        var problem: AppendResult?
        engine.store.write { writer in
            for (labels, value) in output {
                guard let ref = writer.ref(for: labels, kind: .gauge) else {
                    refused += 1
                    continue
                }
                let result = writer.append(ref, value: value, at: t)
                if result != .ok, problem == nil { problem = result }
                written.insert(labels)
            }
            for labels in r.written where !written.contains(labels) {
                if let ref = writer.ref(for: labels, kind: .gauge) { _ = writer.append(ref, value: .staleMarker, at: t) }
            }
        }
        r.written = written
        if refused > 0 { throw RuleEvaluationError(message: "\(refused) series refused by the store's series limit") }
        if let problem { throw RuleEvaluationError(message: "the store refused a sample at \(t): \(problem)") }
    }

    func writeStale(_ r: inout RuleState, keeping: Set<Labels>, at t: Timestamp) {
        guard !r.written.isEmpty else { return }
        let previous = r.written
        engine.store.write { writer in
            for labels in previous where !keeping.contains(labels) {
                if let ref = writer.ref(for: labels, kind: .gauge) { _ = writer.append(ref, value: .staleMarker, at: t) }
            }
        }
        r.written = keeping
    }

    /// Every alert of the group: pending, firing and recently resolved.
    /// Firing alerts carry Prometheus's `validUntil` and every alert its rule's `generatorURL`.
    public func alerts() -> [Alert] {
        let hold = 4 * max(Alert.resendDelay, interval)
        return state.withLock { state in
            state.rules.flatMap { r -> [Alert] in
                guard let machine = r.machine else { return [] }
                let link = generatorURL(r.rule)
                return machine.alerts(source: source).map { alert in
                    var a = alert
                    a.generatorURL = link
                    if a.state == .firing, let t = a.evaluatedAt { a.validUntil = t + hold }
                    return a
                }
            }
        }
    }

    /// Prometheus's `generatorURL`: the external URL and `strutil.TableLinkForExpression` of the
    /// rule's expression as Prometheus prints it; empty without an external URL.
    func generatorURL(_ rule: RuleFile.Rule) -> String {
        guard !externalURL.isEmpty else { return "" }
        let base = externalURL.hasSuffix("/") ? String(externalURL.dropLast()) : externalURL
        return base + "/graph?g0.expr=" + TemplateFunctions.queryEscape(rule.query.description) + "&g0.tab=1"
    }

    /// The group's status: last evaluation, its duration and error, and each rule's health.
    public var status: GroupStatus {
        state.withLock { state in
            GroupStatus(
                name: name, file: file, interval: interval, lastEvaluatedAt: state.lastEvaluatedAt,
                lastEvaluationDuration: state.lastEvaluationDuration, lastError: state.lastError,
                evaluations: state.evaluations, failedRuleEvaluations: state.failedRuleEvaluations,
                rules: state.rules.map {
                    RuleStatus(name: $0.rule.name, kind: $0.rule.kind, health: $0.health, lastEvaluatedAt: $0.lastEvaluatedAt,
                           lastEvaluationDuration: $0.lastEvaluationDuration, activeAlerts: $0.machine?.activeAlerts().count ?? 0,
                           templateError: $0.templateError)
                })
        }
    }

    /// Adds this group's alert states to a checkpoint.
    public func checkpoint(into checkpoint: inout AlertStateCheckpoint) {
        state.withLock { state in
            for (i, r) in state.rules.enumerated() {
                if let m = r.machine { checkpoint.add(m, key: RuleKey(file: file, group: name, rule: checkpointNames[i])) }
            }
        }
    }

    /// Restores this group's alert states from a checkpoint at time `now`; returns the alerts restored.
    @discardableResult
    public func restore(from checkpoint: AlertStateCheckpoint, now: Timestamp,
                        forGracePeriod: Milliseconds = AlertStateMachine.defaultForGracePeriod) -> Int {
        state.withLock { state in
            var restored = 0
            for i in state.rules.indices {
                guard var m = state.rules[i].machine else { continue }
                restored += checkpoint.restore(into: &m, key: RuleKey(file: file, group: name, rule: checkpointNames[i]),
                                               now: now, forGracePeriod: forGracePeriod)
                state.rules[i].machine = m
            }
            return restored
        }
    }
}

/// What one evaluation of a group did.
public struct GroupEvaluation: Sendable {
    /// The evaluation time.
    public var at: Timestamp
    /// How long the evaluation took.
    public var duration: Duration
    /// Errors of the rules that failed (`rule "X": message`), in rule order.
    public var errors: [String]
}

/// A rule's health after its last evaluation.
public enum RuleHealth: Sendable, Equatable {
    /// Not evaluated yet.
    case unknown
    case ok
    /// The last evaluation failed with this error.
    case error(String)
}

/// The status of a group, for `agent status` and `/metrics`.
public struct GroupStatus: Sendable {
    public var name: String
    public var file: String
    public var interval: Milliseconds
    public var lastEvaluatedAt: Timestamp?
    public var lastEvaluationDuration: Duration
    /// The first error of the last evaluation, if any rule failed.
    public var lastError: String?
    public var evaluations: Int
    public var failedRuleEvaluations: Int
    public var rules: [RuleStatus]
}

/// The status of one rule.
public struct RuleStatus: Sendable {
    public var name: String
    public var kind: RuleFile.Rule.Kind
    public var health: RuleHealth
    public var lastEvaluatedAt: Timestamp?
    public var lastEvaluationDuration: Duration
    public var activeAlerts: Int
    /// The first label or annotation that failed to render at the last evaluation, with its
    /// `file:line:column` and its place in the template (Prometheus renders it as `<error expanding template: …>`).
    public var templateError: String? = nil
}
