import TextRendering
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TimeSeries
import Query
import YAMLSupport

/// A gate file (`gate_files:` in the configuration), loaded and validated like a rule file: every
/// error in one pass, each as `file:line:column: message` with the gate and check it concerns.
///
/// ```yaml
/// gates:
///   - name: canary-to-staged
///     interval: 30s        # how often the checks are evaluated (default 30s)
///     duration: 10m        # every must-check holds this long → promote
///     timeout: 30m         # neither promoted nor aborted by then → inconclusive (default 3 × duration)
///     failure_limit: 2     # evaluations a must-check may fail before abort (default 0)
///     no_data: inconclusive   # or fail, pass: how an evaluation without data counts
///     no_data_limit: 1     # evaluations without data a must-check may have (default 0)
///     error_limit: 4       # query errors in a row a must-check may have (default 4)
///     must:
///       - expr: track:http_request_errors:ratio_rate5m{track="canary"} < 0.01
///         name: error rate  # optional; the table shows the expression otherwise
///       - no_alerts: {gate: canary}     # blocker: any firing alert with these labels aborts
///     should:
///       - expr: track:cache_hits:ratio_rate5m{track="canary"} >= 0.7
///     min_should: 1        # should-checks that must hold when the gate promotes
///     notify: [abort, inconclusive]   # announce these verdicts as a GateVerdict alert
///     labels: {severity: high}        # added to that alert
/// ```
public struct GateFile: Sendable {
    public var path: String
    public var gates: [Gate]

    /// Reads and validates a gate file.
    public static func load(path: String) throws(RuleFileErrors) -> GateFile {
        try parse(try text(at: path), path: path)
    }

    /// The UTF-8 text of the file at `path` (gate files and gate test files).
    static func text(at path: String) throws(RuleFileErrors) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RuleFileErrors([RuleFileError(path: path, line: 0, column: 0, message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RuleFileErrors([RuleFileError(path: path, line: 0, column: 0, message: "the file is not UTF-8 text")])
        }
        return text
    }

    /// Parses gate-file text; `path` names the file in messages.
    public static func parse(_ text: String, path: String) throws(RuleFileErrors) -> GateFile {
        var reader = GateFileReader(text: text, path: path)
        let file = reader.read()
        if !reader.yaml.errors.isEmpty {
            throw RuleFileErrors(reader.yaml.errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return file
    }

    /// The gates of several files; throws every error of every file, and names defined twice.
    public static func load(paths: [String]) throws(RuleFileErrors) -> [Gate] {
        var gates: [Gate] = []
        var errors: [RuleFileError] = []
        var seen: [String: String] = [:]
        for path in paths {
            do {
                for gate in try load(path: path).gates {
                    if let first = seen[gate.name] {
                        let (file, line, column) = GateFile.split(gate.source)
                        errors.append(RuleFileError(path: file, line: line, column: column, message: "gate \"\(gate.name)\" is also defined at \(first); gate names must be unique"))
                    } else {
                        seen[gate.name] = gate.source
                        gates.append(gate)
                    }
                }
            } catch {
                errors += error.errors
            }
        }
        if !errors.isEmpty { throw RuleFileErrors(errors) }
        return gates
    }

    static func split(_ source: String) -> (String, Int, Int) {
        let parts = source.split(separator: ":")
        guard parts.count >= 3, let line = Int(parts[parts.count - 2]), let column = Int(parts[parts.count - 1]) else { return (source, 0, 0) }
        return (parts.dropLast(2).joined(separator: ":"), line, column)
    }
}

struct GateFileReader {
    var yaml: YAMLValidator
    let text: String

    static let fileKeys = ["gates"]
    static let gateKeys = ["name", "interval", "duration", "timeout", "failure_limit", "no_data", "no_data_limit", "error_limit",
                           "must", "should", "min_should", "notify", "labels"]
    static let checkKeys = ["name", "expr", "no_alerts"]
    static let defaultInterval: Milliseconds = 30_000

    init(text: String, path: String) {
        self.text = text
        yaml = YAMLValidator(text: text, path: path)
    }

    mutating func read() -> GateFile {
        var file = GateFile(path: yaml.path, gates: [])
        guard let root = yaml.compose(text), !yaml.isNull(root) else {
            if yaml.errors.isEmpty { yaml.add("the gate file is empty; it needs \"gates:\", a list of gates", at: SourcePosition(line: 1, column: 1)) }
            return file
        }
        guard let top = yaml.mapping(root, context: "", what: "a gate file", allowed: Self.fileKeys) else { return file }
        guard let gatesNode = top["gates"]?.value else {
            yaml.add("a gate file needs \"gates:\", a list of gates", at: root, context: "")
            return file
        }
        guard let nodes = yaml.sequence(gatesNode, context: "", what: "gates") else { return file }
        var seen: [String: Int] = [:]
        for (k, node) in nodes.enumerated() {
            if let gate = readGate(node, index: k + 1, seen: &seen) { file.gates.append(gate) }
        }
        return file
    }

    mutating func readGate(_ node: Node, index: Int, seen: inout [String: Int]) -> Gate? {
        var context = "gate \(index)"
        let start = yaml.position(of: node)
        guard let keys = yaml.mapping(node, context: context, what: "a gate", allowed: Self.gateKeys) else { return nil }
        let errorsBefore = yaml.errors.count
        var name = ""
        if let n = keys["name"] {
            if let s = yaml.string(n.value, context: context, what: "the gate's name") {
                if !GateFileReader.isValidName(s) {
                    yaml.add("gate name \"\(s)\" must be letters, digits, '.', '_' or '-' (it names the run in URLs and files)", at: n.value, context: context)
                } else {
                    name = s
                    context = "gate \"\(s)\""
                    if let line = seen[s] {
                        yaml.add("gate name \"\(s)\" is repeated in the same file (first at line \(line)); gate names must be unique", at: n.value, context: "")
                    } else {
                        seen[s] = yaml.position(of: n.value).line
                    }
                }
            }
        } else {
            yaml.add("a gate needs \"name:\"", at: node, context: context)
        }

        var timingsRead = true
        func duration(_ key: String) -> Milliseconds? {
            guard let n = keys[key], !yaml.isNull(n.value) else { return nil }
            let d = yaml.duration(n.value, context: context, what: "\"\(key)\"")
            if d == nil { timingsRead = false }
            return d
        }
        func count(_ key: String) -> Int? {
            guard let n = keys[key], !yaml.isNull(n.value) else { return nil }
            return yaml.count(n.value, context: context, what: "\"\(key)\"")
        }
        let interval = duration("interval") ?? Self.defaultInterval
        let gateDuration = duration("duration")
        if keys["duration"] == nil {
            yaml.add("a gate needs \"duration:\", how long every must-check must hold (e.g. 10m)", at: node, context: context)
        }
        let d = gateDuration ?? 0
        let timeout = duration("timeout") ?? d * 3
        if timingsRead, keys["duration"] != nil, let problem = Gate.timingProblem(interval: interval, duration: d, timeout: timeout) {
            yaml.add(problem, at: keys["timeout"]?.value ?? keys["duration"]?.value ?? node, context: context)
        }

        var noData = Gate.NoData.inconclusive
        if let n = keys["no_data"], let s = yaml.string(n.value, context: context, what: "\"no_data\"") {
            if let v = Gate.NoData(rawValue: s) {
                noData = v
            } else {
                yaml.add("no_data must be one of \(Gate.NoData.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(s)\"", at: n.value, context: context)
            }
        }

        var must: [Gate.Check] = []
        var should: [Gate.Check] = []
        if let m = keys["must"] { must = readChecks(m.value, context: context, list: "must") }
        if let s = keys["should"] { should = readChecks(s.value, context: context, list: "should") }
        if keys["must"] == nil || (must.isEmpty && errorsBefore == yaml.errors.count) {
            yaml.add("a gate needs \"must:\", a list of at least one check (expr: or no_alerts:)", at: keys["must"]?.value ?? node, context: context)
        }
        if must.count + should.count > Gate.maxChecks {
            yaml.add("\(must.count + should.count) checks; a gate has at most \(Gate.maxChecks)", at: node, context: context)
        }
        let minShould = count("min_should") ?? 0
        if let n = keys["min_should"], minShould > should.count {
            yaml.add("min_should is \(minShould) but the gate has \(should.count) should-checks", at: n.value, context: context)
        }

        var notify: [GateVerdict] = []
        if let n = keys["notify"], let items = yaml.sequence(n.value, context: context, what: "notify (a list of verdicts)") {
            for item in items {
                guard let s = yaml.string(item, context: context, what: "a verdict") else { continue }
                if let v = GateVerdict(rawValue: s) {
                    if !notify.contains(v) { notify.append(v) }
                } else {
                    yaml.add("notify lists verdicts: \(GateVerdict.allCases.map(\.rawValue).joined(separator: ", ")); got \"\(s)\"", at: item, context: context)
                }
            }
        }
        var labels: [String: String] = [:]
        if let n = keys["labels"] { labels = labelMap(n.value, context: context, what: "labels") }
        for reserved in ["alertname", "gate", "verdict", "run"] where labels[reserved] != nil {
            yaml.add("label \"\(reserved)\" is set by the gate's notification; choose another name", at: keys["labels"]!.value, context: context)
        }

        guard errorsBefore == yaml.errors.count else { return nil }
        return Gate(name: name, interval: interval, duration: d, timeout: timeout, failureLimit: count("failure_limit") ?? 0,
                    noData: noData, noDataLimit: count("no_data_limit") ?? 0, errorLimit: count("error_limit") ?? Gate.defaultErrorLimit,
                    must: must, should: should, minShould: minShould, notify: notify, labels: labels,
                    source: "\(yaml.path):\(start.line):\(start.column)")
    }

    mutating func readChecks(_ node: Node, context: String, list: String) -> [Gate.Check] {
        guard let items = yaml.sequence(node, context: context, what: list) else { return [] }
        var out: [Gate.Check] = []
        for (k, item) in items.enumerated() {
            let c = "\(context), \(list) \(k + 1)"
            guard let m = yaml.mapping(item, context: c, what: "a check", allowed: Self.checkKeys) else { continue }
            var name: String?
            if let n = m["name"], let s = yaml.string(n.value, context: c, what: "the check's name") { name = s }
            switch (m["expr"], m["no_alerts"]) {
            case (let e?, nil):
                guard let text = yaml.string(e.value, context: c, what: "expr") else { continue }
                guard validateExpr(text, node: e.value, context: c) else { continue }
                let trimmed = text.trimmingWhitespace(newlines: true)
                out.append(Gate.Check(name: name ?? trimmed.split(separator: "\n").map { $0.trimmingWhitespace() }.joined(separator: " "),
                                      kind: .expr(trimmed)))
            case (nil, let b?):
                let labels = labelMap(b.value, context: c, what: "no_alerts")
                if labels.isEmpty {
                    yaml.add("no_alerts needs at least one label (e.g. {gate: canary}): an empty set would match every alert", at: b.value, context: c)
                    continue
                }
                let check = Gate.Check(name: "", kind: .noAlerts(labels))
                out.append(Gate.Check(name: name ?? check.text, kind: check.kind))
            case (nil, nil):
                yaml.add("a check needs \"expr:\" (a PromQL condition) or \"no_alerts:\" (labels of blocking alerts)", at: item, context: c)
            case (_?, let b?):
                yaml.add("a check has either \"expr:\" or \"no_alerts:\", not both", at: b.key, context: c)
            }
        }
        return out
    }

    /// True when `text` parses as an instant-vector expression a check can use.
    mutating func validateExpr(_ text: String, node: Node, context: String) -> Bool {
        let expr: Expr
        do {
            expr = try PromQL.parse(text)
        } catch {
            let at = error.line > 0 ? yaml.position(inScalar: node, line: error.line, column: error.column) : yaml.position(of: node)
            yaml.add(yaml.prefix(context) + "expr: " + error.message, at: at)
            return false
        }
        guard expr.type == .instantVector else {
            yaml.add("expr must give an instant vector (a check holds when it returns a sample), but gives a \(expr.type)", at: node, context: context)
            return false
        }
        var top = expr
        while case .parenthesized(let p) = top { top = p.expr }
        if case .binary(let b) = top, b.returnBool {
            yaml.add("expr compares with `bool`, so it always returns a sample and the check always holds; drop `bool` to filter", at: node, context: context)
            return false
        }
        return true
    }

    mutating func labelMap(_ node: Node, context: String, what: String) -> [String: String] {
        if yaml.isNull(node) { return [:] }
        guard case .mapping(let m) = node else {
            yaml.add("expected \(what) (a mapping of label names to values), got \(yaml.describe(node))", at: node, context: context)
            return [:]
        }
        var out: [String: String] = [:]
        for (k, v) in m {
            guard let name = yaml.string(k, context: context, what: "a label name in \(what)") else { continue }
            guard YAMLValidator.isValidLabelName(name) else {
                yaml.add("\"\(name)\" in \(what) is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)", at: k, context: context)
                continue
            }
            if let value = yaml.string(v, context: context, what: "the value of \"\(name)\" in \(what)") { out[name] = value }
        }
        return out
    }

    /// Gate names become parts of URLs and file names.
    static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 128 && s.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2E || c == 0x5F
        } && s != "." && s != ".."
    }
}
