public import Query
public import TimeSeries

extension RuleGroup {
    /// The recent values of some of an alerting rule's alerts, for notifications.
    ///
    /// The rule's *value expression* (see `RuleFile.Rule.valueExpression`) is evaluated at each
    /// earlier point of the grid (`steps − 1` instant queries, each holding the store's lock once
    /// and only for its own evaluation, so ingestion waits at most one rule evaluation at a time);
    /// each result series is turned into an alert identity exactly as an evaluation does, and kept
    /// when it is one of `alerts`. The grid's last point is the alert's own value: it *is* the
    /// expression at that time, and a re-evaluation could differ by data that arrived since.
    ///
    /// - Parameters:
    ///   - rule: the alerting rule's name (`alertname`); every rule of the group with that name counts.
    ///   - alerts: the alerts' labels (`Alert.labels`, what receivers see) and their current values.
    ///   - evaluatedAt: the evaluation that produced those values (`Alert.evaluatedAt`).
    /// - Returns: a history per alert (by its labels) found; empty when the rule is unknown.
    /// - Throws: the query's error when the value expression fails at an earlier time (a limit, say).
    /// - Complexity: `steps − 1` evaluations of the value expression, about as many rule evaluations.
    public func valueHistory(
        rule: String, alerts: [Labels: Double], evaluatedAt: Timestamp, step: Milliseconds = ValueHistory.defaultStep,
        steps: Int = ValueHistory.defaultSteps
    ) throws(QueryError) -> [Labels: ValueHistory] {
        let end = evaluatedAt - definition.queryOffset
        // Several rules may share the name (a warning/critical pair): each gives the identities it makes.
        let candidates = definition.rules.filter { $0.kind == .alerting && $0.name == rule }
        guard !candidates.isEmpty else { return [:] }
        var found: [Labels: [Sample]] = [:]
        if steps > 1, step > 0, !alerts.isEmpty {
            for candidate in candidates {
                try collectHistory(of: candidate, alerts: alerts, end: end, step: step, steps: steps, into: &found)
            }
        }
        var out: [Labels: ValueHistory] = [:]
        for (identity, value) in alerts {
            var points = found[identity] ?? []
            if candidates.count > 1 {
                // Two rules of one name that make the same identity: in time order, the first rule's point per time.
                var seen = Set<Timestamp>()
                points = points.enumerated().sorted { ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset) }
                    .map(\.element).filter { seen.insert($0.timestamp).inserted }
            }
            if value.isFinite { points.append(Sample(timestamp: end, value: value)) }
            out[identity] = ValueHistory(end: end, step: step, steps: steps, points: points)
        }
        return out
    }

    /// Adds the points of `candidate`'s alerts among `alerts` at the earlier grid points to `found`.
    func collectHistory(
        of candidate: RuleFile.Rule, alerts: [Labels: Double], end: Timestamp, step: Milliseconds, steps: Int,
        into found: inout [Labels: [Sample]]
    ) throws(QueryError) {
        let expr = candidate.valueExpression
        // A series' identity is the same at every step unless a rule label's template reads the
        // value: then it is built once per series, not once per series and step (a rule over
        // 2,000 series builds 2,000 label sets instead of 58,000).
        let memoize = !candidate.labelsMayReadValue
        // The alerts this rule can have made, by the identity it gives them (a tier moves `severity`).
        var wanted: [Labels: Labels] = [:]
        for labels in alerts.keys { wanted[AlertStateMachine.identity(of: labels, tiered: candidate.isTiered)] = labels }
        var identities: [Labels: Labels?] = [:]
        // The steps select the same series unless one appears meanwhile (the cache knows).
        let selections = SelectionCache()
        var warnings: [String] = []
        for k in stride(from: steps - 1, through: 1, by: -1) {
            let t = end - Int64(k) * step
            let samples: [VectorSample]
            switch try engine.instant(expr, at: t, cache: selections, warnings: &warnings) {
            case .vector(let v, _): samples = v
            case .scalar(let v, _): samples = [VectorSample(labels: Labels(), value: v)]
            case .string, .matrix: samples = []
            }
            for s in samples where s.value.isFinite {
                let identity: Labels?
                if memoize, let known = identities[s.labels] {
                    identity = known
                } else {
                    var problems: [String] = []
                    let labels = alertLabels(candidate, series: s.labels, value: s.value, at: t, problems: &problems)
                    // The alerts asked for carry the external labels they were sent with (the
                    // notifier's), or not (the rules' own).
                    let built = AlertStateMachine.identity(of: labels, tiered: candidate.isTiered)
                    identity = wanted[built] ?? wanted[Alert.adding(externalLabels, to: built)]
                    if memoize { identities[s.labels] = identity }
                }
                if let identity { found[identity, default: []].append(Sample(timestamp: t, value: s.value)) }
            }
        }
    }
}

extension RuleFile.Rule {
    /// The expression whose value an alert of this rule carries, over time.
    ///
    /// A tiered rule's `expr` is already its value (the thresholds are its tiers). A rule whose
    /// `expr` ends in a filtering comparison with a scalar (`error_ratio > 0.05`, `0.7 > hit_rate`)
    /// has the vector side as its value: the comparison keeps that side's samples and values, so
    /// the alert's value is the same, and the history also shows the times the condition did not
    /// hold. Any other `expr` (`a > b`, `… and …`, `absent(…)`) is its own value.
    public var valueExpression: Expr {
        guard !isTiered else { return query }
        var e = query
        while case .parenthesized(let p) = e { e = p.expr }
        guard case .binary(let b) = e, !b.returnBool, Self.filters(b.op) else { return query }
        if b.rhs.type == .scalar, b.lhs.type == .instantVector { return b.lhs }
        if b.lhs.type == .scalar, b.rhs.type == .instantVector { return b.rhs }
        return query
    }

    /// True when a label template may read the alert's value (`$value`, `.Value`, or the whole
    /// data `.`) or call `query` or `now`: conservative, any bare `.` outside a string counts
    /// (`$labels.job` does not).
    /// Whether one of the rule's label templates may read the value: then an alert's labels can
    /// change with the value, and labels derived from a series cannot be reused.
    var labelsMayReadValue: Bool { labels.contains { Self.mayReadValue($0.template.source) } }

    static func mayReadValue(_ source: String) -> Bool {
        guard source.contains("{{") else { return false }
        // The value, or what changes with time: the store (`query`) and the clock (`now`).
        if source.contains("alue") || source.contains("query") || source.contains("now") { return true }
        var previous: Character = " "
        var quoted = false
        for ch in source {
            if ch == "\"" && previous != "\\" { quoted.toggle() }
            if !quoted, ch == ".", !(previous.isLetter || previous.isNumber || previous == "_" || previous == "$") { return true }
            previous = ch
        }
        return false
    }

    static func filters(_ op: BinaryOp) -> Bool {
        switch op {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: true
        default: false
        }
    }
}
