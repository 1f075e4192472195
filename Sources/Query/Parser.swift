import RE2
import TimeSeries

/// Parsing entry points.
public enum PromQL {
    /// Longest expression accepted, in bytes.
    public static let maxExpressionBytes = 256 * 1024
    /// Deepest expression tree accepted (nesting of parentheses, calls, operators).
    public static let maxDepth = 160

    /// Parses and type-checks an expression.
    public static func parse(_ text: String) throws(QueryError) -> Expr {
        try parse(utf8: Array(text.utf8))
    }

    /// Parses and type-checks an expression given as UTF-8 bytes; invalid UTF-8 is an error with its position.
    public static func parse(utf8 bytes: [UInt8]) throws(QueryError) -> Expr {
        let source = Source(bytes: bytes)
        guard bytes.count <= maxExpressionBytes else {
            throw QueryError(kind: .limit, message: "expression is \(bytes.count) bytes long — the limit is \(maxExpressionBytes)", range: nil, line: 0, column: 0)
        }
        if let bad = firstInvalidUTF8(bytes) {
            throw source.error(.parse, at: bad, end: bad + 1, "invalid UTF-8 byte 0x\(String(bytes[bad], radix: 16, uppercase: true))")
        }
        var parser = Parser(source: source, tokens: try Lexer(source: source).tokens())
        return try parser.parseTopLevel()
    }

    /// Milliseconds of a Prometheus duration (`5m`, `1h30m`, `500ms`); nil when malformed or out of
    /// range. Rule files and tests use it for `for:`, `interval:` and `eval_time:`.
    public static func parseDuration(_ text: String) -> Int64? {
        Lexer.durationMilliseconds(text)
    }

    /// Offset of the first byte that is not part of valid UTF-8, if any.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            if c < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var minimum: UInt32
            var scalar: UInt32
            switch c {
            case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(c & 0x1F)
            case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(c & 0x0F)
            case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(c & 0x07)
            default: return i
            }
            guard i + length <= n else { return i }
            for k in 1..<length {
                let d = bytes[i + k]
                guard d & 0xC0 == 0x80 else { return i }
                scalar = scalar << 6 | UInt32(d & 0x3F)
            }
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return i }
            minimum = 0
            i += length
        }
        return nil
    }
}

/// A recursive-descent parser with precedence climbing for binary operators.
///
/// Precedence and associativity are PromQL's: `or` < `and`/`unless` < comparisons < `+ -` <
/// `* / % atan2` < `^` (right-associative); unary minus binds tighter than `*` but looser than
/// `^`, so `-2 ^ 2` is `-(2 ^ 2)`. Types are checked as nodes are built, so a type error points
/// at the operand that has the wrong type. Tree height is bounded (`PromQL.maxDepth`) so that
/// neither parsing nor evaluation can exhaust the stack.
struct Parser {
    let source: Source
    let tokens: [Token]
    var index = 0
    var depth = 0

    /// A node and the height of its tree.
    typealias Node = (expr: Expr, height: Int)

    init(source: Source, tokens: [Token]) {
        self.source = source
        self.tokens = tokens
    }

    // MARK: Token helpers

    var current: Token { tokens[index] }
    var nextToken: Token { tokens[min(index + 1, tokens.count - 1)] }

    @discardableResult
    mutating func advance() -> Token {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    func text(_ t: Token) -> String { source.text(t.start, t.end) }

    func isWord(_ t: Token, _ word: String) -> Bool {
        t.kind == .identifier && t.end - t.start == word.utf8.count
            && zip(source.bytes[t.start..<t.end], word.utf8).allSatisfy { $0 | 0x20 == $1 | 0x20 }
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .eof: return "end of input"
        case .string: return "string " + shorten(text(t))
        case .number: return "number \"\(shorten(text(t)))\""
        case .duration: return "duration \"\(text(t))\""
        case .identifier:
            let w = text(t)
            return Parser.keywords.contains(w.lowercased()) || AggregationOp(rawValue: w.lowercased()) != nil ? "keyword \"\(w)\"" : "identifier \"\(shorten(w))\""
        default: return "\"\(text(t))\""
        }
    }

    func shorten(_ s: String) -> String {
        s.count > 40 ? String(s.prefix(37)) + "…" : s
    }

    func error(_ message: String, at t: Token, kind: QueryError.Kind = .parse) -> QueryError {
        source.error(kind, at: t.start, end: t.end, message)
    }

    func error(_ message: String, at range: Range<Int>, kind: QueryError.Kind) -> QueryError {
        source.error(kind, at: range.lowerBound, end: range.upperBound, message)
    }

    func unexpected(_ t: Token, expected: String) -> QueryError {
        error("unexpected \(describe(t)) — expected \(expected)", at: t)
    }

    mutating func expect(_ kind: TokenKind, _ what: String) throws(QueryError) -> Token {
        guard current.kind == kind else { throw unexpected(current, expected: what) }
        return advance()
    }

    static let keywords: Set<String> = [
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless", "atan2",
    ]

    /// Recursion depth allowed: a level of the tree costs up to three nested parse calls.
    static let maxRecursion = 3 * PromQL.maxDepth

    mutating func enter(_ at: Token) throws(QueryError) {
        depth += 1
        if depth > Parser.maxRecursion {
            throw error("expression nests too deeply (more than \(PromQL.maxDepth) levels)", at: at, kind: .limit)
        }
    }

    func checkHeight(_ height: Int, _ range: Range<Int>) throws(QueryError) {
        if height > PromQL.maxDepth {
            throw error("expression nests too deeply (more than \(PromQL.maxDepth) levels)", at: range, kind: .limit)
        }
    }

    // MARK: Expressions

    mutating func parseTopLevel() throws(QueryError) -> Expr {
        if current.kind == .eof { throw error("empty expression — expected an expression", at: current) }
        let node = try parseExpression(minPrecedence: 1)
        guard current.kind == .eof else {
            throw unexpected(current, expected: "an operator or the end of the expression")
        }
        return node.expr
    }

    func peekBinaryOp() -> BinaryOp? {
        let t = current
        switch t.kind {
        case .plus: return .add
        case .minus: return .sub
        case .star: return .mul
        case .slash: return .div
        case .percent: return .mod
        case .caret: return .pow
        case .equal: return .equal
        case .notEqual: return .notEqual
        case .less: return .less
        case .lessEqual: return .lessEqual
        case .greater: return .greater
        case .greaterEqual: return .greaterEqual
        case .identifier:
            if isWord(t, "and") { return .and }
            if isWord(t, "or") { return .or }
            if isWord(t, "unless") { return .unless }
            if isWord(t, "atan2") { return .atan2 }
            return nil
        default: return nil
        }
    }

    mutating func parseExpression(minPrecedence: Int) throws(QueryError) -> Node {
        try enter(current)
        defer { depth -= 1 }
        var lhs = try parseUnary()
        while let op = peekBinaryOp(), op.precedence >= minPrecedence {
            let opToken = advance()
            let (returnBool, matching) = try parseBinaryModifiers(op, opToken)
            let rhs = try parseExpression(minPrecedence: op.isRightAssociative ? op.precedence : op.precedence + 1)
            lhs = try makeBinary(op, opToken, lhs, rhs, returnBool: returnBool, matching: matching)
        }
        return lhs
    }

    mutating func parseUnary() throws(QueryError) -> Node {
        let t = current
        guard t.kind == .minus || t.kind == .plus else { return try parsePostfix() }
        advance()
        try enter(t)
        defer { depth -= 1 }
        // The operand binds everything tighter than unary minus: only `^`.
        let operand = try parseExpression(minPrecedence: BinaryOp.pow.precedence)
        let range = t.start..<operand.expr.position.upperBound
        switch operand.expr.type {
        case .scalar, .instantVector: break
        default:
            throw error("unary expression only allowed on expressions of type scalar or instant vector, got \(operand.expr.type)", at: operand.expr.position, kind: .type)
        }
        if case .number(let n) = operand.expr {
            return (.number(NumberLiteral(value: t.kind == .minus ? -n.value : n.value, position: range)), operand.height)
        }
        try checkHeight(operand.height + 1, range)
        return (.unary(UnaryOperation(negate: t.kind == .minus, expr: operand.expr, position: range)), operand.height + 1)
    }

    /// A primary expression followed by any `[range]`, `[range:step]`, `offset` and `@` modifiers.
    mutating func parsePostfix() throws(QueryError) -> Node {
        var node = try parsePrimary()
        while true {
            let t = current
            if t.kind == .leftBracket {
                node = try parseRangeOrSubquery(node)
            } else if isWord(t, "offset") {
                advance()
                let offset = try parseSignedDuration("a duration after offset")
                node.expr = try applyOffset(node.expr, offset, t)
            } else if t.kind == .at {
                advance()
                let at = try parseAt()
                node.expr = try applyAt(node.expr, at, t)
            } else {
                return node
            }
        }
    }

    mutating func parseSignedDuration(_ what: String) throws(QueryError) -> Int64 {
        var sign: Int64 = 1
        if current.kind == .minus {
            sign = -1
            advance()
        } else if current.kind == .plus {
            advance()
        }
        let t = current
        guard t.kind == .duration || t.kind == .number else { throw unexpected(t, expected: what) }
        advance()
        return sign * (try durationValue(t))
    }

    /// A duration token, or a number of seconds (Prometheus 3 accepts both).
    func durationValue(_ t: Token) throws(QueryError) -> Int64 {
        if t.kind == .duration {
            guard let ms = Lexer.durationMilliseconds(text(t)) else {
                throw error("bad duration \"\(text(t))\" — expected units in decreasing order (e.g. 1h30m) that fit in 292 years", at: t)
            }
            return ms
        }
        guard let seconds = Lexer.numberValue(text(t)), seconds.isFinite, abs(seconds) < 9e15 else {
            throw error("bad duration \"\(text(t))\"", at: t)
        }
        return Int64((seconds * 1000).rounded())
    }

    mutating func parseAt() throws(QueryError) -> AtModifier {
        let t = current
        if isWord(t, "start") || isWord(t, "end") {
            advance()
            _ = try expect(.leftParen, "\"(\" after \(text(t))")
            _ = try expect(.rightParen, "\")\" — \(text(t))() takes no arguments")
            return isWord(t, "start") ? .start : .end
        }
        var sign = 1.0
        if current.kind == .minus {
            sign = -1
            advance()
        } else if current.kind == .plus {
            advance()
        }
        let n = current
        guard n.kind == .number else { throw unexpected(n, expected: "a Unix timestamp, start() or end() after @") }
        advance()
        guard let seconds = Lexer.numberValue(text(n)), abs(seconds) < 9.2e15 else {
            throw error("timestamp out of range for @ modifier: \(text(n))", at: n)
        }
        return .timestamp(Timestamp((sign * seconds * 1000).rounded()))
    }

    func applyOffset(_ e: Expr, _ offset: Int64, _ t: Token) throws(QueryError) -> Expr {
        let end = tokens[index - 1].end
        switch e {
        case .vectorSelector(var v):
            guard v.offset == 0 else { throw error("offset may not be set multiple times", at: t) }
            v.offset = offset
            v.position = v.position.lowerBound..<end
            return .vectorSelector(v)
        case .matrixSelector(var m):
            guard m.selector.offset == 0 else { throw error("offset may not be set multiple times", at: t) }
            m.selector.offset = offset
            m.position = m.position.lowerBound..<end
            return .matrixSelector(m)
        case .subquery(var s):
            guard s.offset == 0 else { throw error("offset may not be set multiple times", at: t) }
            s.offset = offset
            s.position = s.position.lowerBound..<end
            return .subquery(s)
        default:
            throw error("offset modifier must be preceded by an instant vector selector or range vector selector or a subquery", at: t)
        }
    }

    func applyAt(_ e: Expr, _ at: AtModifier, _ t: Token) throws(QueryError) -> Expr {
        let end = tokens[index - 1].end
        switch e {
        case .vectorSelector(var v):
            guard v.at == nil else { throw error("@ <timestamp> may not be set multiple times", at: t) }
            v.at = at
            v.position = v.position.lowerBound..<end
            return .vectorSelector(v)
        case .matrixSelector(var m):
            guard m.selector.at == nil else { throw error("@ <timestamp> may not be set multiple times", at: t) }
            m.selector.at = at
            m.position = m.position.lowerBound..<end
            return .matrixSelector(m)
        case .subquery(var s):
            guard s.at == nil else { throw error("@ <timestamp> may not be set multiple times", at: t) }
            s.at = at
            s.position = s.position.lowerBound..<end
            return .subquery(s)
        default:
            throw error("@ modifier must be preceded by an instant vector selector or range vector selector or a subquery", at: t)
        }
    }

    mutating func parseRangeOrSubquery(_ node: Node) throws(QueryError) -> Node {
        let open = advance()
        let rangeToken = current
        guard rangeToken.kind == .duration || rangeToken.kind == .number else {
            throw unexpected(rangeToken, expected: "a duration such as 5m inside [ ]")
        }
        advance()
        let range = try durationValue(rangeToken)
        guard range > 0 else { throw error("range must be greater than 0, got \(text(rangeToken))", at: rangeToken) }
        if current.kind == .colon {
            advance()
            var step: Int64? = nil
            if current.kind == .duration || current.kind == .number {
                let stepToken = advance()
                step = try durationValue(stepToken)
                guard step! > 0 else { throw error("subquery step must be greater than 0", at: stepToken) }
            }
            let close = try expect(.rightBracket, "\"]\" to close the subquery")
            guard node.expr.type == .instantVector || node.expr.type == .scalar else {
                throw error("subquery is only allowed on instant vector, got \(node.expr.type)", at: node.expr.position, kind: .type)
            }
            if case .matrixSelector = node.expr {
                throw error("subquery is only allowed on instant vector, got range vector", at: node.expr.position, kind: .type)
            }
            let position = node.expr.position.lowerBound..<close.end
            try checkHeight(node.height + 1, position)
            return (.subquery(Subquery(expr: node.expr, range: range, step: step, offset: 0, at: nil, position: position)), node.height + 1)
        }
        let close = try expect(.rightBracket, "\"]\" or \":\" after the range")
        guard case .vectorSelector(let v) = node.expr else {
            if case .matrixSelector = node.expr {
                throw error("range selector applied twice — a range vector cannot be given another range", at: open)
            }
            throw error("ranges only allowed for vector selectors — to take a range of an expression use a subquery such as [\(text(rangeToken)):]", at: open, kind: .type)
        }
        if v.offset != 0 { throw error("no offset modifiers allowed before range — write x[5m] offset 1h", at: open) }
        if v.at != nil { throw error("no @ modifiers allowed before range — write x[5m] @ 1700000000", at: open) }
        let position = v.position.lowerBound..<close.end
        return (.matrixSelector(MatrixSelector(selector: v, range: range, position: position)), node.height)
    }

    mutating func parsePrimary() throws(QueryError) -> Node {
        let t = current
        switch t.kind {
        case .number:
            advance()
            guard let value = Lexer.numberValue(text(t)) else {
                throw error("number \(shorten(text(t))) is out of range", at: t)
            }
            return (.number(NumberLiteral(value: value, position: t.start..<t.end)), 1)
        case .duration:
            advance()
            let ms = try durationValue(t)
            return (.number(NumberLiteral(value: Double(ms) / 1000, position: t.start..<t.end)), 1)
        case .string:
            advance()
            return (.string(StringLiteral(value: try stringValue(t), position: t.start..<t.end)), 1)
        case .leftParen:
            advance()
            let inner = try parseExpression(minPrecedence: 1)
            let close = try expect(.rightParen, "\")\"")
            let position = t.start..<close.end
            try checkHeight(inner.height + 1, position)
            return (.parenthesized(Parenthesized(expr: inner.expr, position: position)), inner.height + 1)
        case .leftBrace:
            return (.vectorSelector(try parseSelector(name: nil, start: t.start)), 1)
        case .identifier:
            let word = text(t)
            let lower = word.lowercased()
            if let op = AggregationOp(rawValue: lower),
                nextToken.kind == .leftParen || isWord(nextToken, "by") || isWord(nextToken, "without")
            {
                return try parseAggregation(op)
            }
            if nextToken.kind == .leftParen {
                if let function = FunctionSignature.all[word] { return try parseCall(function) }
                if let reason = FunctionSignature.unsupported[word] ?? FunctionSignature.unsupported[lower] {
                    throw error(reason, at: t, kind: .unsupported)
                }
                if Parser.keywords.contains(lower) { throw unexpected(t, expected: "an expression") }
                throw error("unknown function \"\(shorten(word))\"", at: t)
            }
            if lower == "inf" || lower == "nan" {
                advance()
                return (.number(NumberLiteral(value: lower == "inf" ? .infinity : .nan, position: t.start..<t.end)), 1)
            }
            if Parser.keywords.contains(lower) || AggregationOp(rawValue: lower) != nil {
                throw unexpected(t, expected: "an expression")
            }
            advance()
            if current.kind == .leftBrace {
                return (.vectorSelector(try parseSelector(name: word, start: t.start)), 1)
            }
            return (.vectorSelector(try makeSelector(name: word, matchers: [], range: t.start..<t.end)), 1)
        default:
            throw unexpected(t, expected: "an expression")
        }
    }

    func stringValue(_ t: Token) throws(QueryError) -> String {
        switch Lexer.stringValue(source.bytes[t.start..<t.end]) {
        case .success(let s): return s
        case .failure(let e): throw source.error(.parse, at: t.start + e.offset, end: t.end, e.message)
        }
    }

    // MARK: Selectors

    /// `{a="b", c=~"d"}` after an optional metric name.
    mutating func parseSelector(name: String?, start: Int) throws(QueryError) -> VectorSelector {
        _ = try expect(.leftBrace, "\"{\"")
        var name = name
        var matchers: [LabelMatcher] = []
        while current.kind != .rightBrace {
            let t = current
            // A quoted name on its own is the metric name (Prometheus 3: {"my.metric", job="x"}).
            if t.kind == .string, nextToken.kind == .comma || nextToken.kind == .rightBrace {
                advance()
                guard name == nil else { throw error("metric name must not be set twice", at: t) }
                name = try stringValue(t)
            } else {
                let labelName: String
                if t.kind == .string {
                    labelName = try stringValue(t)
                } else if t.kind == .identifier, !text(t).utf8.contains(UInt8(ascii: ":")) {
                    labelName = text(t)
                } else {
                    throw unexpected(t, expected: "a label matcher")
                }
                advance()
                let opToken = current
                let op: LabelMatcher.Op
                switch opToken.kind {
                case .assign: op = .equal
                case .notEqual: op = .notEqual
                case .regexMatch: op = .regexMatch
                case .regexNoMatch: op = .regexNoMatch
                case .equal: throw error("unexpected \"==\" in label matcher — expected \"=\", \"!=\", \"=~\" or \"!~\"", at: opToken)
                default: throw unexpected(opToken, expected: "a matching operator (=, !=, =~, !~)")
                }
                advance()
                let valueToken = current
                guard valueToken.kind == .string else { throw unexpected(valueToken, expected: "a quoted label value") }
                advance()
                let value = try stringValue(valueToken)
                do {
                    matchers.append(try LabelMatcher(name: labelName, op: op, value: value))
                } catch {
                    throw source.error(error.kind == .unsupported ? .unsupported : .parse, at: valueToken.start, end: valueToken.end, "invalid regular expression \(shorten(AST.quote(value))): \(error.message)")
                }
            }
            if current.kind == .comma {
                advance()
            } else if current.kind != .rightBrace {
                throw unexpected(current, expected: "\",\" or \"}\"")
            }
        }
        let close = advance()
        return try makeSelector(name: name, matchers: matchers, range: start..<close.end)
    }

    func makeSelector(name: String?, matchers: [LabelMatcher], range: Range<Int>) throws(QueryError) -> VectorSelector {
        var all = matchers
        var name = name
        if let given = name {
            if matchers.contains(where: { $0.name == Labels.metricName }) {
                throw error("metric name must not be set twice: \"\(shorten(given))\" and a __name__ matcher", at: range, kind: .parse)
            }
            do { all.insert(try LabelMatcher(name: Labels.metricName, op: .equal, value: given), at: 0) } catch {}
        } else if let m = matchers.first(where: { $0.name == Labels.metricName && $0.op == .equal }) {
            name = m.value
        }
        guard all.contains(where: { !$0.matchesEmpty }) else {
            throw error("vector selector must contain at least one non-empty matcher", at: range, kind: .parse)
        }
        return VectorSelector(name: name, matchers: all, offset: 0, at: nil, position: range)
    }

    // MARK: Calls and aggregations

    mutating func parseCall(_ function: FunctionSignature) throws(QueryError) -> Node {
        let nameToken = advance()
        try enter(nameToken)
        defer { depth -= 1 }
        _ = try expect(.leftParen, "\"(\"")
        var args: [Node] = []
        if current.kind != .rightParen {
            while true {
                args.append(try parseExpression(minPrecedence: 1))
                if current.kind == .comma {
                    advance()
                    continue
                }
                if current.kind == .rightParen { break }
                throw unexpected(current, expected: "\",\" or \")\" in the arguments of \(function.name)()")
            }
        }
        let close = advance()
        let position = nameToken.start..<close.end
        let required = function.variadic < 0 ? function.argTypes.count - 1 : function.argTypes.count - function.variadic
        let maximum = function.variadic < 0 ? Int.max : function.argTypes.count
        if args.count < required || args.count > maximum {
            let expected = required == maximum ? "\(required)" : maximum == Int.max ? "at least \(required)" : "\(required) to \(maximum)"
            throw error("wrong number of arguments for function \(function.name)(): expected \(expected), got \(args.count)", at: position, kind: .type)
        }
        for (i, arg) in args.enumerated() {
            let wanted = function.argTypes[min(i, function.argTypes.count - 1)]
            if arg.expr.type != wanted {
                throw error("expected type \(wanted) in call to function \"\(function.name)\", got \(arg.expr.type)", at: arg.expr.position, kind: .type)
            }
        }
        try checkLabelArguments(function, args.map(\.expr))
        let height = (args.map(\.height).max() ?? 0) + 1
        try checkHeight(height, position)
        return (.call(Call(function: function, args: args.map(\.expr), position: position)), height)
    }

    /// `label_replace`/`label_join` arguments that are wrong whatever the data: an invalid
    /// destination label name or regular expression is reported where it is written.
    func checkLabelArguments(_ function: FunctionSignature, _ args: [Expr]) throws(QueryError) {
        guard function.name == "label_replace" || function.name == "label_join" else { return }
        if case .string(let destination) = args[1].unparenthesized, destination.value.isEmpty {
            throw error("invalid destination label name \(AST.quote(destination.value)) in \(function.name)()", at: destination.position, kind: .type)
        }
        guard function.name == "label_replace", case .string(let pattern) = args[4].unparenthesized else { return }
        do {
            _ = try RegularExpression(pattern.value, options: .prometheus)
        } catch {
            throw self.error("invalid regular expression in label_replace(): \(error.message)", at: pattern.position, kind: error.kind == .unsupported ? .unsupported : .parse)
        }
    }

    mutating func parseAggregation(_ op: AggregationOp) throws(QueryError) -> Node {
        let opToken = advance()
        try enter(opToken)
        defer { depth -= 1 }
        var grouping: [String] = []
        var without = false
        var hasGrouping = false
        if isWord(current, "by") || isWord(current, "without") {
            without = isWord(current, "without")
            advance()
            grouping = try parseLabelList("a label name in the grouping")
            hasGrouping = true
        }
        _ = try expect(.leftParen, "\"(\" after \(op.rawValue)")
        var args: [Node] = []
        while true {
            args.append(try parseExpression(minPrecedence: 1))
            if current.kind == .comma {
                advance()
                if current.kind == .rightParen { break }
                continue
            }
            if current.kind == .rightParen { break }
            throw unexpected(current, expected: "\",\" or \")\" in \(op.rawValue)(…)")
        }
        var close = advance()
        if isWord(current, "by") || isWord(current, "without") {
            if hasGrouping { throw error("aggregation grouping may not be given twice", at: current) }
            without = isWord(current, "without")
            advance()
            grouping = try parseLabelList("a label name in the grouping")
            close = tokens[index - 1]
        }
        let position = opToken.start..<close.end
        let wanted = op.parameterType == nil ? 1 : 2
        guard args.count == wanted else {
            throw error("wrong number of arguments for aggregate expression provided, expected \(wanted), got \(args.count)", at: position, kind: .type)
        }
        let expr = args[args.count - 1]
        if expr.expr.type != .instantVector {
            throw error("expected type instant vector in aggregation expression, got \(expr.expr.type)", at: expr.expr.position, kind: .type)
        }
        var param: Expr? = nil
        if let type = op.parameterType {
            param = args[0].expr
            if args[0].expr.type != type {
                throw error("expected type \(type) in aggregation parameter, got \(args[0].expr.type)", at: args[0].expr.position, kind: .type)
            }
        }
        if op == .countValues, case .string(let s) = param?.unparenthesized, !AST.isPlainLabelName(s.value) || s.value.isEmpty {
            throw error("invalid label name \(AST.quote(s.value)) for count_values", at: s.position, kind: .type)
        }
        let height = (args.map(\.height).max() ?? 0) + 1
        try checkHeight(height, position)
        return (.aggregation(Aggregation(op: op, param: param, expr: expr.expr, grouping: grouping, without: without, position: position)), height)
    }

    /// `(a, b, "c.d")`: label names for grouping and vector matching; keywords are fine as names.
    mutating func parseLabelList(_ what: String) throws(QueryError) -> [String] {
        _ = try expect(.leftParen, "\"(\" before \(what)s")
        var labels: [String] = []
        while current.kind != .rightParen {
            let t = current
            if t.kind == .identifier, AST.isPlainLabelName(text(t)) {
                labels.append(text(t))
            } else if t.kind == .string {
                labels.append(try stringValue(t))
            } else {
                throw unexpected(t, expected: what)
            }
            advance()
            if current.kind == .comma {
                advance()
            } else if current.kind != .rightParen {
                throw unexpected(current, expected: "\",\" or \")\"")
            }
        }
        advance()
        return labels
    }

    // MARK: Binary operators

    mutating func parseBinaryModifiers(_ op: BinaryOp, _ opToken: Token) throws(QueryError) -> (Bool, VectorMatching?) {
        var returnBool = false
        if isWord(current, "bool") {
            guard op.isComparison else { throw error("bool modifier can only be used on comparison operators", at: current, kind: .type) }
            returnBool = true
            advance()
        }
        var matching: VectorMatching? = nil
        if isWord(current, "on") || isWord(current, "ignoring") {
            let on = isWord(current, "on")
            advance()
            let labels = try parseLabelList("a label name to match on")
            matching = VectorMatching(cardinality: op.isSetOperator ? .manyToMany : .oneToOne, labels: labels, on: on, include: [])
        }
        if isWord(current, "group_left") || isWord(current, "group_right") {
            let groupToken = current
            if op.isSetOperator { throw error("no grouping allowed for \"\(op.rawValue)\" operation", at: groupToken, kind: .type) }
            guard matching != nil else {
                throw error("\(text(groupToken)) must follow on(…) or ignoring(…)", at: groupToken)
            }
            advance()
            matching!.cardinality = isWord(groupToken, "group_left") ? .manyToOne : .oneToMany
            if current.kind == .leftParen {
                matching!.include = try parseLabelList("a label name to copy")
            }
            if matching!.on {
                for label in matching!.include where matching!.labels.contains(label) {
                    throw error("label \"\(label)\" must not occur in ON and GROUP clause at once", at: groupToken, kind: .type)
                }
            }
        }
        return (returnBool, matching)
    }

    func makeBinary(_ op: BinaryOp, _ opToken: Token, _ lhs: Node, _ rhs: Node, returnBool: Bool, matching: VectorMatching?) throws(QueryError) -> Node {
        let position = lhs.expr.position.lowerBound..<rhs.expr.position.upperBound
        for side in [lhs.expr, rhs.expr] where side.type != .scalar && side.type != .instantVector {
            throw error("binary expression must contain only scalar and instant vector types, got \(side.type)", at: side.position, kind: .type)
        }
        let bothVectors = lhs.expr.type == .instantVector && rhs.expr.type == .instantVector
        if op.isSetOperator && !bothVectors {
            throw error("set operator \"\(op.rawValue)\" not allowed in binary scalar expression", at: opToken, kind: .type)
        }
        if op.isComparison && !returnBool && lhs.expr.type == .scalar && rhs.expr.type == .scalar {
            throw error("comparisons between scalars must use BOOL modifier", at: opToken, kind: .type)
        }
        var matching = matching
        if matching != nil && !bothVectors {
            throw error("vector matching only allowed between instant vectors", at: opToken, kind: .type)
        }
        if bothVectors && matching == nil {
            matching = VectorMatching(cardinality: op.isSetOperator ? .manyToMany : .oneToOne, labels: [], on: false, include: [])
        }
        let height = max(lhs.height, rhs.height) + 1
        try checkHeight(height, position)
        return (.binary(BinaryOperation(op: op, lhs: lhs.expr, rhs: rhs.expr, matching: matching, returnBool: returnBool, position: position)), height)
    }
}
