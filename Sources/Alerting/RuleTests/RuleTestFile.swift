#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import TextRendering
public import Query
public import TimeSeries
import YAMLSupport

/// A rule unit-test file in promtool's format (`promtool test rules`), loaded and validated.
///
/// ```yaml
/// rule_files: [api.yaml]          # relative to this file; globs allowed
/// evaluation_interval: 1m
/// tests:
///   - interval: 1m
///     input_series:
///       - series: 'http_requests_total{status="500"}'
///         values: '0+10x20'
///     alert_rule_test:
///       - eval_time: 10m
///         alertname: ApiErrorRate
///         exp_alerts:
///           - exp_labels: {severity: high}
///             exp_annotations: {summary: "…"}
///     promql_expr_test:
///       - expr: job:errors:rate5m
///         eval_time: 5m
///         exp_samples: [{labels: 'job:errors:rate5m{job="api"}', value: 0.05}]
/// ```
/// Errors carry `file:line:column` like rule-file errors, all of them in one pass.
public struct RuleTestFile: Sendable {
    public var path: String
    /// Rule files to load, resolved against this file's directory (globs expanded).
    public var ruleFiles: [String]
    /// Step between rule evaluations (default 1m).
    public var evaluationInterval: Milliseconds
    /// Order in which groups are evaluated, by name (default: file order).
    public var groupEvalOrder: [String]
    /// Compare sample values allowing one unit in the last place (`fuzzy_compare`).
    public var fuzzyCompare = false
    public var tests: [TestGroup]
    /// Problems that do not stop the tests (a `rule_files` pattern matching nothing, as promtool warns).
    public var warnings: [String] = []

    /// One entry of `tests`: input series and what to expect.
    public struct TestGroup: Sendable {
        public var name: String
        /// Step between the values of the input series.
        public var interval: Milliseconds
        public var inputSeries: [InputSeries]
        public var alertTests: [AlertTest]
        public var exprTests: [ExprTest]
        public var externalLabels: Labels
        public var externalURL: String
        /// Time of the first input sample and of the first evaluation (`start_timestamp`, default 0).
        public var startTimestamp: Timestamp = 0
        public var position: SourcePosition
    }

    /// One `alert_rule_test`: the firing alerts of a rule at a time.
    public struct AlertTest: Sendable {
        public var evalTime: Milliseconds
        public var alertname: String
        public var expected: [ExpectedAlert]
        public var position: SourcePosition
    }

    /// An expected firing alert (its labels other than `alertname`, and its annotations).
    public struct ExpectedAlert: Sendable, Equatable {
        public var labels: Labels
        public var annotations: Labels
    }

    /// One `promql_expr_test`.
    public struct ExprTest: Sendable {
        public var expr: String
        public var evalTime: Milliseconds
        public var expected: [ExpectedSample]
        public var position: SourcePosition
    }

    /// Reads and validates a test file.
    public static func load(path: String) throws(RuleFileErrors) -> RuleTestFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RuleFileErrors([RuleFileError(path: path, line: 0, column: 0, message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RuleFileErrors([RuleFileError(path: path, line: 0, column: 0, message: "the file is not UTF-8 text")])
        }
        return try parse(text, path: path)
    }

    /// Parses test-file text; `path` locates relative rule files and names the file in messages.
    public static func parse(_ text: String, path: String) throws(RuleFileErrors) -> RuleTestFile {
        var reader = RuleTestFileReader(text: text, path: path)
        let file = reader.read()
        if !reader.yaml.errors.isEmpty {
            throw RuleFileErrors(reader.yaml.errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return file
    }
}

struct RuleTestFileReader {
    var yaml: YAMLValidator
    let text: String

    static let fileKeys = ["rule_files", "evaluation_interval", "group_eval_order", "tests", "fuzzy_compare"]
    static let testKeys = [
        "name", "interval", "input_series", "alert_rule_test", "promql_expr_test", "external_labels", "external_url", "start_timestamp",
    ]
    static let seriesKeys = ["series", "values"]
    static let alertTestKeys = ["eval_time", "alertname", "exp_alerts"]
    static let expectedAlertKeys = ["exp_labels", "exp_annotations"]
    static let exprTestKeys = ["expr", "eval_time", "exp_samples"]
    static let sampleKeys = ["labels", "value", "histogram"]

    init(text: String, path: String) {
        self.text = text
        yaml = YAMLValidator(text: text, path: path)
    }

    mutating func read() -> RuleTestFile {
        var file = RuleTestFile(path: yaml.path, ruleFiles: [], evaluationInterval: 60_000, groupEvalOrder: [], tests: [])
        guard let root = yaml.compose(text), !yaml.isNull(root) else {
            if yaml.errors.isEmpty { yaml.add("the test file is empty", at: SourcePosition(line: 1, column: 1)) }
            return file
        }
        guard let keys = yaml.mapping(root, context: "", what: "a rule test file", allowed: Self.fileKeys) else { return file }
        if let r = keys["rule_files"], let items = yaml.sequence(r.value, context: "", what: "rule_files") {
            for item in items {
                guard let pattern = yaml.string(item, context: "rule_files", what: "a rule file path") else { continue }
                let matches = Self.resolve(pattern, relativeTo: yaml.path)
                if matches.isEmpty {
                    // promtool warns and goes on: the tests run without those rules.
                    let at = yaml.position(of: item)
                    file.warnings.append("\(yaml.path):\(at.line):\(at.column): rule_files: no file matches \"\(pattern)\" (paths are relative to the test file)")
                }
                file.ruleFiles += matches
            }
        }
        if let e = keys["evaluation_interval"], !yaml.isNull(e.value), let d = yaml.duration(e.value, context: "", what: "\"evaluation_interval\"") {
            // 0 means the default, as in promtool.
            if d > 0 { file.evaluationInterval = d }
        }
        if let g = keys["group_eval_order"], let items = yaml.sequence(g.value, context: "", what: "group_eval_order") {
            for item in items {
                guard let s = yaml.string(item, context: "group_eval_order", what: "a group name") else { continue }
                if file.groupEvalOrder.contains(s) {
                    yaml.add("group name repeated in evaluation order: \(s)", at: item, context: "group_eval_order")
                } else {
                    file.groupEvalOrder.append(s)
                }
            }
        }
        if let f = keys["fuzzy_compare"], !yaml.isNull(f.value) {
            if case .scalar = f.value, let b = f.value.bool {
                file.fuzzyCompare = b
            } else {
                yaml.add("expected fuzzy_compare (true or false), got \(yaml.describe(f.value))", at: f.value, context: "")
            }
        }
        if let t = keys["tests"], let items = yaml.sequence(t.value, context: "", what: "tests") {
            for (k, item) in items.enumerated() {
                if let test = readTest(item, index: k + 1, defaultInterval: file.evaluationInterval) { file.tests.append(test) }
            }
        }
        return file
    }

    /// Rule files matching `pattern`, relative to the directory of the test file at `testPath`.
    static func resolve(_ pattern: String, relativeTo testPath: String) -> [String] {
        let directory = testPath.lastIndex(of: "/").map { $0 == testPath.startIndex ? "/" : String(testPath[..<$0]) } ?? ""
        let full = pattern.hasPrefix("/") || directory.isEmpty ? pattern : directory + "/" + pattern
        guard full.contains(where: { "*?[".contains($0) }) else {
            return FileManager.default.fileExists(atPath: full) ? [full] : []
        }
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(full, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out.sorted()
    }

    mutating func readTest(_ node: Node, index: Int, defaultInterval: Milliseconds) -> RuleTestFile.TestGroup? {
        var context = "test \(index)"
        guard let keys = yaml.mapping(node, context: context, what: "a test", allowed: Self.testKeys) else { return nil }
        var test = RuleTestFile.TestGroup(name: "", interval: defaultInterval, inputSeries: [], alertTests: [], exprTests: [],
                                          externalLabels: Labels(), externalURL: "", position: yaml.position(of: node))
        if let n = keys["name"], let s = yaml.string(n.value, context: context, what: "name") {
            test.name = s
            context += " \"\(s)\""
        }
        if let i = keys["interval"], !yaml.isNull(i.value), let d = yaml.duration(i.value, context: context, what: "\"interval\"") {
            if d > 0 { test.interval = d }
        }
        if let e = keys["external_labels"], !yaml.isNull(e.value) {
            test.externalLabels = labelMap(e.value, context: context, what: "external_labels")
        }
        if let u = keys["external_url"], let s = yaml.string(u.value, context: context, what: "external_url") { test.externalURL = s }
        if let t = keys["start_timestamp"], !yaml.isNull(t.value), let text = yaml.string(t.value, context: context, what: "start_timestamp") {
            if let ms = Self.timestamp(text) {
                test.startTimestamp = ms
            } else {
                yaml.add("cannot parse \"\(text)\" as start_timestamp: give Unix seconds (1700000000) or RFC 3339 (2024-01-01T00:00:00Z)",
                         at: t.value, context: context)
            }
        }
        if let s = keys["input_series"], let items = yaml.sequence(s.value, context: context, what: "input_series") {
            for (k, item) in items.enumerated() {
                let c = "\(context), input_series \(k + 1)"
                guard let m = yaml.mapping(item, context: c, what: "an input series", allowed: Self.seriesKeys) else { continue }
                guard let seriesNode = m["series"]?.value else {
                    yaml.add("an input series needs \"series:\"", at: item, context: c)
                    continue
                }
                guard let series = yaml.string(seriesNode, context: c, what: "series") else { continue }
                var values = ""
                if let v = m["values"]?.value, !yaml.isNull(v), let s = yaml.string(v, context: c, what: "values") { values = s }
                do {
                    test.inputSeries.append(try InputSeries(series: series, values: values))
                } catch {
                    let where_ = (try? SeriesNotation.parseSeries(series)) == nil ? seriesNode : (m["values"]?.value ?? seriesNode)
                    let at = error.line > 0 ? yaml.position(inScalar: where_, line: error.line, column: error.column) : yaml.position(of: where_)
                    yaml.add(yaml.prefix(c) + error.message, at: at)
                }
            }
        }
        if let a = keys["alert_rule_test"], let items = yaml.sequence(a.value, context: context, what: "alert_rule_test") {
            for (k, item) in items.enumerated() {
                if let t = readAlertTest(item, context: "\(context), alert_rule_test \(k + 1)") { test.alertTests.append(t) }
            }
        }
        if let p = keys["promql_expr_test"], let items = yaml.sequence(p.value, context: context, what: "promql_expr_test") {
            for (k, item) in items.enumerated() {
                if let t = readExprTest(item, context: "\(context), promql_expr_test \(k + 1)") { test.exprTests.append(t) }
            }
        }
        return test
    }

    mutating func readAlertTest(_ node: Node, context: String) -> RuleTestFile.AlertTest? {
        guard let m = yaml.mapping(node, context: context, what: "an alert test", allowed: Self.alertTestKeys) else { return nil }
        var ok = true
        var evalTime: Milliseconds = 0
        if let e = m["eval_time"], !yaml.isNull(e.value) {
            if let d = yaml.duration(e.value, context: context, what: "\"eval_time\"") { evalTime = d } else { ok = false }
        }
        var alertname = ""
        if let a = m["alertname"], let s = yaml.string(a.value, context: context, what: "alertname") {
            alertname = s
        } else {
            if m["alertname"] == nil { yaml.add("an alert test needs \"alertname:\"", at: node, context: context) }
            ok = false
        }
        var expected: [RuleTestFile.ExpectedAlert] = []
        if let e = m["exp_alerts"], let items = yaml.sequence(e.value, context: context, what: "exp_alerts") {
            for (k, item) in items.enumerated() {
                let c = "\(context), exp_alerts \(k + 1)"
                guard let em = yaml.mapping(item, context: c, what: "an expected alert", allowed: Self.expectedAlertKeys) else { continue }
                let labels = em["exp_labels"].map { labelMap($0.value, context: c, what: "exp_labels") } ?? Labels()
                let annotations = em["exp_annotations"].map { labelMap($0.value, context: c, what: "exp_annotations") } ?? Labels()
                expected.append(RuleTestFile.ExpectedAlert(labels: labels, annotations: annotations))
            }
        }
        guard ok else { return nil }
        return RuleTestFile.AlertTest(evalTime: evalTime, alertname: alertname, expected: expected, position: yaml.position(of: node))
    }

    mutating func readExprTest(_ node: Node, context: String) -> RuleTestFile.ExprTest? {
        guard let m = yaml.mapping(node, context: context, what: "an expression test", allowed: Self.exprTestKeys) else { return nil }
        var ok = true
        var evalTime: Milliseconds = 0
        if let e = m["eval_time"], !yaml.isNull(e.value) {
            if let d = yaml.duration(e.value, context: context, what: "\"eval_time\"") { evalTime = d } else { ok = false }
        }
        var expr = ""
        if let e = m["expr"], let s = yaml.string(e.value, context: context, what: "expr") {
            expr = s
            do {
                _ = try PromQL.parse(s)
            } catch {
                let at = error.line > 0 ? yaml.position(inScalar: e.value, line: error.line, column: error.column) : yaml.position(of: e.value)
                yaml.add(yaml.prefix(context) + "expr: " + error.message, at: at)
                ok = false
            }
        } else {
            if m["expr"] == nil { yaml.add("an expression test needs \"expr:\"", at: node, context: context) }
            ok = false
        }
        var expected: [ExpectedSample] = []
        if let e = m["exp_samples"], let items = yaml.sequence(e.value, context: context, what: "exp_samples") {
            for (k, item) in items.enumerated() {
                let c = "\(context), exp_samples \(k + 1)"
                guard let sm = yaml.mapping(item, context: c, what: "an expected sample", allowed: Self.sampleKeys) else { continue }
                var labelsText = ""
                if let l = sm["labels"], !yaml.isNull(l.value), let s = yaml.string(l.value, context: c, what: "labels") { labelsText = s }
                if let h = sm["histogram"] {
                    yaml.add("native histograms (\"histogram:\") are not supported: the agent keeps float samples and sketches", at: h.key, context: c)
                    ok = false
                    continue
                }
                var value = 0.0
                if let v = sm["value"] {
                    guard let d = number(v.value, context: c) else { continue }
                    value = d
                }
                do {
                    expected.append(try ExpectedSample(labels: labelsText, value: value))
                } catch {
                    yaml.add(yaml.prefix(c) + "labels: " + error.message, at: sm["labels"]?.value ?? item, context: "")
                }
            }
        }
        guard ok else { return nil }
        return RuleTestFile.ExprTest(expr: expr, evalTime: evalTime, expected: expected, position: yaml.position(of: node))
    }

    /// promtool's `start_timestamp`: Unix seconds (fractions allowed) or RFC 3339, as milliseconds.
    static func timestamp(_ text: String) -> Timestamp? {
        if let seconds = Double(text), seconds.isFinite, abs(seconds) < 9e15 { return Timestamp((seconds * 1000).rounded()) }
        return RFC3339.parse(text)
    }

    /// A sample value: a YAML number, or a quoted special value (`NaN`, `Inf`, `-Inf`, `stale`) as promtool allows.
    mutating func number(_ node: Node, context: String) -> Double? {
        if case .scalar(let s) = node, let v = TemplateFunctions.parseGoFloat(s.string) { return v }
        return yaml.number(node, context: context, what: "value")
    }

    mutating func labelMap(_ node: Node, context: String, what: String) -> Labels {
        if yaml.isNull(node) { return Labels() }
        guard case .mapping(let m) = node else {
            yaml.add("expected \(what) (a mapping of names to values), got \(yaml.describe(node))", at: node, context: context)
            return Labels()
        }
        var b = LabelsBuilder()
        for (k, v) in m {
            guard let name = yaml.string(k, context: context, what: "a name in \(what)"),
                  let value = yaml.string(v, context: context, what: "the value of \"\(k.scalar?.string ?? "")\" in \(what)") else { continue }
            b.set(name, value)
        }
        return b.build()
    }
}
