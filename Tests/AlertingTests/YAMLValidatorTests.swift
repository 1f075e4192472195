import Testing
@testable import Alerting

/// The rule-file reader's YAML errors now that positions come from the composer itself: a repeated
/// key at its own position wherever it is written (Yams gave the mapping's position only, and the
/// validator searched the lines for `key:`), and a forbidden character where it is.
@Suite struct YAMLValidatorTests {
    func errors(_ text: String) -> [String] {
        var yaml = YAMLValidator(text: text, path: "r.yaml")
        #expect(yaml.compose(text) == nil)
        return yaml.errors.map(\.description)
    }

    @Test func aRepeatedKeyInAFlowMappingIsFoundOnItsLine() {
        #expect(errors("groups:\n  - {name: g, rules: [], name: h}\n") == [
            #"r.yaml:2:26: key "name" is given twice in this mapping (first at line 2)"#,
        ])
    }

    @Test func everyRepeatedKeyOfAMappingIsFoundAtItsOwnSecondOccurrence() {
        // The keys in order ("a" before "b"), each at its repeat, each "first at" its own first line.
        #expect(errors("b: 1\na: 2\nb: 3\na: 4\n") == [
            #"r.yaml:4:1: key "a" is given twice in this mapping (first at line 2)"#,
            #"r.yaml:3:1: key "b" is given twice in this mapping (first at line 1)"#,
        ])
    }

    @Test func aQuotedRepeatOfAKeyIsTheSameKey() {
        #expect(errors("groups: []\n\"groups\": []\n") == [
            #"r.yaml:2:1: key "groups" is given twice in this mapping (first at line 1)"#,
        ])
    }

    @Test func aControlCharacterIsASyntaxErrorAtItsPosition() {
        #expect(errors("groups:\n  - name: \u{1}\n") == ["r.yaml:2:11: YAML syntax error: control characters are not allowed"])
    }
}
