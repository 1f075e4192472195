import Foundation
import Testing

/// `agent check rules` and `agent test rules`, run as a user runs them.
@Suite struct RulesCommandTests {
    static let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("rules").path

    func temporary(_ name: String, _ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rules-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func checkRulesPrintsASummaryPerValidFileAndExitsZero() throws {
        let result = try runAgent(["check", "rules", Self.rules + "/api.yaml", Self.rules + "/health.yaml"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "\(Self.rules)/api.yaml: OK, 1 group, 2 alerting rules (2 tiered), 2 recording rules\n"
            + "\(Self.rules)/health.yaml: OK, 1 group, 2 alerting rules, 0 recording rules\n")
    }

    @Test func checkRulesPrintsEveryErrorWithItsPositionAndExitsOne() throws {
        let path = try temporary("bad.yaml", """
            groups:
              - name: api
                rules:
                  - alert: A
                    expr: sum(rate(x[5m])
                    fo: 5m
                    tiers:
                      - {severity: low, above: 1}
                      - {severity: critical, above: 2}

            """)
        let result = try runAgent(["check", "rules", path])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("\(path):5:") && $0.contains("expr:") })
        #expect(lines.contains { $0.hasPrefix("\(path):6:9:") && $0.contains("unknown key \"fo\" in a rule (did you mean \"for\"?)") })
        #expect(lines.contains { $0.hasPrefix("\(path):9:13:") && $0.contains("tiers must go from most to least severe") })
        #expect(lines.last == "\(path): 4 errors")
    }

    @Test func testRulesRunsTheRepositoryTestsAndExitsZero() throws {
        let tests = try FileManager.default.contentsOfDirectory(atPath: Self.rules).filter { $0.hasSuffix("_test.yaml") }.sorted()
        let result = try runAgent(["test", "rules"] + tests.map { Self.rules + "/" + $0 })
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == tests.count)
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.contains(": PASS, ") })
    }

    @Test func testRulesShowsExpectedAndActualSideBySideAndExitsOne() throws {
        let rule = try temporary("r.yaml", "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        labels: {severity: critical}\n")
        let dir = (rule as NSString).deletingLastPathComponent
        let test = dir + "/r_test.yaml"
        try """
            rule_files: [r.yaml]
            tests:
              - interval: 1m
                input_series:
                  - series: 'up{job="api"}'
                    values: '0 0 0'
                alert_rule_test:
                  - eval_time: 2m
                    alertname: Down
                    exp_alerts:
                      - exp_labels: {job: api, severity: page}
            """.write(toFile: test, atomically: true, encoding: .utf8)
        let result = try runAgent(["test", "rules", test])
        #expect(result.status == 1)
        #expect(result.stdout.contains("FAIL, 1 of 1 test failed"))
        #expect(result.stdout.contains("alert_rule_test 1: firing alerts of Down at 2m"))
        #expect(result.stdout.contains("≠   severity=\"page\""))
        #expect(result.stdout.contains("│   severity=\"critical\""))
    }

    /// As promtool, a rule_files pattern that matches nothing is a warning, not an error.
    @Test func testRulesWarnsAboutARuleFilePatternMatchingNothing() throws {
        let test = try temporary("t_test.yaml", "rule_files: [missing.yaml]\ntests:\n  - promql_expr_test: [{expr: vector(1), exp_samples: [{value: 1}]}]\n")
        let result = try runAgent(["test", "rules", test])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: \(test):1:14: rule_files: no file matches \"missing.yaml\""))
    }

    @Test func testRulesReportsAnInvalidTestFileWithPositions() throws {
        let test = try temporary("t_test.yaml", "rule_files: [missing.yaml]\ntests:\n  - interval: 1x\n    input_seriess: []\n")
        let result = try runAgent(["test", "rules", test])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(test):3:15: test 1: bad duration \"1x\" for \"interval\""))
        #expect(result.stderr.contains("\(test):4:5: test 1: unknown key \"input_seriess\" in a test (did you mean \"input_series\"?)"))
    }
}
