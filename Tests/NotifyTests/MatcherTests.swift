import Testing
import TimeSeries
@testable import Notify

@Suite struct MatcherTests {
    @Test(arguments: [
        ("severity=\"critical\"", "severity", Matcher.Kind.equal, "critical"),
        ("severity!=\"low\"", "severity", .notEqual, "low"),
        ("severity=~\"high|medium\"", "severity", .regexMatch, "high|medium"),
        ("job!~\"api-.*\"", "job", .regexNoMatch, "api-.*"),
        ("  team = \"db ops\"  ", "team", .equal, "db ops"),
        ("severity=critical", "severity", .equal, "critical"),
        ("severity=", "severity", .equal, ""),
        ("msg=\"say \\\"hi\\\"\\n\"", "msg", .equal, "say \"hi\"\n"),
        ("path=~\"\\d+\\.json\"", "path", .regexMatch, "\\d+\\.json"),
        ("\"alertname\"=\"X\"", "alertname", .equal, "X"),
    ])
    func readsAlertmanagerSyntax(text: String, name: String, kind: Matcher.Kind, value: String) throws {
        let matcher = try Matcher.parse(text)
        #expect(matcher.name == name)
        #expect(matcher.kind == kind)
        #expect(matcher.value == value)
        #expect(try Matcher.parse(matcher.description) == matcher, "description reads back")
    }

    @Test(arguments: [
        ("", 1, "expected a label name"),
        ("=\"x\"", 1, "expected a label name"),
        ("1abc=\"x\"", 1, "not a label name"),
        ("severity", 9, "expected one of =, !=, =~, !~"),
        ("severity!x", 9, "expected \"!=\" or \"!~\""),
        ("severity=\"critical", 10, "unterminated quoted string"),
        ("severity=~\"(unclosed\"", 11, "invalid regular expression"),
        ("a=\"b\" c", 7, "unexpected"),
    ])
    func rejectsMalformedMatchersWithTheColumn(text: String, column: Int, fragment: String) {
        #expect {
            _ = try Matcher.parse(text)
        } throws: { error in
            guard let error = error as? MatcherError else { return false }
            return error.column == column && error.message.contains(fragment)
        }
    }

    @Test func regexesAreFullyAnchored() throws {
        let high = try Matcher.parse("severity=~\"high|low\"")
        #expect(high.matches(value: "high"))
        #expect(!high.matches(value: "highest"))
        #expect(!high.matches(value: "xlow"))
        let prefix = try Matcher.parse("job=~\"api.*\"")
        #expect(prefix.matches(value: "api-1"))
        #expect(!prefix.matches(value: "my-api"))
        let notProd = try Matcher.parse("env!~\"prod|staging\"")
        #expect(notProd.matches(value: "dev"))
        #expect(!notProd.matches(value: "prod"))
        #expect(notProd.matches(value: "production"))
    }

    @Test func regexesAreAlertmanagersRE2WhereDotStopsAtANewline() throws {
        // Alertmanager compiles ^(?:regex)$ without (?s): `.` does not match a newline.
        let prefix = try Matcher.parse("job=~\"api.*\"")
        #expect(!prefix.matches(value: "api-\n1"))
        #expect(try Matcher.parse("job=~\"(?s)api.*\"").matches(value: "api-\n1"))
        #expect(try Matcher.parse("path=~\"\\d+\\.json\"").matches(value: "12.json"))
        #expect(!(try Matcher.parse("path=~\"\\d+\\.json\"").matches(value: "12xjson")))
        #expect(try Matcher.parse("s=~\"(?i)crit.*\"").matches(value: "CRITICAL"))
        #expect(try Matcher.parse("s=~\"crit|\"").matchesEmpty)
    }

    @Test func hostileRegexesFinishAndPCREConstructsAreRefusedAsRE2Refuses() throws {
        // Backtracking engines take exponential time here; RE2 answers in one pass.
        let hostile = try Matcher(name: "l", .regexMatch, "(a*)*b")
        #expect(!hostile.matches(value: String(repeating: "a", count: 10_000)))
        #expect(!(try Matcher(name: "l", .regexMatch, "(x+x+)+y")).matches(value: String(repeating: "x", count: 10_000)))
        #expect(throws: MatcherError(input: "(?=x)", column: 1, message: "invalid regular expression: invalid or unsupported Perl syntax: `(?=`")) {
            try Matcher(name: "l", .regexMatch, "(?=x)")
        }
        #expect(throws: MatcherError(input: "a(b", column: 1, message: "invalid regular expression: missing closing ): `a(b`")) {
            try Matcher(name: "l", .regexMatch, "a(b")
        }
    }

    @Test func aMissingLabelHasTheEmptyValue() throws {
        let labels = Labels(["alertname": "X"])
        #expect(try Matcher.parse("team=\"\"").matches(labels))
        #expect(!(try Matcher.parse("team!=\"\"").matches(labels)))
        #expect(try Matcher.parse("team=~\".*\"").matches(labels))
        #expect(try Matcher.parse("team=~\".*\"").matchesEmpty)
        #expect(!(try Matcher.parse("team=~\".+\"").matchesEmpty))
    }

    @Test func listsAcceptBracesCommasAndTrailingCommas() throws {
        let list = try Matcher.parseList("{alertname=\"X\", severity=~\"high|low\",}")
        #expect(list.map(\.description) == ["alertname=\"X\"", "severity=~\"high|low\""])
        #expect(try Matcher.parseList("a=\"1\",b!=\"2\"").count == 2)
        #expect(try Matcher.parseList("{}").isEmpty)
        #expect(try Matcher.parseList("{a=\"x,y\"}").first?.value == "x,y")
        #expect(throws: MatcherError.self) { try Matcher.parseList("{a=\"1\"") }
        #expect(throws: MatcherError.self) { try Matcher.parseList("{a=\"1\" b=\"2\"}") }
        #expect(list.listDescription == "{alertname=\"X\",severity=~\"high|low\"}")
    }

    @Test func hostileInputIsRejectedOrReadWithoutCrashing() throws {
        let inputs = [
            String(repeating: "a", count: 100_000) + "=\"x\"",
            "a=\"" + String(repeating: "\\", count: 10_001) + "\"",
            "a=~\"" + String(repeating: "(", count: 500) + "\"",
            "a=\"\u{0}\u{1}\"", "é=\"x\"", "a=\"日本\"", "{", "}", ",", "{,}", "a==\"x\"", "a=~~\"x\"",
        ]
        for input in inputs {
            _ = try? Matcher.parse(input)
            _ = try? Matcher.parseList(input)
        }
        #expect(try Matcher.parse("a=\"日本\"").value == "日本")
    }
}
