import Query
import TimeSeries
import YAMLSupport

/// Turns rule-file text into a `RuleFile`, checking everything Prometheus's `rulefmt` checks and our
/// tier extension needs, and collecting every error rather than stopping at the first.
struct RuleFileValidator {
    var yaml: YAMLValidator
    let text: String
    /// Advice that is not an error (`RuleFile.notes`).
    var notes: [RuleFileError] = []

    static let fileKeys = ["groups"]
    static let groupKeys = ["name", "interval", "query_offset", "limit", "labels", "rules"]
    static let ruleKeys = ["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations", "tiers", "recover_below", "recover_above"]
    static let tierKeys = ["severity", "above", "below", "for"]
    /// Keys of an alerting rule that a recording rule must not have.
    static let alertingOnlyKeys = ["for", "keep_firing_for", "annotations", "tiers", "recover_below", "recover_above"]

    init(text: String, path: String) {
        self.text = text
        yaml = YAMLValidator(text: text, path: path)
    }

    var errors: [RuleFileError] {
        yaml.errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
    }

    mutating func validate() -> RuleFile {
        var file = RuleFile(path: yaml.path, groups: [], notes: [])
        guard let root = yaml.compose(text), !yaml.isNull(root) else { return file }
        guard let top = yaml.mapping(root, context: "", what: "a rule file", allowed: Self.fileKeys) else { return file }
        // As in Prometheus's rulefmt: a file without groups (`{}`, `groups:`, `groups: []`) is valid and empty.
        guard let groupsNode = top["groups"]?.value, !yaml.isNull(groupsNode) else { return file }
        guard let groupNodes = yaml.sequence(groupsNode, context: "", what: "groups") else { return file }
        var seenGroups: [String: Int] = [:]
        for (index, node) in groupNodes.enumerated() {
            if let group = validateGroup(node, index: index + 1, seen: &seenGroups) { file.groups.append(group) }
        }
        file.notes = notes
        return file
    }

    mutating func validateGroup(_ node: Node, index: Int, seen: inout [String: Int]) -> RuleFile.Group? {
        var context = "group \(index)"
        let start = yaml.position(of: node)
        guard let keys = yaml.mapping(node, context: context, what: "a rule group", allowed: Self.groupKeys) else { return nil }
        var name = ""
        if let n = keys["name"] {
            if let s = yaml.string(n.value, context: context, what: "the group's name") {
                if s.isEmpty {
                    yaml.add("the group's name must not be empty", at: n.value, context: context)
                } else {
                    name = s
                    context = "group \"\(s)\""
                    if let line = seen[s] {
                        yaml.add("group name \"\(s)\" is repeated in the same file (first at line \(line)); group names must be unique", at: n.value, context: "")
                    } else {
                        seen[s] = yaml.position(of: n.value).line
                    }
                }
            }
        } else {
            yaml.add("a group needs \"name:\"", at: node, context: context)
        }
        var group = RuleFile.Group(name: name, interval: nil, queryOffset: 0, limit: 0, labels: [], rules: [], position: start)
        if let i = keys["interval"], !yaml.isNull(i.value), let d = yaml.duration(i.value, context: context, what: "\"interval\"") {
            // 0 means the global evaluation interval, as in Prometheus.
            if d > 0 { group.interval = d }
        }
        if let q = keys["query_offset"], !yaml.isNull(q.value), let d = yaml.duration(q.value, context: context, what: "\"query_offset\"") {
            group.queryOffset = d
        }
        if let l = keys["limit"], !yaml.isNull(l.value), let n = yaml.count(l.value, context: context, what: "\"limit\"") {
            group.limit = n
        }
        if let l = keys["labels"] {
            group.labels = plainLabels(l.value, context: context)
        }
        // A group without rules is valid (Prometheus loads it and evaluates nothing).
        guard let rulesNode = keys["rules"]?.value, !yaml.isNull(rulesNode) else { return group }
        guard let ruleNodes = yaml.sequence(rulesNode, context: context, what: "rules") else { return group }
        for (k, ruleNode) in ruleNodes.enumerated() {
            guard let rule = validateRule(ruleNode, groupContext: context, index: k + 1) else { continue }
            group.rules.append(rule)
        }
        suggestTiers(group, context: context)
        return group
    }

    /// A name several alerting rules of a group share, each with its own constant `severity` (the
    /// warning/critical pair), is valid and behaves as in Prometheus: independent rules whose
    /// alerts differ in `severity`. One note per such name says that one rule with `tiers:` could
    /// replace them (one alert that escalates instead of two alerts).
    mutating func suggestTiers(_ group: RuleFile.Group, context: String) {
        var byName: [String: [RuleFile.Rule]] = [:]
        var order: [String] = []
        for rule in group.rules where rule.kind == .alerting && !rule.isTiered {
            if byName[rule.name] == nil { order.append(rule.name) }
            byName[rule.name, default: []].append(rule)
        }
        for name in order {
            let rules = byName[name]!
            guard rules.count > 1 else { continue }
            let severities = rules.compactMap { rule in
                rule.labels.first { $0.name == Alert.severityLabel && $0.template.isConstant }?.template.source
            }
            guard severities.count == rules.count, Set(severities).count == rules.count else { continue }
            let lines = rules.dropLast().map { String($0.position.line) }.joined(separator: ", ")
            notes.append(RuleFileError(
                path: yaml.path, line: rules.last!.position.line, column: rules.last!.position.column,
                message: "\(context): alert \"\(name)\" is also defined at line\(rules.count > 2 ? "s" : "") \(lines) (severities \(severities.map { "\"\($0)\"" }.joined(separator: ", "))): "
                    + "as in Prometheus these are independent rules; if they differ only in a threshold, one rule with `tiers:` gives one alert that escalates (docs/rules.md)"))
        }
    }

    /// Labels whose values are plain strings (group labels, recording-rule labels).
    mutating func plainLabels(_ node: Node, context: String) -> [(name: String, value: String)] {
        if yaml.isNull(node) { return [] }
        guard case .mapping(let m) = node else {
            yaml.add("expected labels (a mapping of names to values), got \(yaml.describe(node))", at: node, context: context)
            return []
        }
        var out: [(name: String, value: String)] = []
        var seen: Set<String> = []
        for (key, value) in m {
            guard let name = labelName(key, context: context, seen: &seen) else { continue }
            if let v = yaml.string(value, context: context, what: "the value of label \"\(name)\"") { out.append((name, v)) }
        }
        return out
    }

    mutating func labelName(_ key: Node, context: String, seen: inout Set<String>, what: String = "label") -> String? {
        guard case .scalar(let k) = key else {
            yaml.add("a \(what) name must be a string, got \(yaml.describe(key))", at: key, context: context)
            return nil
        }
        let name = k.string
        guard YAMLValidator.isValidLabelName(name) else {
            yaml.add("invalid \(what) name \"\(name)\": use letters, digits and _ (not starting with a digit)", at: key, context: context)
            return nil
        }
        if what == "label", name == Labels.metricName {
            yaml.add("label \"__name__\" cannot be set by a rule", at: key, context: context)
            return nil
        }
        guard seen.insert(name).inserted else {
            yaml.add("\(what) \"\(name)\" is given twice", at: key, context: context)
            return nil
        }
        return name
    }

    mutating func validateRule(_ node: Node, groupContext: String, index: Int) -> RuleFile.Rule? {
        var context = "\(groupContext), rule \(index)"
        // Name the rule in every message, even those about keys read before its name.
        if case .mapping(let m) = node, let n = (m["alert"] ?? m["record"])?.scalar?.string { context += " \"\(n)\"" }
        let ruleContext = context
        context = "\(groupContext), rule \(index)"
        guard let keys = yaml.mapping(node, context: ruleContext, what: "a rule", allowed: Self.ruleKeys) else { return nil }
        let record = keys["record"]
        let alert = keys["alert"]
        var kind = RuleFile.Rule.Kind.alerting
        var name = ""
        var ok = true
        switch (record, alert) {
        case (nil, nil):
            yaml.add("a rule needs either \"alert:\" (an alerting rule) or \"record:\" (a recording rule)", at: node, context: context)
            ok = false
        case (.some, .some):
            yaml.add("a rule has either \"alert:\" or \"record:\", not both", at: record!.key, context: context)
            ok = false
        case (.some(let r), nil):
            kind = .recording
            if let s = yaml.string(r.value, context: context, what: "the recorded metric name") {
                name = s
                context += " \"\(s)\""
                if !YAMLValidator.isValidMetricName(s) {
                    yaml.add("invalid metric name \"\(s)\" for record: use letters, digits, _ and : (not starting with a digit)", at: r.value, context: "\(groupContext), rule \(index)")
                    ok = false
                }
            } else {
                ok = false
            }
        case (nil, .some(let a)):
            if let s = yaml.string(a.value, context: context, what: "the alert's name") {
                name = s
                context += " \"\(s)\""
                if s.isEmpty {
                    yaml.add("the alert's name must not be empty", at: a.value, context: "\(groupContext), rule \(index)")
                    ok = false
                }
            } else {
                ok = false
            }
        }
        if kind == .recording {
            for key in Self.alertingOnlyKeys {
                if let entry = keys[key] {
                    yaml.add("\"\(key)\" is only for alerting rules; a recording rule has record, expr and labels", at: entry.key, context: context)
                    ok = false
                }
            }
        }

        // The expression.
        var expression = ""
        var query: Expr?
        if let e = keys["expr"] {
            if let s = yaml.string(e.value, context: context, what: "\"expr\"") {
                expression = s
                query = parseExpression(s, node: e.value, context: context)
            }
        } else {
            yaml.add("a rule needs \"expr:\", the PromQL expression", at: node, context: context)
        }

        var hold: Int64 = 0
        var keepFiringFor: Int64 = 0
        var labels: [TemplatedField] = []
        var annotations: [TemplatedField] = []
        if let f = keys["for"], !yaml.isNull(f.value), kind == .alerting {
            hold = yaml.duration(f.value, context: context, what: "\"for\"") ?? 0
        }
        if let f = keys["keep_firing_for"], !yaml.isNull(f.value), kind == .alerting {
            keepFiringFor = yaml.duration(f.value, context: context, what: "\"keep_firing_for\"") ?? 0
        }
        if let l = keys["labels"] {
            if kind == .recording {
                labels = plainLabels(l.value, context: context).map { TemplatedField(name: $0.name, template: Template(literal: $0.value)) }
            } else {
                labels = templatedFields(l.value, context: context, what: "label", ruleName: name)
            }
        }
        if let a = keys["annotations"], kind == .alerting {
            annotations = templatedFields(a.value, context: context, what: "annotation", ruleName: name)
        }
        var tiers: (tiers: [SeverityTier], recovery: Double?) = ([], nil)
        if kind == .alerting {
            tiers = validateTiers(keys, labels: labels, context: context)
        }
        guard ok, let query else { return nil }
        return RuleFile.Rule(
            kind: kind, name: name, expression: expression, query: query, holdDuration: hold, keepFiringFor: keepFiringFor,
            labels: labels, annotations: annotations, tiers: tiers.tiers, recovery: tiers.recovery, position: yaml.position(of: node))
    }

    mutating func parseExpression(_ text: String, node: Node, context: String) -> Expr? {
        if text.allSatisfy({ $0.isWhitespace }) {
            yaml.add("expr must not be empty", at: node, context: context)
            return nil
        }
        do {
            let expr = try PromQL.parse(text)
            switch expr.type {
            case .instantVector, .scalar:
                return expr
            case .rangeVector, .string:
                yaml.add("expr must give an instant vector or a scalar, but gives a \(expr.type) (wrap a range in a function such as rate() or avg_over_time())",
                         at: node, context: context)
                return nil
            }
        } catch {
            let at = error.line > 0 ? yaml.position(inScalar: node, line: error.line, column: error.column) : yaml.position(of: node)
            yaml.add(yaml.prefix(context) + "expr: " + error.message, at: at)
            return nil
        }
    }

    /// Labels or annotations of an alerting rule: each a template, parsed as Prometheus parses it
    /// (so only what Prometheus refuses at load time is an error here), at its place in the file.
    mutating func templatedFields(_ node: Node, context: String, what: String, ruleName: String) -> [TemplatedField] {
        if yaml.isNull(node) { return [] }
        guard case .mapping(let m) = node else {
            yaml.add("expected \(what)s (a mapping of names to templates), got \(yaml.describe(node))", at: node, context: context)
            return []
        }
        var out: [TemplatedField] = []
        var seen: Set<String> = []
        for (key, value) in m {
            guard let name = labelName(key, context: context, seen: &seen, what: what) else { continue }
            guard let text = yaml.string(value, context: context, what: "the value of \(what) \"\(name)\"") else { continue }
            do {
                var field = TemplatedField(name: name, template: try Template.parse(text, ruleName: ruleName))
                field.position = yaml.position(of: value)
                out.append(field)
            } catch {
                yaml.add(yaml.prefix(context) + "\(what) \"\(name)\": \(error.message)", at: yaml.position(inScalar: value, byteOffset: error.offset))
            }
        }
        return out
    }

    /// `tiers`, `recover_below`, `recover_above`: shape, direction, order and hysteresis.
    mutating func validateTiers(_ keys: [String: (key: Node, value: Node)], labels: [TemplatedField], context: String) -> (tiers: [SeverityTier], recovery: Double?) {
        let recoverBelow = keys["recover_below"]
        let recoverAbove = keys["recover_above"]
        guard let tiersEntry = keys["tiers"] else {
            for entry in [recoverBelow, recoverAbove].compactMap({ $0 }) {
                yaml.add("\"\(entry.key.scalar?.string ?? "")\" needs \"tiers:\" (hysteresis applies to tiered rules)", at: entry.key, context: context)
            }
            return ([], nil)
        }
        guard let tierNodes = yaml.sequence(tiersEntry.value, context: context, what: "tiers") else { return ([], nil) }
        if tierNodes.isEmpty {
            yaml.add("tiers must list at least one tier (severity and above or below)", at: tiersEntry.value, context: context)
            return ([], nil)
        }
        if labels.contains(where: { $0.name == Alert.severityLabel }) {
            yaml.add("labels.severity conflicts with tiers: with tiers the severity comes from the tier that holds; remove it from labels",
                     at: tiersEntry.key, context: context)
        }
        var tiers: [SeverityTier] = []
        var tierNodesKept: [Node] = []
        var seenSeverities: [String: Int] = [:]
        for (k, node) in tierNodes.enumerated() {
            let tierContext = "\(context), tier \(k + 1)"
            guard let t = yaml.mapping(node, context: tierContext, what: "a tier", allowed: Self.tierKeys) else { continue }
            var severity: String?
            if let s = t["severity"] {
                if let v = yaml.string(s.value, context: tierContext, what: "\"severity\"") {
                    if v.isEmpty {
                        yaml.add("severity must not be empty", at: s.value, context: tierContext)
                    } else if let first = seenSeverities[v] {
                        yaml.add("severity \"\(v)\" is given twice (first in tier \(first))", at: s.value, context: tierContext)
                    } else {
                        seenSeverities[v] = k + 1
                        severity = v
                    }
                }
            } else {
                yaml.add("a tier needs \"severity:\" (e.g. critical, high, medium, low)", at: node, context: tierContext)
            }
            var direction: SeverityTier.Direction?
            var threshold: Double?
            switch (t["above"], t["below"]) {
            case (nil, nil):
                yaml.add("a tier needs a threshold: \"above:\" or \"below:\"", at: node, context: tierContext)
            case (.some(let a), .some):
                yaml.add("a tier has either \"above:\" or \"below:\", not both", at: a.key, context: tierContext)
            case (.some(let a), nil):
                direction = .above
                threshold = yaml.number(a.value, context: tierContext, what: "\"above\"")
            case (nil, .some(let b)):
                direction = .below
                threshold = yaml.number(b.value, context: tierContext, what: "\"below\"")
            }
            if let v = threshold, v.isNaN {
                yaml.add("a threshold cannot be NaN", at: t["above"]?.value ?? t["below"]!.value, context: tierContext)
                threshold = nil
            }
            var hold: Int64?
            if let f = t["for"], !yaml.isNull(f.value) { hold = yaml.duration(f.value, context: tierContext, what: "\"for\"") }
            if let severity, let direction, let threshold {
                tiers.append(SeverityTier(severity: severity, direction: direction, threshold: threshold, holdDuration: hold))
                tierNodesKept.append(node)
            }
        }
        guard tiers.count == tierNodes.count else { return ([], nil) }

        // One direction for all tiers.
        let direction = tiers[0].direction
        if let k = tiers.firstIndex(where: { $0.direction != direction }) {
            yaml.add("all tiers of a rule must use the same direction: tier 1 uses \"\(direction.rawValue)\", tier \(k + 1) uses \"\(tiers[k].direction.rawValue)\"",
                     at: tierNodesKept[k], context: context)
            return ([], nil)
        }
        // Most severe first: `above` thresholds descend, `below` thresholds ascend.
        var ordered = true
        for k in 1..<max(tiers.count, 1) where k < tiers.count {
            let (prev, cur) = (tiers[k - 1], tiers[k])
            let inOrder = direction == .above ? cur.threshold < prev.threshold : cur.threshold > prev.threshold
            if !inOrder {
                ordered = false
                let want = direction == .above ? "lower" : "higher"
                yaml.add(
                    "tiers must go from most to least severe: tier \(k + 1) \"\(cur.severity)\" (\(direction.rawValue) \(GoFormat.sprint(.float(cur.threshold)))) must have a \(want) threshold than tier \(k) \"\(prev.severity)\" (\(direction.rawValue) \(GoFormat.sprint(.float(prev.threshold))))",
                    at: tierNodesKept[k], context: context)
            }
        }
        // Known severity names must keep their order (critical before high before medium before low).
        let rank = Dictionary(uniqueKeysWithValues: SeverityTier.defaultOrder.enumerated().map { ($1, $0) })
        for k in 1..<max(tiers.count, 1) where k < tiers.count {
            if let a = rank[tiers[k - 1].severity], let b = rank[tiers[k].severity], b < a {
                ordered = false
                yaml.add(
                    "tiers must go from most to least severe: \"\(tiers[k].severity)\" is more severe than \"\(tiers[k - 1].severity)\" and must come first",
                    at: tierNodesKept[k], context: context)
            }
        }
        // Hysteresis: on the good side of the least severe threshold.
        let least = tiers[tiers.count - 1]
        var recovery: Double?
        if let rb = recoverBelow {
            if direction == .below {
                yaml.add("recover_below goes with \"above\" tiers; these tiers use \"below\", so use recover_above", at: rb.key, context: context)
            } else if let v = yaml.number(rb.value, context: context, what: "\"recover_below\"") {
                if v > least.threshold {
                    yaml.add(
                        "recover_below (\(GoFormat.sprint(.float(v)))) must not exceed the least severe tier's threshold (\(least.severity) above \(GoFormat.sprint(.float(least.threshold))))",
                        at: rb.value, context: context)
                } else {
                    recovery = v
                }
            }
        }
        if let ra = recoverAbove {
            if recoverBelow != nil {
                yaml.add("give recover_below or recover_above, not both", at: ra.key, context: context)
            } else if direction == .above {
                yaml.add("recover_above goes with \"below\" tiers; these tiers use \"above\", so use recover_below", at: ra.key, context: context)
            } else if let v = yaml.number(ra.value, context: context, what: "\"recover_above\"") {
                if v < least.threshold {
                    yaml.add(
                        "recover_above (\(GoFormat.sprint(.float(v)))) must not be under the least severe tier's threshold (\(least.severity) below \(GoFormat.sprint(.float(least.threshold))))",
                        at: ra.value, context: context)
                } else {
                    recovery = v
                }
            }
        }
        return ordered ? (tiers, recovery) : ([], nil)
    }
}
