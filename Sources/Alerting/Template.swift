import YAMLSupport
public import TimeSeries

/// A label or annotation template in the subset of Prometheus's (Go `text/template`) language that
/// alert rules actually use, parsed when the rule file loads.
///
/// Supported: text with `{{ … }}` actions (and the `{{-`/`-}}` trim markers and `{{/* comments */}}`);
/// in an action a pipeline of commands joined by `|`, each a function call or an operand; operands
/// are `$labels.<name>`, `$value`, `$externalLabels.<name>`, `$externalURL` (and their dot forms
/// `.Labels.<name>`, `.Value`, `.ExternalLabels.<name>`, `.ExternalURL`), string, raw-string and
/// number literals, and parenthesized pipelines; functions are `humanize`, `humanize1024`,
/// `humanizePercentage`, `humanizeDuration`, `printf`, `toUpper`, `toLower`, `title` and
/// `reReplaceAll`. Anything else (`if`, `range`, `query`, variable declarations, …) is a load-time
/// `TemplateError` that names the construct and where it is.
///
/// Every value has a type known at load time (`$value` is a float, labels are strings), so wrong
/// argument counts and types are load-time errors too. What can still fail at run time — a label
/// that does not parse as a number given to `humanize` — renders as Prometheus renders it:
/// `<error expanding template: …>`.
public struct Template: Sendable, CustomStringConvertible {
    /// The template's text, as written.
    public let source: String
    let nodes: [Node]

    enum Node: Sendable {
        case text(String)
        case action(Pipeline)
    }

    /// A pipeline: commands whose results feed the next command's last argument.
    struct Pipeline: Sendable {
        var commands: [Command]
        var offset: Int
    }

    enum Command: Sendable {
        case call(Function, [Operand], offset: Int)
        case operand(Operand)
    }

    indirect enum Operand: Sendable {
        case string(String)
        case int(Int)
        case float(Double)
        case variable(Variable)
        case pipeline(Pipeline)
    }

    enum Variable: Sendable, Equatable {
        case labels
        case label(String)
        case value
        case externalLabels
        case externalLabel(String)
        case externalURL
    }

    /// The static type of a value.
    enum ValueType: Sendable, Equatable, CustomStringConvertible {
        case string, float, int, map
        var description: String {
            switch self {
            case .string: "string"
            case .float: "float64"
            case .int: "int"
            case .map: "map[string]string"
            }
        }
    }

    /// The supported functions.
    enum Function: String, Sendable, CaseIterable {
        case humanize, humanize1024, humanizePercentage, humanizeDuration, printf, toUpper, toLower, title, reReplaceAll
    }

    /// Parses `source`; throws the first construct outside the supported subset, with its offset.
    public static func parse(_ source: String) throws(TemplateError) -> Template {
        var parser = TemplateParser(source: source)
        let nodes = try parser.parse()
        try check(nodes)
        return Template(source: source, nodes: nodes)
    }

    /// A template that is only text (no actions), rendered as itself.
    public init(literal text: String) {
        source = text
        nodes = [.text(text)]
    }

    init(source: String, nodes: [Node]) {
        self.source = source
        self.nodes = nodes
    }

    /// True when the template has no action: it renders to constant text.
    public var isConstant: Bool {
        nodes.allSatisfy { if case .text = $0 { true } else { false } }
    }

    /// True when rendering reads `$value` (so the output changes with every evaluation).
    public var usesValue: Bool {
        func inPipeline(_ p: Pipeline) -> Bool {
            p.commands.contains { command in
                switch command {
                case .operand(let o): inOperand(o)
                case .call(_, let args, _): args.contains(where: inOperand)
                }
            }
        }
        func inOperand(_ o: Operand) -> Bool {
            switch o {
            case .variable(.value): true
            case .pipeline(let p): inPipeline(p)
            default: false
            }
        }
        return nodes.contains { if case .action(let p) = $0 { inPipeline(p) } else { false } }
    }

    public var description: String { source }
}

/// What a template can read when it is rendered.
public struct TemplateContext: Sendable {
    /// The alert's labels (`$labels`).
    public var labels: Labels
    /// The expression's value (`$value`).
    public var value: Double
    /// The agent's external labels (`$externalLabels`).
    public var externalLabels: Labels
    /// The agent's external URL (`$externalURL`).
    public var externalURL: String

    public init(labels: Labels, value: Double, externalLabels: Labels = Labels(), externalURL: String = "") {
        self.labels = labels
        self.value = value
        self.externalLabels = externalLabels
        self.externalURL = externalURL
    }
}

/// A template outside the supported subset, or malformed: the message and the byte offset in the template.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// UTF-8 byte offset within the template's text.
    public var offset: Int
    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
    public var description: String { message }
}

/// Parses the template language (see `Template`) from UTF-8 bytes.
struct TemplateParser {
    let bytes: [UInt8]
    var i = 0
    /// Longest template accepted, in bytes.
    static let maxBytes = 64 * 1024
    /// Deepest nesting of parenthesized pipelines.
    static let maxDepth = 32
    var depth = 0

    static let goKeywords: Set<String> = ["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil", "true", "false"]
    static let unsupportedFunctions: Set<String> = [
        "and", "or", "not", "len", "index", "slice", "eq", "ne", "lt", "le", "gt", "ge", "print", "println", "html", "js",
        "urlquery", "call", "query", "first", "label", "value", "strvalue", "sortByLabel", "args", "tmpl", "safeHtml",
        "match", "graphLink", "tableLink", "parseDuration", "pathPrefix", "stripPort", "stripDomain", "toTime",
        "humanizeTimestamp", "externalURL", "toDuration", "now",
    ]

    init(source: String) {
        bytes = Array(source.utf8)
    }

    func error(_ message: String, at offset: Int) -> TemplateError {
        TemplateError(message: message, offset: offset)
    }

    mutating func parse() throws(TemplateError) -> [Template.Node] {
        guard bytes.count <= Self.maxBytes else {
            throw error("template is \(bytes.count) bytes long — the limit is \(Self.maxBytes)", at: 0)
        }
        var nodes: [Template.Node] = []
        var text: [UInt8] = []
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "{"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") else {
                text.append(bytes[i])
                i += 1
                continue
            }
            let actionStart = i
            i += 2
            // `{{- ` trims the whitespace before the action (the dash must be followed by a space).
            if i + 1 < bytes.count, bytes[i] == UInt8(ascii: "-"), isSpace(bytes[i + 1]) {
                while let last = text.last, isSpace(last) { text.removeLast() }
                i += 1
            }
            if !text.isEmpty {
                nodes.append(.text(String(decoding: text, as: UTF8.self)))
                text.removeAll()
            }
            skipSpaces()
            // A comment: `{{/* … */}}`.
            if i + 1 < bytes.count, bytes[i] == UInt8(ascii: "/"), bytes[i + 1] == UInt8(ascii: "*") {
                guard let close = find("*/", from: i + 2) else { throw error("unclosed comment", at: i) }
                i = close + 2
                skipSpaces()
                try closeAction(openedAt: actionStart)
                continue
            }
            let pipeline = try parsePipeline(closing: .action)
            try closeAction(openedAt: actionStart)
            nodes.append(.action(pipeline))
        }
        if !text.isEmpty { nodes.append(.text(String(decoding: text, as: UTF8.self))) }
        return nodes
    }

    /// Consumes `}}` or ` -}}` (which trims the whitespace after the action).
    mutating func closeAction(openedAt start: Int) throws(TemplateError) {
        skipSpaces()
        var trimAfter = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-"), i > 0, isSpace(bytes[i - 1]) {
            trimAfter = true
            i += 1
        }
        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "}"), bytes[i + 1] == UInt8(ascii: "}") else {
            if i >= bytes.count { throw error("unclosed action: \"{{\" without a matching \"}}\"", at: start) }
            throw error("unexpected \(describeToken(at: i)) in action — expected \"}}\"", at: i)
        }
        i += 2
        if trimAfter {
            while i < bytes.count, isSpace(bytes[i]) { i += 1 }
        }
    }

    enum Closing { case action, parenthesis }

    mutating func parsePipeline(closing: Closing) throws(TemplateError) -> Template.Pipeline {
        let start = i
        var commands: [Template.Command] = []
        while true {
            skipSpaces()
            commands.append(try parseCommand(isFirst: commands.isEmpty, closing: closing))
            skipSpaces()
            if i < bytes.count, bytes[i] == UInt8(ascii: "|") {
                i += 1
                continue
            }
            break
        }
        // Every command after the first gets the previous result as its last argument.
        for (k, command) in commands.enumerated() where k > 0 {
            if case .operand = command {
                throw error("cannot pipe into \(describeOperandCommand(command)): only functions take piped values", at: start)
            }
        }
        return Template.Pipeline(commands: commands, offset: start)
    }

    func describeOperandCommand(_ c: Template.Command) -> String {
        if case .operand(let o) = c {
            switch o {
            case .string: return "a string"
            case .int, .float: return "a number"
            case .variable: return "a variable"
            case .pipeline: return "a parenthesized pipeline"
            }
        }
        return "a function"
    }

    mutating func parseCommand(isFirst: Bool, closing: Closing) throws(TemplateError) -> Template.Command {
        let start = i
        if atEnd(of: closing) {
            throw error(isFirst ? "empty action: expected a value or a function" : "missing command after \"|\"", at: start)
        }
        // A function call: an identifier followed by its arguments.
        if i < bytes.count, isIdentifierStart(bytes[i]) {
            let name = readIdentifier()
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: "(") {
                if bytes[i] == UInt8(ascii: ".") { throw error("template construct \"\(name).\" is not supported", at: start) }
            }
            if Self.goKeywords.contains(name) {
                if name == "true" || name == "false" || name == "nil" {
                    throw error("template constant \"\(name)\" is not supported", at: start)
                }
                throw error("template action \"\(name)\" is not supported — only values and the functions \(Self.functionList) are", at: start)
            }
            guard let function = Template.Function(rawValue: name) else {
                if name == "query" {
                    throw error("template function \"query\" is not supported: rule templates cannot run queries", at: start)
                }
                if Self.unsupportedFunctions.contains(name) {
                    throw error("template function \"\(name)\" is not supported — use one of \(Self.functionList)", at: start)
                }
                var message = "unknown template function \"\(name)\""
                if let suggestion = Suggestion.closest(to: name, among: Template.Function.allCases.map(\.rawValue)) {
                    message += " (did you mean \"\(suggestion)\"?)"
                } else {
                    message += " — the functions are \(Self.functionList)"
                }
                throw error(message, at: start)
            }
            var args: [Template.Operand] = []
            while true {
                let before = i
                skipSpaces()
                if atEnd(of: closing) || (i < bytes.count && bytes[i] == UInt8(ascii: "|")) { break }
                guard i > before else { throw error("expected a space before \(describeToken(at: i))", at: i) }
                args.append(try parseOperand())
            }
            return .call(function, args, offset: start)
        }
        let operand = try parseOperand()
        skipSpaces()
        if !atEnd(of: closing), i < bytes.count, bytes[i] != UInt8(ascii: "|") {
            throw error("unexpected \(describeToken(at: i)): only a function takes arguments", at: i)
        }
        return .operand(operand)
    }

    static let functionList = Template.Function.allCases.map(\.rawValue).joined(separator: ", ")

    mutating func parseOperand() throws(TemplateError) -> Template.Operand {
        let start = i
        guard i < bytes.count else { throw error("unexpected end of template", at: i) }
        let c = bytes[i]
        switch c {
        case UInt8(ascii: "\""):
            return .string(try readQuotedString())
        case UInt8(ascii: "`"):
            guard let close = bytes[(i + 1)...].firstIndex(of: UInt8(ascii: "`")) else {
                throw error("unterminated raw string", at: start)
            }
            let s = String(decoding: bytes[(i + 1)..<close], as: UTF8.self)
            i = close + 1
            return .string(s)
        case UInt8(ascii: "'"):
            throw error("template character constants ('x') are not supported — use a string", at: start)
        case UInt8(ascii: "("):
            depth += 1
            guard depth <= Self.maxDepth else { throw error("parentheses nested deeper than \(Self.maxDepth)", at: start) }
            i += 1
            let p = try parsePipeline(closing: .parenthesis)
            skipSpaces()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ")") else { throw error("unclosed \"(\"", at: start) }
            i += 1
            depth -= 1
            return .pipeline(p)
        case UInt8(ascii: "$"):
            return .variable(try readVariable())
        case UInt8(ascii: "."):
            return .variable(try readDotField())
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try readNumber()
        default:
            if isIdentifierStart(c) {
                let name = readIdentifier()
                throw error("a function (\"\(name)\") cannot be an argument — wrap it in parentheses", at: start)
            }
            throw error("unexpected \(describeToken(at: i)) in action", at: start)
        }
    }

    mutating func readVariable() throws(TemplateError) -> Template.Variable {
        let start = i
        i += 1
        let name = readIdentifier()
        skipSpacesCheckingDeclaration(start: start, name: name)
        if i + 1 < bytes.count, bytes[i] == UInt8(ascii: ":"), bytes[i + 1] == UInt8(ascii: "=") {
            throw error("template variable declaration \"$\(name) :=\" is not supported", at: start)
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "="), i + 1 >= bytes.count || bytes[i + 1] != UInt8(ascii: "=") {
            throw error("template variable assignment \"$\(name) =\" is not supported", at: start)
        }
        let fields = try readFields()
        switch name {
        case "labels": return try mapVariable(fields, whole: .labels, entry: Template.Variable.label, spelled: "$labels", at: start)
        case "externalLabels":
            return try mapVariable(fields, whole: .externalLabels, entry: Template.Variable.externalLabel, spelled: "$externalLabels", at: start)
        case "value", "externalURL":
            guard fields.isEmpty else { throw error("$\(name) has no field \"\(fields[0])\"", at: start) }
            return name == "value" ? .value : .externalURL
        case "":
            throw error("template variable \"$\" (the data root) is not supported — use $labels, $value, $externalLabels or $externalURL", at: start)
        default:
            var message = "undefined template variable \"$\(name)\""
            if let s = Suggestion.closest(to: name, among: ["labels", "value", "externalLabels", "externalURL"]) {
                message += " (did you mean \"$\(s)\"?)"
            } else {
                message += " — the variables are $labels, $value, $externalLabels and $externalURL"
            }
            throw error(message, at: start)
        }
    }

    /// Looks past spaces without consuming them, so `$x := …` is recognised; restores the position otherwise.
    mutating func skipSpacesCheckingDeclaration(start: Int, name: String) {
        var j = i
        while j < bytes.count, isSpace(bytes[j]) { j += 1 }
        if j + 1 < bytes.count, bytes[j] == UInt8(ascii: ":"), bytes[j + 1] == UInt8(ascii: "=") { i = j }
    }

    mutating func readDotField() throws(TemplateError) -> Template.Variable {
        let start = i
        let fields = try readFields()
        guard let first = fields.first else {
            throw error("template value \".\" (the data root) is not supported — use $labels, $value, $externalLabels or $externalURL", at: start)
        }
        let rest = Array(fields.dropFirst())
        switch first {
        case "Labels": return try mapVariable(rest, whole: .labels, entry: Template.Variable.label, spelled: ".Labels", at: start)
        case "ExternalLabels":
            return try mapVariable(rest, whole: .externalLabels, entry: Template.Variable.externalLabel, spelled: ".ExternalLabels", at: start)
        case "Value", "ExternalURL":
            guard rest.isEmpty else { throw error(".\(first) has no field \"\(rest[0])\"", at: start) }
            return first == "Value" ? .value : .externalURL
        default:
            var message = "unknown template field \".\(first)\""
            if let s = Suggestion.closest(to: first, among: ["Labels", "Value", "ExternalLabels", "ExternalURL"]) {
                message += " (did you mean \".\(s)\"?)"
            }
            throw error(message, at: start)
        }
    }

    func mapVariable(_ fields: [String], whole: Template.Variable, entry: (String) -> Template.Variable, spelled: String,
                     at start: Int) throws(TemplateError) -> Template.Variable {
        switch fields.count {
        case 0: return whole
        case 1: return entry(fields[0])
        default: throw error("\(spelled).\(fields[0]) is a string and has no field \"\(fields[1])\"", at: start)
        }
    }

    /// `.a.b.c` after a variable: the field names.
    mutating func readFields() throws(TemplateError) -> [String] {
        var fields: [String] = []
        while i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < bytes.count, isIdentifierByte(bytes[i]) { i += 1 }
            if i == start {
                if fields.isEmpty && (i >= bytes.count || isSpace(bytes[i]) || bytes[i] == UInt8(ascii: "}")) { return [] }
                throw error("expected a field name after \".\"", at: start)
            }
            fields.append(String(decoding: bytes[start..<i], as: UTF8.self))
        }
        return fields
    }

    mutating func readNumber() throws(TemplateError) -> Template.Operand {
        let start = i
        if bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1 }
        while i < bytes.count, isIdentifierByte(bytes[i]) || bytes[i] == UInt8(ascii: ".")
            || ((bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) && (bytes[i - 1] | 0x20) == UInt8(ascii: "e")) {
            i += 1
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self).replacingUnderscores()
        let unsigned = text.hasPrefix("-") || text.hasPrefix("+") ? String(text.dropFirst()) : text
        let negative = text.hasPrefix("-")
        let lower = unsigned.lowercased()
        if lower.hasPrefix("0x"), let v = Int(lower.dropFirst(2), radix: 16) { return .int(negative ? -v : v) }
        if lower.hasPrefix("0o"), let v = Int(lower.dropFirst(2), radix: 8) { return .int(negative ? -v : v) }
        if lower.hasPrefix("0b"), let v = Int(lower.dropFirst(2), radix: 2) { return .int(negative ? -v : v) }
        if let v = Int(unsigned), !unsigned.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
            // Go reads a leading 0 as octal.
            if unsigned.count > 1, unsigned.hasPrefix("0") {
                guard let o = Int(unsigned.dropFirst(), radix: 8) else { throw error("bad number \"\(text)\"", at: start) }
                return .int(negative ? -o : o)
            }
            return .int(negative ? -v : v)
        }
        if let v = Double(unsigned), !unsigned.lowercased().contains("n"), !unsigned.lowercased().contains("i") {
            return .float(negative ? -v : v)
        }
        throw error("bad number \"\(text)\"", at: start)
    }

    mutating func readQuotedString() throws(TemplateError) -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c == UInt8(ascii: "\n") { break }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < bytes.count else { break }
                let e = bytes[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "a"): out.append(0x07)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "v"): out.append(0x0B)
                case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): out.append(e)
                case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let n = e == UInt8(ascii: "x") ? 2 : (e == UInt8(ascii: "u") ? 4 : 8)
                    guard i + n <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + n)], as: UTF8.self), radix: 16) else {
                        throw error("bad escape in string", at: i - 2)
                    }
                    i += n
                    if e == UInt8(ascii: "x") {
                        out.append(UInt8(v))
                    } else {
                        guard let scalar = Unicode.Scalar(v) else { throw error("bad escape in string", at: i - n - 2) }
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    }
                default:
                    throw error("unknown escape \"\\\(Character(Unicode.Scalar(e)))\" in string", at: i - 2)
                }
                continue
            }
            out.append(c)
            i += 1
        }
        throw error("unterminated string", at: start)
    }

    mutating func readIdentifier() -> String {
        let start = i
        while i < bytes.count, isIdentifierByte(bytes[i]) { i += 1 }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    func atEnd(of closing: Closing) -> Bool {
        guard i < bytes.count else { return true }
        switch closing {
        case .action:
            if bytes[i] == UInt8(ascii: "}"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "}") { return true }
            if bytes[i] == UInt8(ascii: "-"), i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "}"), bytes[i + 2] == UInt8(ascii: "}"),
               i > 0, isSpace(bytes[i - 1]) {
                return true
            }
            return false
        case .parenthesis:
            return bytes[i] == UInt8(ascii: ")")
        }
    }

    func describeToken(at k: Int) -> String {
        guard k < bytes.count else { return "end of template" }
        var end = k
        while end < bytes.count, end - k < 12, !isSpace(bytes[end]) { end += 1 }
        return "\"\(String(decoding: bytes[k..<max(end, k + 1)], as: UTF8.self))\""
    }

    func find(_ needle: String, from: Int) -> Int? {
        let n = Array(needle.utf8)
        var k = from
        while k + n.count <= bytes.count {
            if bytes[k..<(k + n.count)].elementsEqual(n) { return k }
            k += 1
        }
        return nil
    }

    mutating func skipSpaces() {
        while i < bytes.count, isSpace(bytes[i]) { i += 1 }
    }

    func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
    func isIdentifierStart(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || c == UInt8(ascii: "_")
    }
    func isIdentifierByte(_ c: UInt8) -> Bool {
        isIdentifierStart(c) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }
}

extension String {
    /// Go number literals may contain `_` between digits.
    func replacingUnderscores() -> String { String(self.filter { $0 != "_" }) }
}
