import Testing

@testable import RE2

/// Go's `regexp` behaviour, from the tables of its own tests (golang/go src/regexp/find_test.go
/// `findTests` and all_test.go `replaceTests`, `badRe`, `subexpCases`; BSD-3-Clause): find-all
/// with submatches, `ReplaceAllString`, compile errors and group names, all unanchored (`.go`).
@Suite("RE2: Go's regexp tables")
struct GoRegexpTests {
    struct Find: CustomTestStringConvertible, Sendable {
        let pattern: String
        let text: [UInt8]
        let limit: Int
        let matches: [[Int]]
        var testDescription: String { "\(pattern.debugDescription) on \(String(decoding: text.prefix(20), as: UTF8.self).debugDescription)" }

        init(_ pattern: String, _ text: String, _ limit: Int, _ matches: [[Int]]) {
            self.init(pattern, Array(text.utf8), limit, matches)
        }

        init(_ pattern: String, _ text: [UInt8], _ limit: Int, _ matches: [[Int]]) {
            self.pattern = pattern
            self.text = text
            self.limit = limit
            self.matches = matches
        }
    }

    /// `n` matches of `x.count / n` slots each (Go's `build`).
    static func build(_ n: Int, _ x: Int...) -> [[Int]] {
        let run = x.count / n
        return (0..<n).map { Array(x[($0 * run)..<(($0 + 1) * run)]) }
    }

    static let none: [[Int]] = []

    static let finds: [Find] = [
        Find(#""#, "", -1, build(1, 0, 0)),
        Find(#"^abcdefg"#, "abcdefg", -1, build(1, 0, 7)),
        Find(#"a+"#, "baaab", -1, build(1, 1, 4)),
        Find(#"a"#, "bababaab", -1, build(4, 1, 2, 3, 4, 5, 6, 6, 7)),
        Find(#"a"#, "bababaab", 0, none),
        Find(#"a"#, "bababaab", 1, build(1, 1, 2)),
        Find(#"a"#, "bababaab", 2, build(2, 1, 2, 3, 4)),
        Find(#"a"#, "bababaab", 3, build(3, 1, 2, 3, 4, 5, 6)),
        Find(#"a"#, "bababaab", 4, build(4, 1, 2, 3, 4, 5, 6, 6, 7)),
        Find(#"a"#, "bababaab", 5, build(4, 1, 2, 3, 4, 5, 6, 6, 7)),
        Find("abcd..", "abcdef", -1, build(1, 0, 6)),
        Find(#"a"#, "a", -1, build(1, 0, 1)),
        Find(#"x"#, "y", -1, none),
        Find(#"b"#, "abc", -1, build(1, 1, 2)),
        Find(#"."#, "a", -1, build(1, 0, 1)),
        Find(#".*"#, "abcdef", -1, build(1, 0, 6)),
        Find(#"^"#, "abcde", -1, build(1, 0, 0)),
        Find(#"$"#, "abcde", -1, build(1, 5, 5)),
        Find(#"^abcd$"#, "abcd", -1, build(1, 0, 4)),
        Find(#"^bcd'"#, "abcdef", -1, none),
        Find(#"^abcd$"#, "abcde", -1, none),
        Find(#"a*"#, "baaab", -1, build(3, 0, 0, 1, 4, 5, 5)),
        Find(#"[a-z]+"#, "abcd", -1, build(1, 0, 4)),
        Find(#"[^a-z]+"#, "ab1234cd", -1, build(1, 2, 6)),
        Find(#"[a\-\]z]+"#, "az]-bcz", -1, build(2, 0, 4, 6, 7)),
        Find(#"[^\n]+"#, "abcd\n", -1, build(1, 0, 4)),
        Find(#"[日本語]+"#, "日本語日本語", -1, build(1, 0, 18)),
        Find(#"日本語+"#, "日本語", -1, build(1, 0, 9)),
        Find(#"日本語+"#, "日本語語語語", -1, build(1, 0, 18)),
        Find(#"()"#, "", -1, build(1, 0, 0, 0, 0)),
        Find(#"(a)"#, "a", -1, build(1, 0, 1, 0, 1)),
        Find(#"(.)(.)"#, "日a", -1, build(1, 0, 4, 0, 3, 3, 4)),
        Find(#"(.*)"#, "", -1, build(1, 0, 0, 0, 0)),
        Find(#"(.*)"#, "abcd", -1, build(1, 0, 4, 0, 4)),
        Find(#"(..)(..)"#, "abcd", -1, build(1, 0, 4, 0, 2, 2, 4)),
        Find(#"(([^xyz]*)(d))"#, "abcd", -1, build(1, 0, 4, 0, 4, 0, 3, 3, 4)),
        Find(#"((a|b|c)*(d))"#, "abcd", -1, build(1, 0, 4, 0, 4, 2, 3, 3, 4)),
        Find(#"(((a|b|c)*)(d))"#, "abcd", -1, build(1, 0, 4, 0, 4, 0, 3, 2, 3, 3, 4)),
        Find(#"\a\f\n\r\t\v"#, "\u{07}\u{0C}\n\r\t\u{0B}", -1, build(1, 0, 6)),
        Find(#"[\a\f\n\r\t\v]+"#, "\u{07}\u{0C}\n\r\t\u{0B}", -1, build(1, 0, 6)),
        Find(#"a*(|(b))c*"#, "aacc", -1, build(1, 0, 4, 2, 2, -1, -1)),
        Find(#"(.*).*"#, "ab", -1, build(1, 0, 2, 0, 2)),
        Find(#"[.]"#, ".", -1, build(1, 0, 1)),
        Find(#"/$"#, "/abc/", -1, build(1, 4, 5)),
        Find(#"/$"#, "/abc", -1, none),
        Find(#"."#, "abc", -1, build(3, 0, 1, 1, 2, 2, 3)),
        Find(#"(.)"#, "abc", -1, build(3, 0, 1, 0, 1, 1, 2, 1, 2, 2, 3, 2, 3)),
        Find(#".(.)"#, "abcd", -1, build(2, 0, 2, 1, 2, 2, 4, 3, 4)),
        Find(#"ab*"#, "abbaab", -1, build(3, 0, 3, 3, 4, 4, 6)),
        Find(#"a(b*)"#, "abbaab", -1, build(3, 0, 3, 1, 3, 3, 4, 4, 4, 4, 6, 5, 6)),
        Find(#"ab$"#, "cab", -1, build(1, 1, 3)),
        Find(#"axxb$"#, "axxcb", -1, none),
        Find(#"data"#, "daXY data", -1, build(1, 5, 9)),
        Find(#"da(.)a$"#, "daXY data", -1, build(1, 5, 9, 7, 8)),
        Find(#"zx+"#, "zzx", -1, build(1, 1, 3)),
        Find(#"ab$"#, "abcab", -1, build(1, 3, 5)),
        Find(#"(aa)*$"#, "a", -1, build(1, 1, 1, -1, -1)),
        Find(#"(?:.|(?:.a))"#, "", -1, none),
        Find(#"(?:A(?:A|a))"#, "Aa", -1, build(1, 0, 2)),
        Find(#"(?:A|(?:A|a))"#, "a", -1, build(1, 0, 1)),
        Find(#"(a){0}"#, "", -1, build(1, 0, 0, -1, -1)),
        Find(#"(?-s)(?:(?:^).)"#, "\n", -1, none),
        Find(#"(?s)(?:(?:^).)"#, "\n", -1, build(1, 0, 1)),
        Find(#"(?:(?:^).)"#, "\n", -1, none),
        Find(#"\b"#, "x", -1, build(2, 0, 0, 1, 1)),
        Find(#"\b"#, "xx", -1, build(2, 0, 0, 2, 2)),
        Find(#"\b"#, "x y", -1, build(4, 0, 0, 1, 1, 2, 2, 3, 3)),
        Find(#"\b"#, "xx yy", -1, build(4, 0, 0, 2, 2, 3, 3, 5, 5)),
        Find(#"\B"#, "x", -1, none),
        Find(#"\B"#, "xx", -1, build(1, 1, 1)),
        Find(#"\B"#, "x y", -1, none),
        Find(#"\B"#, "xx yy", -1, build(2, 1, 1, 4, 4)),
        Find(#"(|a)*"#, "aa", -1, build(3, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2)),
        Find(#"0A|0[aA]"#, "0a", -1, build(1, 0, 2)),
        Find(#"0[aA]|0A"#, "0a", -1, build(1, 0, 2)),
        // Never a match inside a multi-byte scalar.
        Find("[a-c]*", "\u{65e5}", -1, build(2, 0, 0, 3, 3)),
        Find("[^\u{65e5}]", "abc\u{65e5}def", -1, build(6, 0, 1, 1, 2, 2, 3, 6, 7, 7, 8, 8, 9)),
        Find(#"[^\S\s]"#, "abcd", -1, none),
        Find(#"[^\S[:space:]]"#, "abcd", -1, none),
        Find(#"[^\D\d]"#, "abcd", -1, none),
        Find(#"[^\D[:digit:]]"#, "abcd", -1, none),
        Find(#"(?i)\W"#, "x", -1, none),
        Find(#"(?i)\W"#, "k", -1, none),
        Find(#"(?i)\W"#, "s", -1, none),
        // Any punctuation may be escaped.
        Find(##"\!\"\#\$\%\&\'\(\)\*\+\,\-\.\/\:\;\<\=\>\?\@\[\\\]\^\_\{\|\}\~"##, ##"!"#$%&'()*+,-./:;<=>?@[\]^_{|}~"##, -1, build(1, 0, 31)),
        Find(##"[\!\"\#\$\%\&\'\(\)\*\+\,\-\.\/\:\;\<\=\>\?\@\[\\\]\^\_\{\|\}\~]+"##, ##"!"#$%&'()*+,-./:;<=>?@[\]^_{|}~"##, -1, build(1, 0, 31)),
        Find("\\`", "`", -1, build(1, 0, 1)),
        Find("[\\`]+", "`", -1, build(1, 0, 1)),
        // Invalid UTF-8 reads as U+FFFD, one byte wide.
        Find("\u{fffd}", [0xFF], -1, build(1, 0, 1)),
        Find("\u{fffd}", Array("hello".utf8) + [0xFF] + Array("world".utf8), -1, build(1, 5, 6)),
        Find(#".*"#, Array("hello".utf8) + [0xFF] + Array("world".utf8), -1, build(1, 0, 11)),
        Find(#"\x{fffd}"#, [0xC2, 0x00], -1, build(1, 0, 1)),
        Find("[\u{fffd}]", [0xFF], -1, build(1, 0, 1)),
        Find(#"[\x{fffd}]"#, [0xC2, 0x00], -1, build(1, 0, 1)),
        Find(".", "qwertyuiopasdfghjklzxcvbnm1234567890", -1, (0..<36).map { [$0, $0 + 1] }),
    ]

    @Test("find-all with submatches as Go's FindAllSubmatchIndex", arguments: finds)
    func findAll(_ t: Find) throws {
        let re = try RegularExpression(t.pattern, options: .go)
        let all = re.allMatches(in: t.text, limit: t.limit < 0 ? .max : t.limit)
        let got = all.map { m in m.groups.flatMap { $0.map { [$0.lowerBound, $0.upperBound] } ?? [-1, -1] } }
        #expect(got == t.matches)
        // The Pike VM finds the same first match as the backtracker these short texts get.
        var steps = 0
        let pike = t.text.withUnsafeBufferPointer { re.pikeSearch($0, from: 0, slotCount: 2 * (re.groupCount + 1), steps: &steps) }
        #expect(pike == (re.allMatches(in: t.text, limit: 1).first.map { m in m.groups.flatMap { $0.map { [$0.lowerBound, $0.upperBound] } ?? [-1, -1] } }))
        // The first match, and a yes/no that agrees.
        if t.limit != 0 {
            let first = re.firstMatch(in: t.text).map { m in m.groups.flatMap { $0.map { [$0.lowerBound, $0.upperBound] } ?? [-1, -1] } }
            #expect(first == t.matches.first)
            #expect(re.matches(t.text) == !t.matches.isEmpty)
        }
    }

    struct Replace: CustomTestStringConvertible, Sendable {
        let pattern, replacement, input, output: String
        var testDescription: String { "\(pattern.debugDescription) → \(replacement.debugDescription)" }
        init(_ pattern: String, _ replacement: String, _ input: String, _ output: String) {
            (self.pattern, self.replacement, self.input, self.output) = (pattern, replacement, input, output)
        }
    }

    static let replacements: [Replace] = [
        Replace("", "", "", ""), Replace("", "x", "", "x"), Replace("", "", "abc", "abc"), Replace("", "x", "abc", "xaxbxcx"),
        Replace("b", "", "", ""), Replace("b", "x", "", ""), Replace("b", "", "abc", "ac"), Replace("b", "x", "abc", "axc"),
        Replace("y", "", "", ""), Replace("y", "x", "", ""), Replace("y", "", "abc", "abc"), Replace("y", "x", "abc", "abc"),
        Replace("[a-c]*", "x", "\u{65e5}", "x\u{65e5}x"), Replace("[^\u{65e5}]", "x", "abc\u{65e5}def", "xxx\u{65e5}xxx"),
        Replace("^[a-c]*", "x", "abcdabc", "xdabc"), Replace("[a-c]*$", "x", "abcdabc", "abcdx"), Replace("^[a-c]*$", "x", "abcdabc", "abcdabc"),
        Replace("^[a-c]*", "x", "abc", "x"), Replace("[a-c]*$", "x", "abc", "x"), Replace("^[a-c]*$", "x", "abc", "x"),
        Replace("^[a-c]*", "x", "dabce", "xdabce"), Replace("[a-c]*$", "x", "dabce", "dabcex"), Replace("^[a-c]*$", "x", "dabce", "dabce"),
        Replace("^[a-c]*", "x", "", "x"), Replace("[a-c]*$", "x", "", "x"), Replace("^[a-c]*$", "x", "", "x"),
        Replace("^[a-c]+", "x", "abcdabc", "xdabc"), Replace("[a-c]+$", "x", "abcdabc", "abcdx"), Replace("^[a-c]+$", "x", "abcdabc", "abcdabc"),
        Replace("^[a-c]+", "x", "abc", "x"), Replace("[a-c]+$", "x", "abc", "x"), Replace("^[a-c]+$", "x", "abc", "x"),
        Replace("^[a-c]+", "x", "dabce", "dabce"), Replace("[a-c]+$", "x", "dabce", "dabce"), Replace("^[a-c]+$", "x", "dabce", "dabce"),
        Replace("^[a-c]+", "x", "", ""), Replace("[a-c]+$", "x", "", ""), Replace("^[a-c]+$", "x", "", ""),
        Replace("abc", "def", "abcdefg", "defdefg"), Replace("bc", "BC", "abcbcdcdedef", "aBCBCdcdedef"),
        Replace("abc", "", "abcdabc", "d"), Replace("x", "xXx", "xxxXxxx", "xXxxXxxXxXxXxxXxxXx"),
        Replace("abc", "d", "", ""), Replace("abc", "d", "abc", "d"), Replace(".+", "x", "abc", "x"),
        Replace("[a-c]*", "x", "def", "xdxexfx"), Replace("[a-c]+", "x", "abcbcdcdedef", "xdxdedef"),
        Replace("[a-c]*", "x", "abcbcdcdedef", "xdxdxexdxexfx"),
        Replace("a+", "($0)", "banana", "b(a)n(a)n(a)"), Replace("a+", "(${0})", "banana", "b(a)n(a)n(a)"),
        Replace("a+", "(${0})$0", "banana", "b(a)an(a)an(a)a"),
        Replace("hello, (.+)", "goodbye, ${1}", "hello, world", "goodbye, world"),
        Replace("hello, (.+)", "goodbye, $1x", "hello, world", "goodbye, "),
        Replace("hello, (.+)", "goodbye, ${1}x", "hello, world", "goodbye, worldx"),
        Replace("hello, (.+)", "<$0><$1><$2><$3>", "hello, world", "<hello, world><world><><>"),
        Replace("hello, (?P<noun>.+)", "goodbye, $noun!", "hello, world", "goodbye, world!"),
        Replace("hello, (?P<noun>.+)", "goodbye, ${noun}", "hello, world", "goodbye, world"),
        Replace("(?P<x>hi)|(?P<x>bye)", "$x$x$x", "hi", "hihihi"), Replace("(?P<x>hi)|(?P<x>bye)", "$x$x$x", "bye", "byebyebye"),
        Replace("(?P<x>hi)|(?P<x>bye)", "$xyz", "hi", ""), Replace("(?P<x>hi)|(?P<x>bye)", "${x}yz", "hi", "hiyz"),
        Replace("(?P<x>hi)|(?P<x>bye)", "hello $$x", "hi", "hello $x"),
        Replace("a+", "${oops", "aaa", "${oops"), Replace("a+", "$$", "aaa", "$"), Replace("a+", "$", "aaa", "$"),
        Replace("(x)?", "$1", "123", "123"), Replace("abc", "$1", "123", "123"),
        Replace("(a)(b){0}(c)", ".$1|$3.", "xacxacx", "x.a|c.x.a|c.x"), Replace("(a)(((b))){0}c", ".$1.", "xacxacx", "x.a.x.a.x"),
        Replace("((a(b){0}){3}){5}(h)", "y caramb$2", "say aaaaaaaaaaaaaaaah", "say ay caramba"),
        Replace("((a(b){0}){3}){5}h", "y caramb$2", "say aaaaaaaaaaaaaaaah", "say ay caramba"),
        // Prometheus's reReplaceAll as rule templates use it.
        Replace("(.*):.*", "$1", "host:9100", "host"), Replace("_", " ", "node_cpu_seconds", "node cpu seconds"),
    ]

    @Test("replacingAll as Go's ReplaceAllString", arguments: replacements)
    func replaceAll(_ t: Replace) throws {
        let re = try RegularExpression(t.pattern, options: .go)
        #expect(re.replacingAll(in: t.input, with: t.replacement) == t.output)
    }

    /// Go's compile errors, word for word (after its `error parsing regexp: ` prefix).
    static let errors: [(String, String)] = [
        ("*", "missing argument to repetition operator: `*`"), ("+", "missing argument to repetition operator: `+`"),
        ("?", "missing argument to repetition operator: `?`"), ("(abc", "missing closing ): `(abc`"),
        ("abc)", "unexpected ): `abc)`"), ("x[a-z", "missing closing ]: `[a-z`"), ("[z-a]", "invalid character class range: `z-a`"),
        ("abc\\", "trailing backslash at end of expression: ``"), ("a**", "invalid nested repetition operator: `**`"),
        ("a*+", "invalid nested repetition operator: `*+`"), ("\\x", "invalid escape sequence: `\\x`"),
        ("(?=x)", "invalid or unsupported Perl syntax: `(?=`"), ("(?!x)", "invalid or unsupported Perl syntax: `(?!`"),
        ("(?<=x)y", "invalid named capture: `(?<=x)y`"), ("(?>x)", "invalid or unsupported Perl syntax: `(?>`"),
        ("(a)\\1", "invalid escape sequence: `\\1`"), ("\\Z", "invalid escape sequence: `\\Z`"), ("\\C", "invalid escape sequence: `\\C`"),
        ("a{1001}", "invalid repeat count: `{1001}`"), ("(a{500}){3}", "invalid repeat count: `{3}`"), ("a{2,1}", "invalid repeat count: `{2,1}`"),
        ("[[:foo:]]", "invalid character class range: `[:foo:]`"), ("\\pX", "invalid character class range: `\\pX`"),
        ("(?P<n!>x)", "invalid named capture: `(?P<n!>`"), ("(?P=n)", "invalid or unsupported Perl syntax: `(?P`"), ("(?i", "invalid or unsupported Perl syntax: `(?i`"),
        ("(?-)", "invalid or unsupported Perl syntax: `(?-)`"), ("\\8", "invalid escape sequence: `\\8`"), ("\\q", "invalid escape sequence: `\\q`"),
    ]

    @Test func compileErrorsAreGos() {
        for (pattern, message) in Self.errors {
            do {
                _ = try RegularExpression(pattern, options: .go)
                Issue.record("\(pattern) compiled")
            } catch {
                #expect(error.message == message, "\(pattern)")
            }
        }
    }

    @Test func groupNamesAndIndicesAreGos() throws {
        let re = try RegularExpression("(?P<foo>.*)(?P<bar>(a)b)(?P<foo>.*)a", options: .go)
        #expect(re.groupCount == 4)
        #expect(re.groupNames == [nil, "foo", "bar", nil, "foo"])
        #expect(re.groupIndex(named: "foo") == 1)
        #expect(re.groupIndex(named: "bar") == 2)
        #expect(re.groupIndex(named: "missing") == nil)
        #expect(try RegularExpression(#"(.*)(\(a\)b)(.*)a"#, options: .go).groupCount == 3)
        #expect(try RegularExpression("abba", options: .go).groupNames == [nil])
    }
}
