import Testing
@testable import Query

@Suite("Parser")
struct ParserTests {
    /// Expressions and how they print back: precedence, associativity and modifiers made visible.
    static let roundTrips: [(String, String)] = [
        ("1 + 2 * 3", "1 + 2 * 3"),
        ("foo", "foo"),
        ("foo{job=\"api\",}", "foo{job=\"api\"}"),
        ("{__name__=\"foo\"}", "foo"),
        ("{__name__=~\"foo.*\"}", "{__name__=~\"foo.*\"}"),
        ("foo{a!=\"x\", b=~'y.*', c!~`z`}", "foo{a!=\"x\", b=~\"y.*\", c!~\"z\"}"),
        ("rate(http_requests_total[5m])", "rate(http_requests_total[5m])"),
        ("rate(x[1h30m] offset 1d)", "rate(x[1h30m] offset 1d)"),
        ("x offset -5m", "x offset -5m"),
        ("x @ 1700000000", "x @ 1700000000"),
        ("x[5m] @ end()", "x[5m] @ end()"),
        ("sum by (route) (rate(x[5m]))", "sum by (route) (rate(x[5m]))"),
        ("sum(rate(x[5m])) by (route)", "sum by (route) (rate(x[5m]))"),
        ("SUM WITHOUT (instance) (x)", "sum without (instance) (x)"),
        ("topk(3, x)", "topk(3, x)"),
        ("count_values(\"v\", x)", "count_values(\"v\", x)"),
        ("a / on(route) group_left(team) b", "a / on(route) group_left(team) b"),
        ("a + ignoring(x) group_right b", "a + ignoring(x) group_right b"),
        ("a > bool 1", "a > bool 1"),
        ("a and b or c unless d", "a and b or c unless d"),
        ("-2 ^ 2", "-2 ^ 2"),
        ("2 ^ 3 ^ 2", "2 ^ 3 ^ 2"),
        ("- foo", "-foo"),
        ("1.5e3", "1500"),
        ("0x1f", "31"),
        ("Inf", "Inf"),
        ("-inf", "-Inf"),
        ("nan", "NaN"),
        ("5m", "300"),
        ("max_over_time(rate(x[5m])[1h:1m])", "max_over_time(rate(x[5m])[1h:1m])"),
        ("max_over_time(x[1h:])", "max_over_time(x[1h:])"),
        ("label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")", "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")"),
        ("foo # a comment\n + bar", "foo + bar"),
        ("{\"my.metric\", \"label.name\"=\"v\"}", "{\"my.metric\", \"label.name\"=\"v\"}"),
        ("sum by (on, and) (x)", "sum by (on, and) (x)"),
        ("x{on=\"1\"}", "x{on=\"1\"}"),
        ("hour()", "hour()"),
        ("round(x, 0.5)", "round(x, 0.5)"),
        (":node_cpu:rate5m", ":node_cpu:rate5m"),
        ("sum(:a:b{x=\"1\"}) / :c", "sum(:a:b{x=\"1\"}) / :c"),
        ("max_over_time(:a[1h:1m])", "max_over_time(:a[1h:1m])"),
    ]

    @Test("expressions print back in canonical form", arguments: roundTrips)
    func roundTrip(_ input: String, _ expected: String) throws {
        let expr = try PromQL.parse(input)
        #expect(expr.description == expected)
        // The canonical form parses to itself.
        #expect(try PromQL.parse(expr.description).description == expected)
    }

    /// How operators group: the fully parenthesized reading of each expression.
    static let grouping: [(String, String)] = [
        ("a + b * c", "a + (b * c)"),
        ("a * b + c", "(a * b) + c"),
        ("a - b - c", "(a - b) - c"),
        ("a ^ b ^ c", "a ^ (b ^ c)"),
        ("-a ^ b", "-(a ^ b)"),
        ("-a * b", "(-a) * b"),
        ("a or b and c", "a or (b and c)"),
        ("a and b unless c", "(a and b) unless c"),
        ("a > b + c", "a > (b + c)"),
        ("a + b > c or d", "((a + b) > c) or d"),
        ("a % b atan2 c", "(a % b) atan2 c"),
        ("2 ^ -1", "2 ^ -1"),
    ]

    @Test("operators group by PromQL precedence and associativity", arguments: grouping)
    func precedence(_ input: String, _ expected: String) throws {
        #expect(Self.parenthesize(try PromQL.parse(input)) == expected)
    }

    static func parenthesize(_ e: Expr, top: Bool = true) -> String {
        switch e {
        case .binary(let b):
            let s = parenthesize(b.lhs, top: false) + " " + b.op.rawValue + " " + parenthesize(b.rhs, top: false)
            return top ? s : "(" + s + ")"
        case .unary(let u):
            let s = "-" + parenthesize(u.expr, top: false)
            return top ? s : "(" + s + ")"
        default: return e.description
        }
    }

    /// Malformed, mistyped and unsupported expressions, with the exact message users see.
    static let errors: [(String, String)] = [
        ("foo{a=\"b\",)", "1:11: unexpected \")\" — expected a label matcher"),
        ("sum(rate(x[5m])", "1:16: unexpected end of input — expected \",\" or \")\" in sum(…)"),
        ("rate(x)", "1:6: expected type range vector in call to function \"rate\", got instant vector"),
        ("sum(x[5m])", "1:5: expected type instant vector in aggregation expression, got range vector"),
        ("x[5m] + 1", "1:1: binary expression must contain only scalar and instant vector types, got range vector"),
        ("1 > 2", "1:3: comparisons between scalars must use BOOL modifier"),
        ("a + bool b", "1:5: bool modifier can only be used on comparison operators"),
        ("1 and 2", "1:3: set operator \"and\" not allowed in binary scalar expression"),
        ("a and on(x) group_left b", "1:13: no grouping allowed for \"and\" operation"),
        ("1 + on(x) 2", "1:3: vector matching only allowed between instant vectors"),
        ("a * on(x) group_left(x) b", "1:11: label \"x\" must not occur in ON and GROUP clause at once"),
        ("{}", "1:1: vector selector must contain at least one non-empty matcher"),
        ("{a=~\".*\"}", "1:1: vector selector must contain at least one non-empty matcher"),
        ("foo{__name__=\"bar\"}", "1:1: metric name must not be set twice: \"foo\" and a __name__ matcher"),
        ("rate(x[5m] offset 1m [5m])", "1:22: range selector applied twice — a range vector cannot be given another range"),
        ("x offset 1m [5m]", "1:13: no offset modifiers allowed before range — write x[5m] offset 1h"),
        ("rate(x[5m]) offset 1m", "1:13: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
        ("x offset 1m offset 2m", "1:13: offset may not be set multiple times"),
        ("(x)[5m]", "1:4: ranges only allowed for vector selectors — to take a range of an expression use a subquery such as [5m:]"),
        ("x[0s]", "1:3: range must be greater than 0, got 0s"),
        ("x[5m1h]", "1:3: bad duration \"5m1h\" — expected units in decreasing order (e.g. 1h30m) that fit in 292 years"),
        ("x[99999999999999y]", "1:3: bad duration \"99999999999999y\" — expected units in decreasing order (e.g. 1h30m) that fit in 292 years"),
        ("foo(x)", "1:1: unknown function \"foo\""),
        ("histogram_count(x)", "1:1: histogram_count() works on native histograms, which this engine does not store; use histogram_quantile() over classic _bucket series, or quantile_over_time() over a distribution series"),
        ("holt_winters(x[5m], 0.5, 0.5)", "1:1: holt_winters() is not supported; use predict_linear() or deriv() for trends"),
        ("limitk(2, x)", "1:1: limitk is not supported; use topk or bottomk"),
        ("round(x, 1, 2)", "1:1: wrong number of arguments for function round(): expected 1 to 2, got 3"),
        ("label_join(x, \"a\")", "1:1: wrong number of arguments for function label_join(): expected at least 3, got 2"),
        ("x[5m:0s]", "1:6: subquery step must be greater than 0"),
        ("topk(x)", "1:1: wrong number of arguments for aggregate expression provided, expected 2, got 1"),
        ("sum(1, x)", "1:1: wrong number of arguments for aggregate expression provided, expected 1, got 2"),
        ("topk(\"a\", x)", "1:6: expected type scalar in aggregation parameter, got string"),
        ("count_values(\"a-b\", x)", "1:14: invalid label name \"a-b\" for count_values"),
        ("1e999", "1:1: number 1e999 is out of range"),
        ("\"abc", "1:1: unterminated quoted string — expected a closing \" on the same line"),
        ("\"a\\qb\"", "1:3: unknown escape sequence \\q"),
        ("foo{a=~\"(\"}", "1:8: invalid regular expression \"(\": missing closing ): `(`"),
        ("foo{a=~\"(?=x)\"}", "1:8: invalid regular expression \"(?=x)\": invalid or unsupported Perl syntax: `(?=`"),
        ("foo{a=~\"(a)\\\\1\"}", "1:8: invalid regular expression \"(a)\\\\1\": invalid escape sequence: `\\1`"),
        ("foo{a==\"b\"}", "1:6: unexpected \"==\" in label matcher — expected \"=\", \"!=\", \"=~\" or \"!~\""),
        ("foo $ bar", "1:5: unexpected character \"$\""),
        ("foo bar", "1:5: unexpected identifier \"bar\" — expected an operator or the end of the expression"),
        ("", "1:1: empty expression — expected an expression"),
        ("sum", "1:1: unexpected keyword \"sum\" — expected an expression"),
        ("-\"a\"", "1:2: unary expression only allowed on expressions of type scalar or instant vector, got string"),
        ("x @ start", "1:10: unexpected end of input — expected \"(\" after start"),
        ("5x", "1:1: bad number or duration \"5x\""),
        ("label_replace(x, \"a\", \"$1\", \"b\", \"(\")", "1:34: invalid regular expression in label_replace(): missing closing ): `(`"),
        ("label_replace(x, \"\", \"$1\", \"b\", \"(.*)\")", "1:18: invalid destination label name \"\" in label_replace()"),
        ("rate(\n  x[5m]\n  ) + (\n", "4:1: unexpected end of input — expected an expression"),
        ("a +\n  foo{b=\"c\" d=\"e\"}", "2:13: unexpected identifier \"d\" — expected \",\" or \"}\""),
    ]

    @Test("errors name the position and what was expected", arguments: errors)
    func error(_ input: String, _ expected: String) {
        do {
            let e = try PromQL.parse(input)
            Issue.record("parsed \(input) as \(e)")
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test func typeErrorsAndUnsupportedConstructsAreClassified() {
        #expect(#expect(throws: QueryError.self) { try PromQL.parse("rate(x)") }?.kind == .type)
        #expect(#expect(throws: QueryError.self) { try PromQL.parse("holt_winters(x[5m], 0.1, 0.1)") }?.kind == .unsupported)
        #expect(#expect(throws: QueryError.self) { try PromQL.parse("foo{a=~\"(?<=x)y\"}") }?.kind == .unsupported)
    }

    @Test func everyNodeKnowsItsPosition() throws {
        let text = "sum by (a) (rate(foo{b=\"c\"}[5m])) / 2"
        let expr = try PromQL.parse(text)
        guard case .binary(let b) = expr else { Issue.record("not binary"); return }
        func slice(_ r: Range<Int>) -> String { String(decoding: Array(text.utf8)[r], as: UTF8.self) }
        #expect(slice(b.position) == text)
        #expect(slice(b.lhs.position) == "sum by (a) (rate(foo{b=\"c\"}[5m]))")
        #expect(slice(b.rhs.position) == "2")
        guard case .aggregation(let a) = b.lhs, case .call(let c) = a.expr else { Issue.record("shape"); return }
        #expect(slice(c.position) == "rate(foo{b=\"c\"}[5m])")
        #expect(slice(c.args[0].position) == "foo{b=\"c\"}[5m]")
    }

    @Test func errorsMoveIntoTheFileThatHoldsTheExpression() {
        let multiLine = #expect(throws: QueryError.self) { try PromQL.parse("a +\n  foo{b=\"c\" d=\"e\"}") }
        let inFile = multiLine?.located(inFileAtLine: 14, column: 11)
        #expect(inFile?.line == 15 && inFile?.column == 13)
        let typeError = #expect(throws: QueryError.self) { try PromQL.parse("rate(x)") }
        #expect(typeError?.located(inFileAtLine: 3, column: 11).description.hasPrefix("3:16: ") == true)
    }

    // MARK: Hostile input

    @Test func deepNestingIsALimitErrorNotACrash() {
        for depth in [200, 5_000, 100_000] {
            let text = String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth)
            do {
                _ = try PromQL.parse(text)
                Issue.record("depth \(depth) accepted")
            } catch {
                #expect(error.kind == .limit)
            }
        }
        // Long flat chains build deep trees too.
        let chain = Array(repeating: "x", count: 10_000).joined(separator: " + ")
        #expect(throws: QueryError.self) { try PromQL.parse(chain) }
        let calls = String(repeating: "abs(", count: 1_000) + "x" + String(repeating: ")", count: 1_000)
        #expect(throws: QueryError.self) { try PromQL.parse(calls) }
        let unary = String(repeating: "-", count: 100_000) + "x"
        #expect(throws: QueryError.self) { try PromQL.parse(unary) }
    }

    @Test func moderateNestingIsFine() throws {
        let text = String(repeating: "(", count: 50) + "1" + String(repeating: ")", count: 50)
        #expect(try PromQL.parse(text).type == .scalar)
        let chain = Array(repeating: "x", count: 100).joined(separator: " or ")
        #expect(try PromQL.parse(chain).type == .instantVector)
    }

    @Test func invalidUTF8IsRejectedWithItsPosition() {
        let bytes: [UInt8] = Array("foo{a=\"".utf8) + [0xFF, 0xFE] + Array("\"}".utf8)
        do {
            _ = try PromQL.parse(utf8: bytes)
            Issue.record("accepted")
        } catch {
            #expect(error.description == "1:8: invalid UTF-8 byte 0xFF")
        }
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            #expect(throws: QueryError.self) { try PromQL.parse(utf8: Array("x{a=\"".utf8) + bad + Array("\"}".utf8)) }
        }
        // Escapes that decode to invalid UTF-8 are refused too.
        #expect(throws: QueryError.self) { try PromQL.parse("x{a=\"\\xff\"}") }
    }

    @Test func hugeAndOddNumbers() throws {
        #expect(throws: QueryError.self) { try PromQL.parse("1e400") }
        #expect(throws: QueryError.self) { try PromQL.parse("0xFFFFFFFFFFFFFFFFFFFF") }
        #expect(try PromQL.parse("1e308").description == "1" + String(repeating: "0", count: 308))
        #expect(try PromQL.parse("010").description == "8")  // Go's octal, as Prometheus reads it
        #expect(try PromQL.parse(".5").description == "0.5")
        #expect(throws: QueryError.self) { try PromQL.parse("x @ 1e300") }
        #expect(throws: QueryError.self) { try PromQL.parse("x[1e300]") }
    }

    @Test func hugeInputIsALimitError() {
        let text = "x{a=\"" + String(repeating: "a", count: PromQL.maxExpressionBytes) + "\"}"
        #expect(#expect(throws: QueryError.self) { try PromQL.parse(text) }?.kind == .limit)
    }

    @Test func randomGarbageNeverCrashes() {
        var generator = SplitMix(seed: 42)
        let alphabet = Array("abc{}()[]=~!\"'`,:;@+-*/%^<>0123456789.eEx_ \n#\\by on offset sum rate".utf8) + [0xFF, 0xC3]
        for _ in 0..<3000 {
            let length = Int(generator.next() % 40)
            var bytes: [UInt8] = []
            for _ in 0..<length { bytes.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            _ = try? PromQL.parse(utf8: bytes)
        }
    }
}

/// A tiny deterministic generator for fuzz-style tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
