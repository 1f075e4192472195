import Testing
@testable import RE2

@Suite("RE2: anchored matching")
struct RegularExpressionTests {
    /// (pattern, input, matches) — whole-input matching as Prometheus does.
    static let cases: [(String, String, Bool)] = [
        ("foo", "foo", true), ("foo", "foobar", false), ("foo", "xfoo", false),
        ("fo+", "fooo", true), ("fo+", "f", false), ("fo*", "f", true),
        ("a|b|c", "b", true), ("a|b|c", "d", false), ("a|b|c", "ab", false),
        (".*", "", true), (".*", "anything\nat all", true), (".+", "", false), (".+", "x", true),
        ("foo.*", "foobar", true), ("foo.*", "barfoo", false),
        (".*foo", "barfoo", true), (".*foo", "foobar", false),
        (".*foo.*", "a foo b", true), (".*foo.*", "a fo b", false),
        ("5..", "503", true), ("5..", "200", false), ("5..", "5033", false),
        ("[a-c]+", "abcabc", true), ("[a-c]+", "abd", false), ("[^a-c]+", "xyz", true), ("[^a-c]+", "xaz", false),
        ("[]a]", "]", true), ("[a-]", "-", true),
        ("\\d{3}", "123", true), ("\\d{3}", "12", false), ("\\d{2,3}", "1234", false), ("\\d{2,}", "12345", true),
        ("\\w+", "abc_1", true), ("\\W", "a", false), ("\\s", " ", true), ("\\S+", "a b", false),
        ("(?i)foo", "FoO", true), ("(?i:f)oo", "Foo", true), ("(?i:f)oo", "FOO", false),
        ("[[:alpha:]]+", "abcXYZ", true), ("[[:digit:]]", "a", false), ("[[:^digit:]]", "a", true),
        ("a.c", "a\nc", true),  // Prometheus compiles with (?s)
        ("(?-s)a.c", "a\nc", false),
        ("^foo$", "foo", true), ("a^b", "ab", false), ("(?m)a$\\n^b", "a\nb", true),
        ("\\bfoo\\b", "foo", true),
        ("(a|ab)(c|bcd)(d*)", "abcd", true),
        ("(a*)*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", true),
        ("(a*)*b", String(repeating: "a", count: 5000), false),
        ("(x+x+)+y", String(repeating: "x", count: 5000), false),
        ("\\p{L}+", "héllo", true), ("\\pN", "7", true), ("\\p{Lu}", "a", false), ("\\PL", "1", true),
        ("é.", "éa", true), ("..", "éa", true), ("[α-ω]+", "λόγος", false), ("[α-ω]+", "λογ", true),
        ("\\x41\\x{42}", "AB", true), ("\\Qa.b\\E", "a.b", true), ("\\Qa.b\\E", "axb", false),
        ("a{0}", "", true), ("(?:ab)?c", "c", true), ("(?P<name>a)b", "ab", true), ("(?<n>a)b", "ab", true),
        ("a*?b", "aab", true), ("", "", true), ("", "a", false), ("a|", "", true),
        ("\\.", ".", true), ("\\.", "a", false), ("a{,2}", "a{,2}", true),
        ("api|web-[0-9]+", "web-12", true), ("api|web-[0-9]+", "web-", false),
        // The rest of what docs/query.md lists as accepted.
        ("\\p{^L}", "1", true), ("\\p{^L}", "a", false), ("\\p{Any}+", "x\n", true), ("(?U)(a+)", "aaa", true),
        ("\\101", "A", true), ("\\Aab\\z", "ab", true), ("a\\Bb", "ab", true), ("\\f\\v\\a\\r", "\u{0C}\u{0B}\u{07}\r", true),
        ("[\\x{0370}-\\x{03FF}]+", "λόγος", true), ("(?i)ǅ", "ǆ", true), ("(?is:A.)b", "a\nb", true),
        ("\\p{Letter}\\p{uppercase letter}", "aB", true), ("\\p{ASCII}+", "é", false), ("\\p{Assigned}", "\u{0378}", false),
    ]

    @Test("patterns match whole inputs", arguments: cases)
    func matching(_ pattern: String, _ input: String, _ expected: Bool) throws {
        let regex = try RegularExpression(pattern)
        #expect(regex.matches(Array(input.utf8)) == expected, "\(pattern) ~ \(input.prefix(30))")
    }

    /// A pattern that must not compile, described by its first 40 characters.
    struct Rejected: CustomTestStringConvertible, Sendable {
        let pattern: String
        let kind: RegularExpressionError.Kind
        var testDescription: String { String(pattern.prefix(40)) + (pattern.count > 40 ? "… (\(pattern.count) characters)" : "") }
    }

    static let rejected: [Rejected] = ([
        ("(", .syntax), (")", .syntax), ("[a", .syntax), ("*a", .syntax), ("a**", .syntax), ("a*+", .unsupported),
        ("(?=a)", .unsupported), ("(?!a)", .unsupported), ("(?<=a)b", .unsupported), ("(?<!a)b", .unsupported),
        ("(?>a)", .unsupported), ("(a)\\1", .unsupported), ("\\p{Greek}", .unsupported), ("\\C", .unsupported),
        ("a{1001}", .limit), ("(a{1000}){1000}", .limit), ("[z-a]", .syntax), ("\\", .syntax), ("\\q", .syntax),
        (String(repeating: "(", count: 500) + String(repeating: ")", count: 500), .limit),
        ("(?P=name)", .unsupported), ("\\x{110000}", .syntax), (String(repeating: "[a-z]{1000}", count: 60), .limit),
        (String(repeating: "(a?)", count: 3_000), .limit),  // 3 000 groups × 3 000 threads of slots
    ] as [(String, RegularExpressionError.Kind)]).map { Rejected(pattern: $0.0, kind: $0.1) }

    @Test("RE2-incompatible and oversized patterns are rejected", arguments: rejected)
    func rejection(_ r: Rejected) {
        do {
            _ = try RegularExpression(r.pattern)
            Issue.record("accepted \(r.testDescription)")
        } catch {
            #expect(error.kind == r.kind, "\(r.testDescription): \(error.message.prefix(200))")
        }
    }
}

/// The byte-comparing shortcuts must answer exactly as the VM does.
@Suite("RE2: shortcuts agree with the VM")
struct FastPathTests {
    static let patterns = [
        "api-.*", ".*-prod", ".*db.*", ".*", ".+", "a|b", "x.*", ".*x", "", "a|", "critical|high|", "(?s).*", "(?s:.*)x",
        "(foo)", "foo|foo|bar", "(?s).+", "a\\.b", "日本.*", ".*語", "\\Qa.b\\E", "(?-s).*x.*", "(?s).*x.*",
    ]
    static let inputs = [
        "", "api-1", "api-", "my-api-1", "db-prod", "prod", "x-db-y", "db", "a", "b", "ab", "x", "xx", "line\nbreak",
        "api-\n1", "日本-prod", "日本語", "critical", "high", "crit", "foo", "bar", "a.b", "axb", "\nx", "x\n",
    ]

    @Test(arguments: [RegularExpression.Options.prometheus, .alertmanager, .go])
    func shortcutsAnswerAsTheVMDoes(_ options: RegularExpression.Options) throws {
        var answered = 0
        for pattern in Self.patterns {
            let re = try RegularExpression(pattern, options: options)
            for input in Self.inputs {
                let bytes = Array(input.utf8)
                let fast = bytes.withUnsafeBufferPointer { re.fast.matches($0) }
                var steps = 0
                let vm = bytes.withUnsafeBufferPointer { re.runBoolean($0, steps: &steps) }
                if let fast {
                    answered += 1
                    #expect(fast == vm, "\(pattern) on \(input.debugDescription)")
                }
                #expect((re.firstMatch(in: bytes) != nil) == vm, "search \(pattern) on \(input.debugDescription)")
            }
        }
        #expect(answered > 0)
    }

    @Test func alertmanagerDotsStopAtNewlinesAndPrometheusDotsDoNot() throws {
        #expect(try RegularExpression("api.*", options: .prometheus).matches("api-\n1"))
        #expect(!(try RegularExpression("api.*", options: .alertmanager).matches("api-\n1")))
        #expect(!(try RegularExpression("api.*", options: .go).matches("x\n")))
        #expect(try RegularExpression("api.*", options: .go).matches("my api"))
    }
}

/// Case-insensitive matching folds as Go's `unicode.SimpleFold` orbits do.
@Suite("RE2: case folding")
struct CaseFoldingTests {
    @Test func orbitsIncludeTheOddMembers() {
        #expect(Set(CaseFolding.orbit(of: 0x6B)) == [0x4B, 0x6B, 0x212A])  // k K Kelvin
        #expect(Set(CaseFolding.orbit(of: 0x212A)) == [0x4B, 0x6B, 0x212A])
        #expect(Set(CaseFolding.orbit(of: 0x3C3)) == [0x3A3, 0x3C3, 0x3C2])  // σ Σ ς
        #expect(Set(CaseFolding.orbit(of: 0x131)) == [0x131])  // dotless ı folds with nothing
        #expect(Set(CaseFolding.orbit(of: 0x49)) == [0x49, 0x69])  // I i, not ı
        #expect(Set(CaseFolding.orbit(of: 0xDF)) == [0xDF, 0x1E9E])  // ß ẞ
        #expect(CaseFolding.orbit(of: 0x31) == [0x31])
    }

    @Test func caseInsensitivePatterns() throws {
        #expect(try RegularExpression("(?i)k").matches("\u{212A}"))
        #expect(try RegularExpression("(?i)[a-z]+").matches("HeLLo"))
        #expect(try RegularExpression("(?i)σ+").matches("ΣσςΣ"))
        #expect(!(try RegularExpression("(?i)[^k]").matches("\u{212A}")))
        #expect(try RegularExpression("(?i)\\p{Lu}").matches("a"))
        #expect(!(try RegularExpression("\\p{Lu}").matches("a")))
        #expect(try RegularExpression("(?i)é").matches("É"))
        #expect(!(try RegularExpression("(?i)i").matches("ı")))
    }
}

/// Classes: Perl, POSIX and Unicode names, negations and unions inside one class.
@Suite("RE2: classes")
struct ClassTests {
    static let cases: [(String, String, Bool)] = [
        ("[\\PL]", "a", false), ("[\\PL]", "1", true), ("[\\pL\\d]+", "ab12", true), ("[^\\pL]", "é", false),
        ("[\\P{Lu}x]", "A", false), ("[\\P{Lu}x]", "a", true), ("\\p{^L}", "1", true), ("\\P{^L}", "a", true),
        ("\\pN", "٣", true), ("\\p{Nd}", "Ⅻ", false), ("\\p{N}", "Ⅻ", true), ("\\p{Any}", "\u{10FFFF}", true),
        ("\\p{ASCII}+", "abc~", true), ("\\p{ASCII}", "é", false), ("\\p{Assigned}", "\u{378}", false), ("\\p{Assigned}", "a", true),
        ("\\p{Letter}+", "héllo", true), ("\\p{Uppercase_Letter}", "A", true), ("\\p{LC}", "ǅ", true),
        ("[[:^alpha:][:digit:]]+", "1-2", true), ("[[:word:]]+", "a_1", true), ("[\\d\\D]", "\n", true),
        ("\\S+", "a\u{00A0}b", true), ("\\s", "\u{00A0}", false), ("\\w", "é", false), ("[\\s\\S]", "\n", true),
        ("[^a]", "\n", true), ("(?-s).", "\n", false), ("\\x{1F600}", "😀", true), ("[😀-😂]", "😁", true),
        ("\\141\\060\\0600", "a000", true), ("\\608", "08", true), ("[a-\\x{10FFFF}]", "\u{10FFFF}", true),
    ]

    @Test func classesMatchAsRE2Does() throws {
        for (pattern, input, expected) in Self.cases {
            #expect(try RegularExpression(pattern).matches(input) == expected, "\(pattern) ~ \(input.debugDescription)")
        }
    }
}
