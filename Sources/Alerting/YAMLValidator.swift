import YAMLSupport

/// Reads a YAML document node by node, collecting every problem as `file:line:column: message`
/// instead of stopping at the first: the rule-file wording over YAMLSupport's reader (its
/// `compose` and node tree), shared by rule files and rule test files.
///
/// Each accessor takes a `context` ("group \"api\", rule 2 \"ApiLatency\"") that prefixes its
/// messages, returns nil (and records an error) when the node is not what was expected, and never
/// throws, so one pass reports everything.
struct YAMLValidator {
    let path: String
    let source: YAMLLines
    private(set) var errors: [RuleFileError] = []
    /// Skip unknown keys instead of reporting them (promtool's `--ignore-unknown-fields`, for files
    /// that carry extra metadata).
    var ignoresUnknownKeys = false

    init(text: String, path: String) {
        self.path = path
        source = YAMLLines(text)
    }

    /// The text's lines.
    var lines: [Substring] { source.lines }

    /// The document's root, or nil (with an error recorded) when the text is not YAML.
    mutating func compose(_ text: String) -> Node? {
        do {
            return try YAMLSupport.compose(yaml: text)
        } catch {
            for p in error.syntaxProblems(withContext: true) {
                add("YAML syntax error: \(p.message)", at: SourcePosition(line: p.mark.line, column: p.mark.column))
            }
            for p in error.repeatedKeys { add(p.message, at: SourcePosition(line: p.mark.line, column: p.mark.column)) }
        }
        return nil
    }

    mutating func add(_ message: String, at position: SourcePosition) {
        errors.append(RuleFileError(path: path, line: position.line, column: position.column, message: message))
    }

    mutating func add(_ message: String, at node: Node, context: String) {
        add(prefix(context) + message, at: position(of: node))
    }

    func prefix(_ context: String) -> String { context.isEmpty ? "" : context + ": " }

    func position(of node: Node) -> SourcePosition {
        guard let mark = node.mark else { return SourcePosition(line: 0, column: 0) }
        return SourcePosition(line: mark.line, column: mark.column)
    }

    /// True for an explicit or implicit YAML null (`~`, `null`, nothing).
    func isNull(_ node: Node) -> Bool { node.null != nil }

    /// The node in a few words: "a list", "the number 3", "the string \"x\"".
    func describe(_ node: Node) -> String { node.summary }

    /// A mapping's entries by key, after checking every key is known and none is repeated.
    /// Unknown keys get a "did you mean" suggestion.
    mutating func mapping(_ node: Node, context: String, what: String, allowed: [String]) -> [String: (key: Node, value: Node)]? {
        guard case .mapping(let m) = node else {
            add("expected \(what) (a mapping), got \(describe(node))", at: node, context: context)
            return nil
        }
        var result: [String: (key: Node, value: Node)] = [:]
        for (key, value) in m {
            guard case .scalar(let k) = key else {
                add("a key must be a plain name, got \(describe(key))", at: key, context: context)
                continue
            }
            let name = k.string
            if let previous = result[name] {
                add("key \"\(name)\" is given twice (first at line \(position(of: previous.key).line))", at: key, context: context)
                continue
            }
            guard allowed.contains(name) else {
                if ignoresUnknownKeys { continue }
                var message = "unknown key \"\(name)\" in \(what)"
                if let s = Suggestion.closest(to: name, among: allowed) {
                    message += " (did you mean \"\(s)\"?)"
                } else {
                    message += "; the keys are \(allowed.joined(separator: ", "))"
                }
                add(message, at: key, context: context)
                continue
            }
            result[name] = (key, value)
        }
        return result
    }

    /// A list's items; null counts as an empty list.
    mutating func sequence(_ node: Node, context: String, what: String) -> [Node]? {
        if isNull(node) { return [] }
        guard case .sequence(let s) = node else {
            add("expected \(what) (a list), got \(describe(node))", at: node, context: context)
            return nil
        }
        return Array(s)
    }

    /// A scalar's text (numbers and booleans are taken as written, as Go's YAML does for strings).
    mutating func string(_ node: Node, context: String, what: String) -> String? {
        guard case .scalar(let s) = node, !isNull(node) else {
            add("expected \(what) (a string), got \(describe(node))", at: node, context: context)
            return nil
        }
        return s.string
    }

    /// A number written as a YAML number (not a quoted string), as Prometheus reads one: YAML 1.1's
    /// sexagesimal `1:30` and the spellings only Swift reads (`inf`, `0x1p3`) are refused, since
    /// Go's YAML (promtool, Prometheus) reads them as strings.
    mutating func number(_ node: Node, context: String, what: String) -> Double? {
        if !isNull(node), let v = node.goDouble { return v }
        add("expected \(what) (a number), got \(describeNumber(node))", at: node, context: context)
        return nil
    }

    /// A whole number ≥ 0; a whole number written as a float (`10.0`, `1e3`) counts, as in Go's YAML.
    mutating func count(_ node: Node, context: String, what: String) -> Int? {
        if let i = node.goInt {
            if i >= 0 { return i }
            add("\(what) must not be negative, got \(i)", at: node, context: context)
            return nil
        }
        add("expected \(what) (a whole number), got \(describeNumber(node))", at: node, context: context)
        return nil
    }

    /// `describe`, except for a text YAML 1.1 reads as a number and Go's YAML as a string.
    private func describeNumber(_ node: Node) -> String {
        guard case .scalar(let s) = node, s.style == .plain, node.int != nil || node.float != nil, !Node.hasGoNumberSyntax(s.string) else {
            return describe(node)
        }
        return "the string \"\(s.string)\" (Prometheus's YAML reads it as a string, not a number)"
    }

    /// A Prometheus duration (`30s`, `5m`, `1h30m`).
    mutating func duration(_ node: Node, context: String, what: String) -> Int64? {
        guard case .scalar(let s) = node, !isNull(node) else {
            add("expected \(what) (a duration such as 30s, 5m or 1h), got \(describe(node))", at: node, context: context)
            return nil
        }
        guard let d = PrometheusDuration.parse(s.string) else {
            var message = "bad duration \"\(s.string)\" for \(what): use a number and a unit (ms, s, m, h, d, w, y), e.g. 30s, 5m, 1h30m"
            if node.int != nil || node.float != nil { message += " — a bare number has no unit" }
            add(message, at: node, context: context)
            return nil
        }
        return d
    }

    /// A label name as Prometheus requires: `[a-zA-Z_][a-zA-Z0-9_]*`.
    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F
        }
    }

    /// A metric name as Prometheus requires: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x3A
        }
    }

    /// The file position of `line`:`column` (1-based) inside a scalar's value, following how the
    /// scalar is written (plain, quoted, or a `|`/`>` block).
    func position(inScalar node: Node, line: Int, column: Int) -> SourcePosition {
        guard let mark = source.mark(inScalar: node, line: line, column: column) else { return position(of: node) }
        return SourcePosition(line: mark.line, column: mark.column)
    }

    /// `position(inScalar:line:column:)` for a UTF-8 byte offset within the scalar's value.
    func position(inScalar node: Node, byteOffset: Int) -> SourcePosition {
        guard let mark = source.mark(inScalar: node, byteOffset: byteOffset) else { return position(of: node) }
        return SourcePosition(line: mark.line, column: mark.column)
    }
}
