#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Query
public import TimeSeries
import YAMLSupport

/// A unit-test file of gates, in promtool's style: input series, and for each gate the verdict
/// expected and the evaluation that reaches it. `agent test rules` runs a file with `gate_files:`
/// through `GateTestRunner` (a rule test file has none).
///
/// ```yaml
/// rule_files: [canary.yaml]        # recording rules and alerts the gates read (optional)
/// gate_files: [gates.yaml]
/// evaluation_interval: 1m          # rule evaluation step (default 1m)
/// tests:
///   - name: a healthy canary is promoted after 10 minutes
///     interval: 1m                 # step of the input values
///     input_series:
///       - series: 'http_requests_total{track="canary", status="200"}'
///         values: '0+600x40'
///     gate_tests:
///       - gate: canary-to-staged
///         start: 5m                # when the run starts (default 0)
///         exp_verdict: promote
///         exp_eval_time: 15m       # when the deciding evaluation happens (from time 0)
///         exp_evaluations: 11      # or/and: how many evaluations the run took
///         exp_reason: 'held for'   # optional: a part of the verdict's reason
///         # interval, duration, timeout: override the gate's, as `agent gate --interval` does
/// ```
public struct GateTestFile: Sendable {
    public var path: String
    /// Rule files to evaluate alongside (relative to this file; globs allowed).
    public var ruleFiles: [String]
    public var gateFiles: [String]
    public var evaluationInterval: Milliseconds
    public var tests: [Test]

    /// One entry of `tests`.
    public struct Test: Sendable {
        public var name: String
        public var interval: Milliseconds
        public var inputSeries: [InputSeries]
        public var gateTests: [GateTest]
        public var position: SourcePosition
    }

    /// One `gate_tests` entry.
    public struct GateTest: Sendable {
        public var gate: String
        public var start: Milliseconds
        public var interval: Milliseconds?
        public var duration: Milliseconds?
        public var timeout: Milliseconds?
        public var expectedVerdict: GateVerdict
        public var expectedEvalTime: Milliseconds?
        public var expectedEvaluations: Int?
        public var expectedReason: String?
        public var position: SourcePosition
    }

    /// True when the file at `path` is a gate test file (it has a top-level `gate_files:`); a file
    /// that cannot be read or parsed is not (the rule test loader reports it).
    public static func isGateTestFile(path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8),
              let root = try? YAMLSupport.compose(yaml: text), case .mapping(let m) = root else { return false }
        return m.keys.contains { $0.scalar?.string == "gate_files" }
    }

    /// Reads and validates a gate test file.
    public static func load(path: String) throws(RuleFileErrors) -> GateTestFile {
        try parse(try GateFile.text(at: path), path: path)
    }

    /// Parses gate-test text; `path` locates relative files and names the file in messages.
    public static func parse(_ text: String, path: String) throws(RuleFileErrors) -> GateTestFile {
        var reader = GateTestFileReader(text: text, path: path)
        let file = reader.read()
        if !reader.yaml.errors.isEmpty {
            throw RuleFileErrors(reader.yaml.errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return file
    }
}

struct GateTestFileReader {
    var yaml: YAMLValidator
    let text: String

    static let fileKeys = ["rule_files", "gate_files", "evaluation_interval", "tests"]
    static let testKeys = ["name", "interval", "input_series", "gate_tests"]
    static let seriesKeys = ["series", "values"]
    static let gateTestKeys = ["gate", "start", "interval", "duration", "timeout", "exp_verdict", "exp_eval_time", "exp_evaluations", "exp_reason"]

    init(text: String, path: String) {
        self.text = text
        yaml = YAMLValidator(text: text, path: path)
    }

    mutating func read() -> GateTestFile {
        var file = GateTestFile(path: yaml.path, ruleFiles: [], gateFiles: [], evaluationInterval: 60_000, tests: [])
        guard let root = yaml.compose(text), !yaml.isNull(root) else {
            if yaml.errors.isEmpty { yaml.add("the test file is empty", at: SourcePosition(line: 1, column: 1)) }
            return file
        }
        guard let keys = yaml.mapping(root, context: "", what: "a gate test file", allowed: Self.fileKeys) else { return file }
        func files(_ key: String, what: String) -> [String] {
            guard let node = keys[key], let items = yaml.sequence(node.value, context: "", what: key) else { return [] }
            var out: [String] = []
            for item in items {
                guard let pattern = yaml.string(item, context: key, what: what) else { continue }
                let matches = RuleTestFileReader.resolve(pattern, relativeTo: yaml.path)
                if matches.isEmpty { yaml.add("\(what) \"\(pattern)\" does not exist (paths are relative to the test file)", at: item, context: key) }
                out += matches
            }
            return out
        }
        file.ruleFiles = files("rule_files", what: "rule file")
        file.gateFiles = files("gate_files", what: "gate file")
        if keys["gate_files"] == nil { yaml.add("a gate test file needs \"gate_files:\"", at: root, context: "") }
        if let e = keys["evaluation_interval"], !yaml.isNull(e.value), let d = yaml.duration(e.value, context: "", what: "\"evaluation_interval\"") {
            if d > 0 { file.evaluationInterval = d } else { yaml.add("evaluation_interval must be positive", at: e.value, context: "") }
        }
        if let t = keys["tests"], let items = yaml.sequence(t.value, context: "", what: "tests") {
            for (k, item) in items.enumerated() {
                if let test = readTest(item, index: k + 1, defaultInterval: file.evaluationInterval) { file.tests.append(test) }
            }
        }
        return file
    }

    mutating func readTest(_ node: Node, index: Int, defaultInterval: Milliseconds) -> GateTestFile.Test? {
        var context = "test \(index)"
        guard let keys = yaml.mapping(node, context: context, what: "a test", allowed: Self.testKeys) else { return nil }
        var test = GateTestFile.Test(name: "", interval: defaultInterval, inputSeries: [], gateTests: [], position: yaml.position(of: node))
        if let n = keys["name"], let s = yaml.string(n.value, context: context, what: "name") {
            test.name = s
            context += " \"\(s)\""
        }
        if let i = keys["interval"], !yaml.isNull(i.value), let d = yaml.duration(i.value, context: context, what: "\"interval\"") {
            if d > 0 { test.interval = d } else { yaml.add("interval must be positive", at: i.value, context: context) }
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
        if let g = keys["gate_tests"], let items = yaml.sequence(g.value, context: context, what: "gate_tests") {
            for (k, item) in items.enumerated() {
                if let t = readGateTest(item, context: "\(context), gate_tests \(k + 1)") { test.gateTests.append(t) }
            }
        } else if keys["gate_tests"] == nil {
            yaml.add("a test needs \"gate_tests:\"", at: node, context: context)
        }
        return test
    }

    mutating func readGateTest(_ node: Node, context: String) -> GateTestFile.GateTest? {
        guard let m = yaml.mapping(node, context: context, what: "a gate test", allowed: Self.gateTestKeys) else { return nil }
        let before = yaml.errors.count
        func duration(_ key: String) -> Milliseconds? {
            guard let n = m[key], !yaml.isNull(n.value) else { return nil }
            return yaml.duration(n.value, context: context, what: "\"\(key)\"")
        }
        var gate = ""
        if let g = m["gate"], let s = yaml.string(g.value, context: context, what: "gate") { gate = s } else if m["gate"] == nil {
            yaml.add("a gate test needs \"gate:\", the name of the gate", at: node, context: context)
        }
        var verdict = GateVerdict.promote
        if let v = m["exp_verdict"], let s = yaml.string(v.value, context: context, what: "exp_verdict") {
            if let parsed = GateVerdict(rawValue: s) {
                verdict = parsed
            } else {
                yaml.add("exp_verdict must be one of \(GateVerdict.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(s)\"", at: v.value, context: context)
            }
        } else if m["exp_verdict"] == nil {
            yaml.add("a gate test needs \"exp_verdict:\" (promote, abort or inconclusive)", at: node, context: context)
        }
        var evaluations: Int?
        if let e = m["exp_evaluations"], !yaml.isNull(e.value) { evaluations = yaml.count(e.value, context: context, what: "\"exp_evaluations\"") }
        var reason: String?
        if let r = m["exp_reason"], let s = yaml.string(r.value, context: context, what: "exp_reason") { reason = s }
        let test = GateTestFile.GateTest(
            gate: gate, start: duration("start") ?? 0, interval: duration("interval"), duration: duration("duration"), timeout: duration("timeout"),
            expectedVerdict: verdict, expectedEvalTime: duration("exp_eval_time"), expectedEvaluations: evaluations, expectedReason: reason,
            position: yaml.position(of: node))
        return yaml.errors.count == before ? test : nil
    }
}
