import Testing
import YAMLSupport
@testable import Alerting

/// Numbers in rule files as Prometheus reads them (Go's yaml.v3 for rule files, yaml.v2 for
/// promtool's test files): base prefixes, `_` and floats are numbers; YAML 1.1's sexagesimal `1:30`
/// and spellings only Swift's parser knows are strings there, so they are refused here too.
@Suite struct GoYAMLNumberTests {
    static func group(limit: String) -> String {
        "groups:\n  - name: g\n    limit: \(limit)\n    rules:\n      - record: a\n        expr: up\n"
    }

    @Test(arguments: [("0x10", 16), ("0o17", 15), ("017", 15), ("0b101", 5), ("1_000", 1000), ("10.0", 10), ("1e3", 1000), ("+7", 7)])
    func aGroupLimitGoReadsAsAnIntegerIsOne(text: String, value: Int) throws {
        let file = try RuleFile.parse(Self.group(limit: text), path: "r.yaml")
        #expect(file.groups.first?.limit == value)
    }

    @Test(arguments: [
        ("1:30", #"r.yaml:3:12: group "g": expected "limit" (a whole number), got the string "1:30" (Prometheus's YAML reads it as a string, not a number)"#),
        ("\"10\"", #"r.yaml:3:12: group "g": expected "limit" (a whole number), got the string "10""#),
        ("10.5", #"r.yaml:3:12: group "g": expected "limit" (a whole number), got the number 10.5"#),
        ("yes", #"r.yaml:3:12: group "g": expected "limit" (a whole number), got the boolean yes"#),
        ("-2", #"r.yaml:3:12: group "g": "limit" must not be negative, got -2"#),
    ])
    func aGroupLimitGoDoesNotReadAsAnIntegerIsRefused(text: String, expected: String) {
        #expect(errors(Self.group(limit: text)) == [expected])
    }

    static func tier(above: String) -> String {
        ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: high, above: \(above)}\n")
    }

    @Test(arguments: [("1e3", 1000.0), ("-.5", -0.5), ("0x10", 16), ("1_0.5", 10.5), (".inf", .infinity), ("5.", 5)])
    func aThresholdGoReadsAsANumberIsOne(text: String, value: Double) throws {
        let file = try RuleFile.parse(Self.tier(above: text), path: "r.yaml")
        #expect(file.groups.first?.rules.first?.tiers.first?.threshold == value)
    }

    @Test(arguments: ["1:30", "inf", "nan", "0x1p3", "1e", "."])
    func aThresholdGoReadsAsAStringIsRefused(text: String) {
        let found = errors(Self.tier(above: text))
        #expect(found.count == 1 && found[0].hasPrefix("r.yaml:7:37: ") && found[0].contains("expected \"above\" (a number), got the string"), "\(found)")
    }

    @Test func theGoSyntaxOfNumbers() {
        for yes in ["0", "-0", "12", "0x1F", "0X1f", "0o7", "0b1", "1_000", "1.5", ".5", "5.", "1e3", "1E+3", "-1.5e-3", ".inf", "-.Inf", ".NaN"] {
            #expect(Node.hasGoNumberSyntax(yes), "\(yes)")
        }
        for no in ["", "+", "-", ".", "1:30", "inf", "nan", "0x", "0xg", "0o8", "0b2", "1e", "1e+", "e3", "1.2.3", "0x1p3", "12a", "Infinity"] {
            #expect(!Node.hasGoNumberSyntax(no), "\(no)")
        }
    }
}
