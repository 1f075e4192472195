import Query
/// Go's `text/template` parser (`text/template/parse/parse.go`), rule for rule: actions, control
/// structures (`if`/`else if`/`else`, `range` with `$i, $v :=` and `else`, `with`/`else with`,
/// `break`, `continue`), `define`/`template`/`block`, variable declarations and assignments,
/// pipelines, parenthesised pipelines and field chains. Functions must exist and variables must
/// be declared before use, as Go checks when the template is parsed; the messages are Go's.
struct TemplateParser {
    typealias Token = TemplateLexer.Token
    typealias Node = Template.Node

    var lexer: TemplateLexer
    /// Tokens read ahead and pushed back, the next one last.
    var pushedBack: [Token] = []
    /// The last token read (Go's `token[0]`), whose line messages give.
    var current = Token(kind: .eof, pos: 0, value: "", line: 1)
    var vars: [String] = ["$"]
    var rangeDepth = 0
    var parenDepth = 0
    let functions: Set<String>
    /// Templates defined with `define` or `block`, by name.
    var definitions: [String: [Node]] = [:]
    /// Every function the template names.
    var calledFunctions: Set<String> = []

    /// Deepest nesting of parentheses and control structures.
    static let maxDepth = 100
    var controlDepth = 0

    init(text: [UInt8], functions: Set<String>) {
        lexer = TemplateLexer(text)
        self.functions = functions
    }

    struct Failure: Error {
        var message: String
        var pos: Int
    }

    func fail(_ message: String) -> Failure { Failure(message: message, pos: current.pos) }

    mutating func next() -> Token {
        current = pushedBack.popLast() ?? lexer.next()
        return current
    }

    mutating func backup(_ t: Token) { pushedBack.append(t) }

    mutating func peek() -> Token {
        let t = next()
        backup(t)
        return t
    }

    mutating func nextNonSpace() -> Token {
        var t = next()
        while t.kind == .space { t = next() }
        return t
    }

    mutating func peekNonSpace() -> Token {
        let t = nextNonSpace()
        backup(t)
        return t
    }

    mutating func expect(_ kind: TemplateLexer.Kind, _ context: String) throws(Failure) -> Token {
        let t = nextNonSpace()
        if t.kind != kind { throw unexpected(t, context) }
        return t
    }

    func unexpected(_ t: Token, _ context: String) -> Failure {
        if t.kind == .error { return Failure(message: t.value, pos: t.pos) }
        return Failure(message: "unexpected \(t.description) in \(context)", pos: t.pos)
    }

    /// The whole template: its main list, and the definitions met on the way.
    mutating func parse() throws(Failure) -> [Node] {
        var root: [Node] = []
        while peek().kind != .eof {
            if peek().kind == .leftDelim {
                let delim = next()
                let word = nextNonSpace()
                if word.kind == .define {
                    try parseDefinition()
                    continue
                }
                backup(word)
                backup(delim)
            }
            let n = try textOrAction()
            switch n {
            case .end(let t), .elseAction(let t): throw Failure(message: "unexpected \(t)", pos: current.pos)
            case .node(let node): root.append(node)
            }
        }
        if case .error = current.kind { throw Failure(message: current.value, pos: current.pos) }
        return root
    }

    /// What an item of a list turned out to be: a node, or the `{{end}}`/`{{else}}` ending the list.
    enum Item {
        case node(Node)
        case end(String)
        case elseAction(String)
    }

    mutating func parseDefinition() throws(Failure) {
        let context = "define clause"
        let nameToken = nextNonSpace()
        guard nameToken.kind == .string || nameToken.kind == .rawString else { throw unexpected(nameToken, context) }
        let name = try unquote(nameToken)
        _ = try expect(.rightDelim, context)
        let saved = vars
        vars = ["$"]
        defer { vars = saved }
        let (list, end) = try itemList()
        guard case .end = end else { throw fail("unexpected \(end.goString) in \(context)") }
        try add(name, list)
    }

    mutating func add(_ name: String, _ list: [Node]) throws(Failure) {
        if let existing = definitions[name], !Self.isEmpty(existing), !Self.isEmpty(list) {
            throw fail("template: multiple definition of template \(GoFormat.quote(name))")
        }
        if definitions[name] == nil || Self.isEmpty(definitions[name]!) { definitions[name] = list }
    }

    /// Go's `IsEmptyTree`: only space and comments.
    static func isEmpty(_ nodes: [Node]) -> Bool {
        nodes.allSatisfy { node in
            if case .text(_, let t) = node { return t.allSatisfy { $0.isWhitespace } }
            return false
        }
    }

    mutating func itemList() throws(Failure) -> ([Node], Item) {
        var list: [Node] = []
        while peekNonSpace().kind != .eof {
            let item = try textOrAction()
            switch item {
            case .node(let n): list.append(n)
            case .end, .elseAction: return (list, item)
            }
        }
        if case .error = current.kind { throw Failure(message: current.value, pos: current.pos) }
        throw fail("unexpected EOF")
    }

    mutating func textOrAction() throws(Failure) -> Item {
        let t = nextNonSpace()
        switch t.kind {
        case .text: return .node(.text(pos: t.pos, t.value))
        case .leftDelim: return try action()
        default: throw unexpected(t, "input")
        }
    }

    mutating func action() throws(Failure) -> Item {
        let t = nextNonSpace()
        switch t.kind {
        case .block: return .node(try blockControl())
        case .breakKeyword, .continueKeyword:
            let keyword = t.kind == .breakKeyword ? "{{break}}" : "{{continue}}"
            let close = nextNonSpace()
            if close.kind != .rightDelim { throw unexpected(close, keyword) }
            if rangeDepth == 0 { throw fail("\(keyword) outside {{range}}") }
            return .node(t.kind == .breakKeyword ? .breakLoop(pos: t.pos) : .continueLoop(pos: t.pos))
        case .elseKeyword:
            let p = peekNonSpace()
            if p.kind == .ifKeyword || p.kind == .with { return .elseAction("{{else}}") }
            _ = try expect(.rightDelim, "else")
            return .elseAction("{{else}}")
        case .end:
            _ = try expect(.rightDelim, "end")
            return .end("{{end}}")
        case .ifKeyword: return .node(.branch(try parseControl(.ifBranch, at: t.pos)))
        case .range: return .node(.branch(try parseControl(.range, at: t.pos)))
        case .with: return .node(.branch(try parseControl(.with, at: t.pos)))
        case .template: return .node(try templateControl())
        default:
            backup(t)
            let start = peek()
            // Variables declared here persist until the end of the enclosing control.
            let pipe = try pipeline("command", end: .rightDelim)
            return .node(.action(pos: start.pos, pipe))
        }
    }

    mutating func parseControl(_ kind: Template.Branch.Kind, at pos: Int) throws(Failure) -> Template.Branch {
        controlDepth += 1
        defer { controlDepth -= 1 }
        guard controlDepth <= Self.maxDepth else { throw fail("control structures nested deeper than \(Self.maxDepth)") }
        let savedVars = vars.count
        defer { vars.removeSubrange(savedVars...) }
        let pipe = try pipeline(kind.rawValue, end: .rightDelim)
        if kind == .range { rangeDepth += 1 }
        let (list, ending) = try itemList()
        if kind == .range { rangeDepth -= 1 }
        var elseList: [Node]?
        switch ending {
        case .end: break
        case .elseAction:
            // `{{else if …}}` and `{{else with …}}` chain: the inner control's {{end}} ends both.
            if kind == .ifBranch, peek().kind == .ifKeyword {
                let t = next()
                elseList = [.branch(try parseControl(.ifBranch, at: t.pos))]
            } else if kind == .with, peek().kind == .with {
                let t = next()
                elseList = [.branch(try parseControl(.with, at: t.pos))]
            } else {
                let (list, end) = try itemList()
                guard case .end = end else { throw fail("expected end; found \(end.goString)") }
                elseList = list
            }
        case .node: break
        }
        return Template.Branch(kind: kind, pos: pipe.pos, pipe: pipe, list: list, elseList: elseList)
    }

    mutating func blockControl() throws(Failure) -> Node {
        let context = "block clause"
        let nameToken = nextNonSpace()
        let name = try templateName(nameToken, context)
        let pipe = try pipeline(context, end: .rightDelim)
        let saved = vars
        let savedRange = rangeDepth
        vars = ["$"]
        rangeDepth = 0
        let (list, end) = try itemList()
        vars = saved
        rangeDepth = savedRange
        guard case .end = end else { throw fail("unexpected \(end.goString) in \(context)") }
        try add(name, list)
        return .template(pos: nameToken.pos, name: name, quotedName: GoFormat.quote(name), pipe: pipe)
    }

    mutating func templateControl() throws(Failure) -> Node {
        let context = "template clause"
        let nameToken = nextNonSpace()
        let name = try templateName(nameToken, context)
        var pipe: Template.Pipe?
        let t = nextNonSpace()
        if t.kind != .rightDelim {
            backup(t)
            pipe = try pipeline(context, end: .rightDelim)
        }
        return .template(pos: nameToken.pos, name: name, quotedName: GoFormat.quote(name), pipe: pipe)
    }

    mutating func templateName(_ t: Token, _ context: String) throws(Failure) -> String {
        guard t.kind == .string || t.kind == .rawString else { throw unexpected(t, context) }
        return try unquote(t)
    }

    mutating func pipeline(_ context: String, end: TemplateLexer.Kind) throws(Failure) -> Template.Pipe {
        var pipe = Template.Pipe(pos: peekNonSpace().pos)
        // Declarations or assignments: `$x :=`, `$x =`, `$i, $v :=` (range only).
        declarations: while true {
            let v = peekNonSpace()
            guard v.kind == .variable else { break }
            _ = nextNonSpace()
            let after = peek()
            let following = peekNonSpace()
            if following.kind == .assign || following.kind == .declare {
                pipe.isAssign = following.kind == .assign
                _ = nextNonSpace()
                pipe.decls.append((v.pos, v.value))
                vars.append(v.value)
            } else if following.kind == .char, following.value == "," {
                _ = nextNonSpace()
                pipe.decls.append((v.pos, v.value))
                vars.append(v.value)
                if context == "range", pipe.decls.count < 2 {
                    switch peekNonSpace().kind {
                    case .variable, .rightDelim, .rightParen: continue declarations
                    default: throw fail("range can only initialize variables")
                    }
                }
                throw fail("too many declarations in \(context)")
            } else {
                // Not a declaration: the variable is the pipeline's first operand.
                if after.kind == .space {
                    pushBackAll([v, after])
                } else {
                    pushBackAll([v])
                }
            }
            break
        }
        while true {
            let t = nextNonSpace()
            if t.kind == end {
                try checkPipeline(pipe, context)
                return pipe
            }
            switch t.kind {
            case .bool, .charConstant, .complex, .dot, .field, .identifier, .number, .nilKeyword, .rawString, .string, .variable, .leftParen:
                backup(t)
                pipe.commands.append(try command())
            default:
                throw unexpected(t, context)
            }
        }
    }

    /// Pushes back tokens so that the first of `tokens` is read next (after any already pushed back are consumed first).
    mutating func pushBackAll(_ tokens: [Token]) {
        // The lookahead already holds what followed; put these in front of it.
        let ahead = pushedBack
        pushedBack = []
        for t in ahead { pushedBack.append(t) }
        for t in tokens.reversed() { pushedBack.append(t) }
    }

    func checkPipeline(_ pipe: Template.Pipe, _ context: String) throws(Failure) {
        if pipe.commands.isEmpty { throw fail("missing value for \(context)") }
        for (i, c) in pipe.commands.enumerated() where i > 0 {
            switch c.args.first {
            case .bool, .dot, .nilValue, .number, .string:
                throw fail("non executable command in pipeline stage \(i + 1)")
            default: break
            }
        }
    }

    mutating func command() throws(Failure) -> Template.Command {
        var cmd = Template.Command(pos: peekNonSpace().pos)
        loop: while true {
            _ = peekNonSpace()
            if let operand = try operand() { cmd.args.append(operand) }
            let t = next()
            switch t.kind {
            case .space: continue loop
            case .rightDelim, .rightParen: backup(t)
            case .pipe: break
            default: throw unexpected(t, "operand")
            }
            break
        }
        if cmd.args.isEmpty { throw fail("empty command") }
        return cmd
    }

    mutating func operand() throws(Failure) -> Template.Operand? {
        guard let node = try term() else { return nil }
        guard peek().kind == .field else { return node }
        let chainPos = peek().pos
        var fields: [String] = []
        while peek().kind == .field { fields.append(String(next().value.dropFirst())) }
        // As Go does, the combined node takes the position of the first field.
        switch node {
        case .field(_, let idents): return .field(pos: chainPos, idents + fields)
        case .variable(_, let idents): return .variable(pos: chainPos, idents + fields)
        case .bool, .string, .number, .nilValue, .dot:
            throw fail("unexpected . after term \(GoFormat.quote(node.goString))")
        default: return .chain(pos: chainPos, node, fields)
        }
    }

    mutating func term() throws(Failure) -> Template.Operand? {
        let t = nextNonSpace()
        switch t.kind {
        case .identifier:
            guard functions.contains(t.value) else { throw fail("function \(GoFormat.quote(t.value)) not defined") }
            calledFunctions.insert(t.value)
            return .identifier(pos: t.pos, t.value)
        case .dot: return .dot(pos: t.pos)
        case .nilKeyword: return .nilValue(pos: t.pos)
        case .variable:
            let parts = t.value.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard vars.contains(parts[0]) else { throw fail("undefined variable \(GoFormat.quote(parts[0]))") }
            return .variable(pos: t.pos, parts)
        case .field: return .field(pos: t.pos, t.value.dropFirst().split(separator: ".", omittingEmptySubsequences: false).map(String.init))
        case .bool: return .bool(pos: t.pos, t.value == "true")
        case .charConstant, .complex, .number: return .number(pos: t.pos, try number(t))
        case .leftParen:
            parenDepth += 1
            defer { parenDepth -= 1 }
            guard parenDepth <= Self.maxDepth else { throw fail("max expression depth exceeded") }
            return .pipe(try pipeline("parenthesized pipeline", end: .rightParen))
        case .string, .rawString: return .string(pos: t.pos, quoted: t.value, text: try unquote(t))
        default:
            backup(t)
            return nil
        }
    }

    func unquote(_ t: Token) throws(Failure) -> String {
        guard let s = GoLiteral.unquote(t.value) else { throw Failure(message: "invalid syntax", pos: t.pos) }
        return s
    }

    /// Go's `newNumber`: every type the constant fits.
    func number(_ t: Token) throws(Failure) -> Template.NumberConstant {
        let text = t.value
        var n = Template.NumberConstant(text: text)
        if t.kind == .charConstant {
            guard let s = GoLiteral.unquote(text), s.unicodeScalars.count == 1, let u = s.unicodeScalars.first else {
                throw Failure(message: "malformed character constant: \(text)", pos: t.pos)
            }
            n.int = Int64(u.value)
            n.uint = UInt64(u.value)
            n.float = Double(u.value)
            n.isChar = true
            return n
        }
        if t.kind == .complex || text.hasSuffix("i") {
            n.isComplex = true
            return n
        }
        if let u = GoLiteral.parseUInt(text) { n.uint = u }
        if let i = GoLiteral.parseInt(text) {
            n.int = i
            if i == 0 { n.uint = 0 }
        }
        if let i = n.int {
            n.float = Double(i)
        } else if let u = n.uint {
            n.float = Double(u)
        } else if let f = GoLiteral.parseFloat(text) {
            if !text.contains(where: { ".eEpP".contains($0) }) {
                throw Failure(message: "integer overflow: \(GoFormat.quote(text))", pos: t.pos)
            }
            n.float = f
            if f == f.rounded(), abs(f) < 9.2e18 { n.int = Int64(f) }
            if f == f.rounded(), f >= 0, f < 1.8e19 { n.uint = UInt64(f) }
        }
        if n.int == nil, n.uint == nil, n.float == nil {
            throw Failure(message: "illegal number syntax: \(GoFormat.quote(text))", pos: t.pos)
        }
        return n
    }
}

extension TemplateParser.Item {
    var goString: String {
        switch self {
        case .node(let n): n.goString
        case .end(let s), .elseAction(let s): s
        }
    }
}

/// Go's number literals: integers with base prefixes and `_`, floats (strings: `GoStringLiteral`).
enum GoLiteral {
    /// `strconv.Unquote`: `"…"` with Go's escapes, `` `…` `` as is, `'x'` one rune; nil when malformed.
    static func unquote(_ quoted: String) -> String? {
        guard let s = GoStringLiteral.unquote(quoted) else { return nil }
        if quoted.hasPrefix("'"), s.unicodeScalars.count != 1 { return nil }
        return s
    }

    /// Digits without `_` separators, which Go allows only between digits (after a base prefix too).
    static func digits(_ s: Substring) -> Substring? {
        if s.isEmpty { return nil }
        guard s.contains("_") else { return s }
        guard s.first != "_", s.last != "_", !s.contains("__") else { return nil }
        return Substring(s.filter { $0 != "_" })
    }

    /// `strconv.ParseUint(s, 0, 64)`.
    static func parseUInt(_ text: String) -> UInt64? {
        var s = Substring(text)
        if s.hasPrefix("+") || s.hasPrefix("-") { return nil }
        var radix = 10
        let lower = s.lowercased()
        if lower.hasPrefix("0x") { radix = 16; s = s.dropFirst(2) }
        else if lower.hasPrefix("0o") { radix = 8; s = s.dropFirst(2) }
        else if lower.hasPrefix("0b") { radix = 2; s = s.dropFirst(2) }
        else if s.count > 1, s.hasPrefix("0") { radix = 8; s = s.dropFirst(1) }
        if radix != 10, s.first == "_" { s = s.dropFirst() }
        guard let d = digits(s) else { return nil }
        return UInt64(d, radix: radix)
    }

    /// `strconv.ParseInt(s, 0, 64)`.
    static func parseInt(_ text: String) -> Int64? {
        var s = Substring(text)
        var negative = false
        if s.hasPrefix("+") { s = s.dropFirst() } else if s.hasPrefix("-") {
            negative = true
            s = s.dropFirst()
        }
        guard let u = parseUInt(String(s)) else { return nil }
        if negative { return u <= UInt64(Int64.max) + 1 ? (u == UInt64(Int64.max) + 1 ? Int64.min : -Int64(u)) : nil }
        return u <= UInt64(Int64.max) ? Int64(u) : nil
    }

    /// `strconv.ParseFloat(s, 64)` for Go literal syntax (decimal and hexadecimal, `_` between digits).
    static func parseFloat(_ text: String) -> Double? {
        var s = text
        if s.contains("_") {
            guard !s.hasPrefix("_"), !s.hasSuffix("_"), !s.contains("__") else { return nil }
            s = s.filter { $0 != "_" }
        }
        let body = s.hasPrefix("+") || s.hasPrefix("-") ? String(s.dropFirst()) : s
        guard let first = body.first, first.isASCII, first.isNumber || first == "." else { return nil }
        guard body.allSatisfy({ $0.isASCII && ($0.isHexDigit || ".xXpP+-".contains($0)) }) else { return nil }
        return Double(s)
    }
}
