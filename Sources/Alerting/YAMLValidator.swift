import YAMLSupport
import Foundation
import Yams

/// Reads a YAML document node by node, collecting every problem as `file:line:column: message`
/// instead of stopping at the first: the shared machinery of rule files and rule test files.
///
/// Each accessor takes a `context` ("group \"api\", rule 2 \"ApiLatency\"") that prefixes its
/// messages, returns nil (and records an error) when the node is not what was expected, and never
/// throws, so one pass reports everything.
struct YAMLValidator {
    let path: String
    let lines: [Substring]
    private(set) var errors: [RuleFileError] = []
    /// Skip unknown keys instead of reporting them (promtool's `--ignore-unknown-fields`, for files
    /// that carry extra metadata).
    var ignoresUnknownKeys = false

    init(text: String, path: String) {
        self.path = path
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The document's root, or nil (with an error recorded) when the text is not YAML.
    mutating func compose(_ text: String) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            switch error {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                .composer(let context, let problem, let mark, _):
                var message = "YAML syntax error: \(problem)"
                if let context { message += " \(context.text)" }
                add(message, at: SourcePosition(line: mark.line, column: mark.column))
            case .duplicatedKeysInMapping(let duplicates, let context):
                for key in duplicates {
                    let (first, second) = occurrences(ofKey: key, from: context.mark.line)
                    var message = "key \"\(key)\" is given twice in this mapping"
                    if let first { message += " (first at line \(first.line))" }
                    add(message, at: second ?? SourcePosition(line: context.mark.line, column: context.mark.column))
                }
            case .reader(let problem, _, _, _):
                add("YAML syntax error: \(problem)", at: SourcePosition(line: 0, column: 0))
            default:
                add("YAML syntax error: \(error)", at: SourcePosition(line: 0, column: 0))
            }
        } catch {
            add("YAML syntax error: \(error)", at: SourcePosition(line: 0, column: 0))
        }
        return nil
    }

    /// The first two places where `key:` starts a mapping entry, from line `line` on (Yams reports
    /// duplicate keys with the mapping's position only).
    func occurrences(ofKey key: String, from line: Int) -> (SourcePosition?, SourcePosition?) {
        var found: [SourcePosition] = []
        var indent: Int?
        for n in max(line, 1)...max(lines.count, 1) where n - 1 < lines.count {
            let text = lines[n - 1]
            var rest = Substring(text)
            var column = 1
            while let c = rest.first, c == " " || c == "-" || c == "{" || c == "," {
                rest.removeFirst()
                column += 1
            }
            if rest.hasPrefix(key + ":") {
                if indent == nil { indent = column }
                if column == indent { found.append(SourcePosition(line: n, column: column)) }
                if found.count == 2 { break }
            }
        }
        return (found.first, found.count > 1 ? found[1] : nil)
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
    func isNull(_ node: Node) -> Bool {
        guard let scalar = node.scalar else { return false }
        return scalar.style == .plain && (node.null != nil || ["", "~", "null", "Null", "NULL"].contains(scalar.string))
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let s):
            if isNull(node) { return "nothing (null)" }
            if s.style == .plain {
                if node.int != nil { return "the number \(s.string)" }
                if node.float != nil { return "the number \(s.string)" }
                if node.bool != nil { return "the boolean \(s.string)" }
            }
            let text = s.string.count > 40 ? String(s.string.prefix(40)) + "…" : s.string
            return "the string \"\(text)\""
        }
    }

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

    /// A number written as a YAML number (not a quoted string).
    mutating func number(_ node: Node, context: String, what: String) -> Double? {
        if case .scalar(let s) = node, s.style == .plain, !isNull(node) {
            if let i = node.int { return Double(i) }
            if let f = node.float { return f }
            switch s.string {
            case ".inf", "+.inf", ".Inf", "+.Inf": return .infinity
            case "-.inf", "-.Inf": return -.infinity
            default: break
            }
        }
        add("expected \(what) (a number), got \(describe(node))", at: node, context: context)
        return nil
    }

    /// A whole number ≥ 0.
    mutating func count(_ node: Node, context: String, what: String) -> Int? {
        if case .scalar(let s) = node, s.style == .plain, let i = node.int {
            if i >= 0 { return i }
            add("\(what) must not be negative, got \(i)", at: node, context: context)
            return nil
        }
        add("expected \(what) (a whole number), got \(describe(node))", at: node, context: context)
        return nil
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

    /// The file position of `line`:`column` (1-based, column in Unicode scalars) inside a scalar's
    /// value, following how the scalar is written (plain, quoted, or a `|`/`>` block).
    func position(inScalar node: Node, line: Int, column: Int) -> SourcePosition {
        let start = position(of: node)
        guard case .scalar(let s) = node, start.line > 0 else { return start }
        switch s.style {
        case .literal, .folded:
            // The content begins on the first non-blank line after the indicator; its indentation
            // is that of the block.
            var first = start.line + 1
            while first - 1 < lines.count, lines[first - 1].allSatisfy({ $0 == " " }) { first += 1 }
            guard first - 1 < lines.count else { return start }
            let indent = lines[first - 1].prefix(while: { $0 == " " }).count
            let fileLine = first + line - 1
            return SourcePosition(line: fileLine, column: indent + column)
        case .singleQuoted, .doubleQuoted:
            if line == 1 { return SourcePosition(line: start.line, column: start.column + column) }
        default:
            if line == 1 { return SourcePosition(line: start.line, column: start.column + column - 1) }
        }
        // A plain or quoted scalar continued over several lines: the continuation lines are indented.
        let fileLine = start.line + line - 1
        guard fileLine - 1 < lines.count else { return start }
        let indent = lines[fileLine - 1].prefix(while: { $0 == " " }).count
        return SourcePosition(line: fileLine, column: indent + column)
    }

    /// `position(inScalar:line:column:)` for a UTF-8 byte offset within the scalar's value.
    func position(inScalar node: Node, byteOffset: Int) -> SourcePosition {
        guard case .scalar(let s) = node else { return position(of: node) }
        var line = 1
        var column = 1
        var consumed = 0
        for u in s.string.unicodeScalars {
            if consumed >= byteOffset { break }
            consumed += UTF8.width(u)
            if u == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return position(inScalar: node, line: line, column: column)
    }
}
