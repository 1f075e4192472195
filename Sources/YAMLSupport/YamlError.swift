/// Why `compose(yaml:)` refused a text, and where. The cases and their payloads are Yams's, so
/// that a `switch` written against Yams's errors reads the same; positions are 1-based with
/// columns in Unicode scalars (libyaml's marks plus one, as Yams reports them).
public enum YamlError: Error, Sendable, CustomStringConvertible {
    /// libyaml could not allocate memory.
    case memory
    /// The bytes are not UTF-8, or hold a character YAML does not allow (a control character such
    /// as NUL): `offset` is the byte offset of the offending character, `value` the byte or the
    /// character, `mark` its line and column.
    case reader(problem: String, offset: Int, value: Int32, mark: Mark)
    /// libyaml's scanner refused a token (`found character that cannot start any token`, a tab
    /// in indentation, an unclosed quote…); `line` is the text of the mark's line, for display
    /// (empty when the line is long).
    case scanner(context: Context?, problem: String, Mark, line: String)
    /// libyaml's parser refused the structure (`did not find expected ',' or ']'`…).
    case parser(context: Context?, problem: String, Mark, line: String)
    /// Composing the tree failed: an undefined alias, a second document, or one of `YAMLLimits`.
    case composer(context: Context?, problem: String, Mark, line: String)
    /// A mapping gives a key twice; `context.mark` is the first occurrence of the first key
    /// (in key order), as Yams reports it, and each key carries both of its positions.
    case duplicatedKeysInMapping(duplicates: [DuplicatedKey], context: Context)

    /// What libyaml was doing when it found the problem ("while parsing a flow sequence"), and where.
    public struct Context: Sendable, CustomStringConvertible {
        public let text: String
        public let mark: Mark

        public init(text: String, mark: Mark) {
            self.text = text
            self.mark = mark
        }

        public var description: String { "\(text) in line \(mark.line), column \(mark.column)\n" }
    }

    /// A key given twice in one mapping: its text and where it first and next appear.
    public struct DuplicatedKey: Sendable, Equatable, CustomStringConvertible {
        public let name: String
        public let first: Mark
        public let repeated: Mark

        /// The key's text, so that `"\"\(key)\""` reads `"name"`.
        public var description: String { name }
    }

    /// Where to point at: the problem's mark, or a repeated key's second occurrence.
    public var mark: Mark {
        switch self {
        case .memory: Mark(line: 1, column: 1)
        case .reader(_, _, _, let mark): mark
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark
        case .duplicatedKeysInMapping(let keys, let context): keys.first?.repeated ?? context.mark
        }
    }

    /// Yams's rendering: `line:column: error: scanner: context problem:` and the line with a caret.
    public var description: String {
        func snippet(_ line: String, _ mark: Mark) -> String {
            let head = "\(mark): error: \(kind): \(contextText)\(problem)"
            guard !line.isEmpty else { return head }
            return head + ":\n\(line)\n" + String(repeating: " ", count: max(mark.column - 1, 0)) + "^"
        }
        switch self {
        case .memory: return "Memory error"
        case .reader(let problem, let offset, let value, let mark):
            return "\(mark): error: reader: \(problem) (byte offset \(offset), value \(value))"
        case .scanner(_, _, let mark, let line), .parser(_, _, let mark, let line), .composer(_, _, let mark, let line):
            return snippet(line, mark)
        case .duplicatedKeysInMapping(let keys, let context):
            let names = keys.map { "'\($0.name)'" }.joined(separator: ", ")
            return "\(context.mark): error: composer: expected all keys to be unique but found the following duplicated key(s): \(names)"
        }
    }

    private var kind: String {
        switch self {
        case .scanner: "scanner"
        case .parser: "parser"
        default: "composer"
        }
    }

    private var contextText: String {
        switch self {
        case .scanner(let context?, _, _, _), .parser(let context?, _, _, _), .composer(let context?, _, _, _): context.description
        default: ""
        }
    }

    private var problem: String {
        switch self {
        case .reader(let problem, _, _, _), .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        default: ""
        }
    }
}

extension YamlError {
    /// One problem of a refused text: where it is and what it is.
    public struct Problem: Sendable, Equatable {
        public let mark: Mark
        public let message: String
    }

    /// The problems to show for this error, in the words every YAML reader of the code base
    /// (configuration, rule, test and gate files) uses: for a syntax error, libyaml's problem,
    /// followed when `withContext` by what libyaml was doing ("did not find expected ',' or ']'
    /// while parsing a flow sequence"); a composer's refusal with its context first ("expected a
    /// single document in the stream but found another document"). The caller prefixes these with
    /// its own words ("invalid YAML: "). A key given twice is not a syntax error: see `repeatedKeys`.
    public func syntaxProblems(withContext: Bool) -> [Problem] {
        switch self {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            guard withContext, let context else { return [Problem(mark: mark, message: problem)] }
            return [Problem(mark: mark, message: "\(problem) \(context.text)")]
        case .composer(let context, let problem, let mark, _):
            return [Problem(mark: mark, message: context.map { "\($0.text) \(problem)" } ?? problem)]
        case .reader(let problem, _, _, let mark):
            return [Problem(mark: mark, message: problem)]
        case .memory:
            return [Problem(mark: Mark(line: 1, column: 1), message: "libyaml could not allocate memory")]
        case .duplicatedKeysInMapping:
            return []
        }
    }

    /// Every key a mapping gives twice, at its second occurrence, naming the line of the first;
    /// empty for other errors.
    public var repeatedKeys: [Problem] {
        guard case .duplicatedKeysInMapping(let keys, _) = self else { return [] }
        return keys.map {
            Problem(mark: $0.repeated, message: "key \"\($0.name)\" is given twice in this mapping (first at line \($0.first.line))")
        }
    }
}
