import Testing

@testable import RE2

/// Go's `regexp` behaviour: the tables of Go's own tests (find_test.go `findTests`, all_test.go
/// `replaceTests` and `badRe`), read at test time from Debian's golang source package (see
/// `GoTestData`), and cases of ours beside them: find-all with submatches, `ReplaceAllString`,
/// compile errors and group names, all unanchored (`.go`).
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
    static func build(_ n: Int, _ x: Int...) -> [[Int]] { build(n, x[...]) }

    static func build(_ n: Int, _ x: ArraySlice<Int>) -> [[Int]] {
        let x = Array(x)
        let run = x.count / n
        return (0..<n).map { Array(x[($0 * run)..<(($0 + 1) * run)]) }
    }

    static let none: [[Int]] = []

    /// Go's `findTests`: pattern, text, and `build(n, …)` slots or nil, every match (`n` = -1).
    static func goFinds() throws -> [Find] {
        try GoTable.entries(of: "findTests", in: GoTestData.text("find_test.go")).map { entry in
            guard entry.count == 3, let pattern = entry[0].text, let text = entry[1].bytes else {
                throw GoTable.Malformed(line: 0, reason: "findTests entry \(entry)")
            }
            switch entry[2] {
            case .null: return Find(pattern, text, -1, none)
            case .call("build", let x) where !x.isEmpty && x[0] > 0 && (x.count - 1) % x[0] == 0:
                return Find(pattern, text, -1, build(x[0], x.dropFirst()))
            default: throw GoTable.Malformed(line: 0, reason: "findTests entry \(entry)")
            }
        }
    }

    /// Ours: limits on the number of matches (Go's `n`), and no match inside a multi-byte scalar.
    static let finds: [Find] = [
        Find(#"a"#, "bababaab", -1, build(4, 1, 2, 3, 4, 5, 6, 6, 7)),
        Find(#"a"#, "bababaab", 0, none),
        Find(#"a"#, "bababaab", 1, build(1, 1, 2)),
        Find(#"a"#, "bababaab", 2, build(2, 1, 2, 3, 4)),
        Find(#"a"#, "bababaab", 3, build(3, 1, 2, 3, 4, 5, 6)),
        Find(#"a"#, "bababaab", 4, build(4, 1, 2, 3, 4, 5, 6, 6, 7)),
        Find(#"a"#, "bababaab", 5, build(4, 1, 2, 3, 4, 5, 6, 6, 7)),
        Find("[a-c]*", "\u{65e5}", -1, build(2, 0, 0, 3, 3)),
        Find("[^\u{65e5}]", "abc\u{65e5}def", -1, build(6, 0, 1, 1, 2, 2, 3, 6, 7, 7, 8, 8, 9)),
        Find("x*", "\u{65e5}\u{672c}", 2, build(2, 0, 0, 3, 3)),
    ]

    @Test func goTablesAreReadWhole() throws {
        // Go 1.19's tables hold 85 finds, 72 replacements and 11 bad patterns (later Go adds cases).
        #expect(try Self.goFinds().count >= 85)
        #expect(try Self.goReplacements().count >= 72)
        #expect(try Self.goErrors().count >= 11)
    }

    @Test("find-all with submatches as Go's FindAllSubmatchIndex (Go's table)", arguments: try goFinds())
    func goFindAll(_ t: Find) throws {
        try findAll(t)
    }

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

    /// Go's `replaceTests`: pattern, replacement, input, output.
    static func goReplacements() throws -> [Replace] {
        try GoTable.entries(of: "replaceTests", in: GoTestData.text("all_test.go")).map { entry in
            let texts = entry.compactMap(\.text)
            guard entry.count == 4, texts.count == 4 else { throw GoTable.Malformed(line: 0, reason: "replaceTests entry \(entry)") }
            return Replace(texts[0], texts[1], texts[2], texts[3])
        }
    }

    /// Ours: Prometheus's reReplaceAll as rule templates use it.
    static let replacements: [Replace] = [
        Replace("(.*):.*", "$1", "host:9100", "host"), Replace("_", " ", "node_cpu_seconds", "node cpu seconds"),
        Replace("(?P<host>[^:]+):(?P<port>\\d+)", "${port}@$host", "db:5432", "5432@db"),
    ]

    @Test("replacingAll as Go's ReplaceAllString (Go's table)", arguments: try goReplacements())
    func goReplaceAll(_ t: Replace) throws {
        try replaceAll(t)
    }

    @Test("replacingAll as Go's ReplaceAllString", arguments: replacements)
    func replaceAll(_ t: Replace) throws {
        let re = try RegularExpression(t.pattern, options: .go)
        #expect(re.replacingAll(in: t.input, with: t.replacement) == t.output)
    }

    /// Go's `badRe`: a pattern and a part of its compile error (Go's test checks containment).
    static func goErrors() throws -> [(String, String)] {
        try GoTable.entries(of: "badRe", in: GoTestData.text("all_test.go")).map { entry in
            let texts = entry.compactMap(\.text)
            guard entry.count == 2, texts.count == 2 else { throw GoTable.Malformed(line: 0, reason: "badRe entry \(entry)") }
            return (texts[0], texts[1])
        }
    }

    @Test func goBadPatternsAreRefusedAsGoRefusesThem() throws {
        for (pattern, message) in try Self.goErrors() {
            do {
                _ = try RegularExpression(pattern, options: .go)
                Issue.record("\(pattern) compiled")
            } catch {
                #expect(error.message.contains(message), "\(pattern): \(error.message)")
            }
        }
    }

    /// Ours: what RE2 and Go reject beyond Go's table, word for word (after Go's `error parsing regexp: ` prefix).
    static let errors: [(String, String)] = [
        ("abc\\", "trailing backslash at end of expression: ``"),
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
        // Go's SubexpNames and SubexpIndex: unnamed groups are nil, a repeated name finds its leftmost group.
        let re = try RegularExpression(#"(?P<host>[^:]+)(:(?P<port>\d+))?(?<host>/.*)?"#, options: .go)
        #expect(re.groupCount == 4)
        #expect(re.groupNames == [nil, "host", nil, "port", "host"])
        #expect(re.groupIndex(named: "host") == 1)
        #expect(re.groupIndex(named: "port") == 3)
        #expect(re.groupIndex(named: "missing") == nil)
        #expect(try RegularExpression(#"(a)(\(b\))(?:c)"#, options: .go).groupCount == 2)
        #expect(try RegularExpression("abba", options: .go).groupNames == [nil])
    }
}
