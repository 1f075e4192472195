import Testing
@testable import Query

@Suite("Regex")
struct AnchoredRegexTests {
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
    ]

    @Test("patterns match whole inputs", arguments: cases)
    func matching(_ pattern: String, _ input: String, _ expected: Bool) throws {
        let regex = try AnchoredRegex(pattern)
        #expect(regex.matches(Array(input.utf8)) == expected, "\(pattern) ~ \(input.prefix(30))")
    }

    static let rejected: [(String, RegexError.Kind)] = [
        ("(", .syntax), (")", .syntax), ("[a", .syntax), ("*a", .syntax), ("a**", .syntax), ("a*+", .syntax),
        ("(?=a)", .unsupported), ("(?!a)", .unsupported), ("(?<=a)b", .unsupported), ("(?<!a)b", .unsupported),
        ("(?>a)", .unsupported), ("(a)\\1", .unsupported), ("\\p{Greek}", .unsupported), ("\\C", .unsupported),
        ("a{1001}", .limit), ("(a{1000}){1000}", .limit), ("[z-a]", .syntax), ("\\", .syntax), ("\\q", .syntax),
        (String(repeating: "(", count: 500) + String(repeating: ")", count: 500), .limit),
        ("(?P=name)", .unsupported), ("\\x{110000}", .syntax),
    ]

    @Test("RE2-incompatible and oversized patterns are rejected", arguments: rejected)
    func rejection(_ pattern: String, _ kind: RegexError.Kind) {
        do {
            _ = try AnchoredRegex(pattern)
            Issue.record("accepted \(pattern)")
        } catch {
            #expect(error.kind == kind, "\(pattern): \(error.message)")
        }
    }

    @Test func longPatternsAndInputsStayLinear() throws {
        // A long alternation of 2000 names and a long input: each input scalar is visited once per state.
        let names = (0..<2000).map { "service_\($0)" }
        let regex = try AnchoredRegex(names.joined(separator: "|"))
        #expect(regex.matches(Array("service_1999".utf8)))
        #expect(!regex.matches(Array("service_2000".utf8)))
        let nfa = try AnchoredRegex("(a|aa)*(b|c)[0-9]{0,100}")
        let input = Array(String(repeating: "a", count: 100_000).utf8)
        #expect(!nfa.matches(input))
    }
}
