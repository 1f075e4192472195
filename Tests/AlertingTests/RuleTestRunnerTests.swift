import Foundation
import Testing
import TimeSeries
@testable import Alerting

/// `agent test rules` behaves as promtool's runner (Prometheus 3's `cmd/promtool/unittest.go`).
@Suite("Rule test runner")
struct RuleTestRunnerTests {
    /// Writes `files` (name → text) into a fresh directory; returns the path of the first one named `*test*`.
    static func write(_ files: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir.appendingPathComponent(files.keys.sorted().first { $0.contains("test") }!).path
    }

    static func run(_ files: [String: String], options: RuleTestRunner.Options = .all) throws -> RuleTestResult {
        RuleTestRunner.run(try RuleTestFile.load(path: try write(files)), options: options)
    }

    @Test("input samples arrive step by step, so a recording rule may write a series the inputs also name")
    func inputsLoadStepByStep() throws {
        let result = try Self.run([
            "r.yaml": "groups:\n  - name: g\n    rules:\n      - record: shared\n        expr: vector(7)\n",
            "t_test.yaml": """
                rule_files: [r.yaml]
                evaluation_interval: 1m
                tests:
                  - interval: 1m
                    input_series:
                      - series: shared
                        values: '_ _ _ 1 2'
                    promql_expr_test:
                      - {expr: shared, eval_time: 2m, exp_samples: [{labels: shared, value: 7}]}
                      - {expr: 'count_over_time(shared[10m])', eval_time: 2m, exp_samples: [{value: 3}]}
                """,
        ])
        #expect(result.passed, "\(result.report())")
    }

    @Test("start_timestamp moves the inputs and the evaluations; Unix seconds and RFC 3339 both work")
    func startTimestamp() throws {
        let result = try Self.run([
            "t_test.yaml": """
                tests:
                  - start_timestamp: 1609459200
                    input_series: [{series: m, values: '1 2 3'}]
                    promql_expr_test:
                      - {expr: time(), eval_time: 10m, exp_samples: [{value: 1609459800}]}
                      - {expr: timestamp(m), eval_time: 5m, exp_samples: [{labels: '{}', value: 1609459320}]}
                  - start_timestamp: '2024-01-01T00:00:00Z'
                    input_series: [{series: 'm{a="b"}', values: '10+10x15'}]
                    promql_expr_test:
                      - {expr: 'm @ 1704067320', eval_time: 5m, exp_samples: [{labels: 'm{a="b"}', value: 30}]}
                """,
        ])
        #expect(result.passed, "\(result.report())")
    }

    @Test("values compare exactly; fuzzy_compare forgives one unit in the last place and no more")
    func fuzzyCompare() throws {
        func file(fuzzy: Bool, low: String, high: String) -> [String: String] {
            ["t_test.yaml": """
                fuzzy_compare: \(fuzzy)
                tests:
                  - input_series: [{series: low, values: '\(low)'}, {series: high, values: '\(high)'}]
                    promql_expr_test:
                      - {expr: low, eval_time: 0, exp_samples: [{labels: low, value: 3}]}
                      - {expr: high, eval_time: 0, exp_samples: [{labels: high, value: 3}]}
                """]
        }
        #expect(try !Self.run(file(fuzzy: false, low: "2.9999999999999996", high: "3.0000000000000004")).passed)
        #expect(try Self.run(file(fuzzy: true, low: "2.9999999999999996", high: "3.0000000000000004")).passed)
        #expect(try !Self.run(file(fuzzy: true, low: "2.9999999999999987", high: "3.0000000000000013")).passed)
    }

    static let twoTests = """
        tests:
          - name: correct test
            input_series: [{series: test, values: '1'}]
            promql_expr_test: [{expr: test, eval_time: 0, exp_samples: [{labels: test, value: 1}]}]
          - name: wrong test
            input_series: [{series: test, values: '0'}]
            promql_expr_test: [{expr: test, eval_time: 0, exp_samples: [{labels: test, value: 1}]}]
        """

    @Test("--run selects tests by an unanchored regular expression; several patterns are alternatives")
    func runSelectsTests() throws {
        let files = ["t_test.yaml": Self.twoTests]
        #expect(try !Self.run(files).passed)
        let correct = try Self.run(files, options: RuleTestRunner.Options(run: ["correct"]))
        #expect(correct.passed && correct.testCount == 1)
        #expect(try !Self.run(files, options: RuleTestRunner.Options(run: ["wrong"])).passed)
        #expect(try Self.run(files, options: RuleTestRunner.Options(run: ["correct", "wrong"])).testCount == 2)
        #expect(try Self.run(files, options: RuleTestRunner.Options(run: ["^nothing$"])).testCount == 0)
        #expect(throws: RuleFileError.self) { try RuleTestRunner.Options(run: ["("]) }
    }

    @Test("the JUnit report has a suite per file, a case per test and a failure per failed check")
    func junit() throws {
        let result = try Self.run(["t_test.yaml": Self.twoTests])
        let xml = RuleTestResult.junitXML([result], timestamp: "2026-01-01T00:00:00")
        #expect(xml.hasPrefix("<testsuites><testsuite name=\""))
        #expect(xml.contains("tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\" timestamp=\"2026-01-01T00:00:00\""))
        #expect(xml.contains("<testcase name=\"correct test\"></testcase><testcase name=\"wrong test\"><failure>"))
        #expect(xml.hasSuffix("</failure></testcase></testsuite></testsuites>"))
        #expect(RuleTestResult.xmlEscaped("a<b & \"c\"\n") == "a&lt;b &amp; &#34;c&#34;&#xA;")
    }

    @Test("--ignore-unknown-fields lets rule files carry extra keys; without it they are errors")
    func ignoreUnknownFields() throws {
        let files = [
            "r.yaml": "groups:\n  - name: g\n    namespace: x\n    rules:\n      - record: fixed\n        expr: vector(1)\n        owner: y\n",
            "t_test.yaml": "rule_files: [r.yaml]\ntests:\n  - promql_expr_test: [{expr: fixed, eval_time: 0, exp_samples: [{labels: fixed, value: 1}]}]\n",
        ]
        let strict = try Self.run(files)
        #expect(!strict.passed && strict.loadErrors.count == 2, "\(strict.loadErrors)")
        #expect(try Self.run(files, options: RuleTestRunner.Options(ignoreUnknownFields: true)).passed)
    }

    @Test("the test-file keys of current promtool are read; mistakes are positioned errors")
    func fileErrors() throws {
        func errors(_ text: String) -> [String] {
            do {
                _ = try RuleTestFile.parse(text, path: "t.yaml")
                return []
            } catch {
                return error.errors.map(\.description)
            }
        }
        #expect(errors("group_eval_order: [a, b, a]\ntests: []\n") == ["t.yaml:1:26: group_eval_order: group name repeated in evaluation order: a"])
        #expect(errors("tests:\n  - start_timestamp: yesterday\n").first?.hasPrefix("t.yaml:2:22: test 1: cannot parse \"yesterday\" as start_timestamp") == true)
        #expect(errors("fuzzy_compare: maybe\ntests: []\n").first?.hasPrefix("t.yaml:1:16: expected fuzzy_compare (true or false)") == true)
        let histogram = errors("tests:\n  - input_series:\n      - series: h\n        values: '1 {{schema:1 sum:3 count:2 buckets:[2]}}'\n")
        #expect(histogram.first?.hasPrefix("t.yaml:4:20: test 1, input_series 1: native histogram notation ({{schema:… buckets:[…]}}) is not supported") == true, "\(histogram)")
        let expected = errors("tests:\n  - promql_expr_test:\n      - expr: h\n        exp_samples: [{labels: h, histogram: '{{count:2}}'}]\n")
        #expect(expected.first?.contains("native histograms (\"histogram:\") are not supported") == true, "\(expected)")
        // A rule_files pattern matching nothing is a warning, as in promtool: the tests still run.
        let file = try RuleTestFile.parse("rule_files: [nothing-*.yaml]\ntests: []\n", path: "/tmp/t.yaml")
        #expect(file.warnings.count == 1 && file.ruleFiles.isEmpty)
        // Intervals of 0 mean the defaults.
        let zero = try RuleTestFile.parse("evaluation_interval: 0s\ntests:\n  - interval: 0s\n", path: "t.yaml")
        #expect(zero.evaluationInterval == 60_000 && zero.tests[0].interval == 60_000)
    }

    @Test("a warning/critical pair of one name: the test sees both rules' firing alerts, told apart by severity")
    func duplicateAlertNames() throws {
        let result = try Self.run([
            "r.yaml": RuleGroupTests.warningCriticalPair,
            "t_test.yaml": """
                rule_files: [r.yaml]
                tests:
                  - input_series: [{series: 'errors{job="a"}', values: '9x5'}]
                    alert_rule_test:
                      - eval_time: 1m
                        alertname: Errors
                        exp_alerts:
                          - {exp_labels: {job: a, severity: critical}, exp_annotations: {summary: "a critical at 9"}}
                      - eval_time: 3m
                        alertname: Errors
                        exp_alerts:
                          - {exp_labels: {job: a, severity: critical}, exp_annotations: {summary: "a critical at 9"}}
                          - {exp_labels: {job: a, severity: warning}, exp_annotations: {summary: "a warning at 9"}}
                """,
        ])
        #expect(result.passed, "\(result.report())")
    }

    /// Prometheus's failing.yml: an alert that fires where none is expected, too wide for two
    /// columns, was printed with a "(none)" line on the expected side for each of its lines.
    @Test("a report too wide for two columns lists each side's own lines, with no filler for the other side's")
    func stackedReportHasNoFiller() throws {
        let result = try Self.run([
            "r.yaml": """
                groups:
                  - name: g
                    rules:
                      - alert: InstanceDown
                        expr: up == 0
                        labels: {severity: page}
                        annotations:
                          description: "{{ $labels.instance }} of job {{ $labels.job }} has been down for more than 5 minutes."
                """,
            "t_test.yaml": """
                rule_files: [r.yaml]
                tests:
                  - input_series: [{series: 'up{job="test"}', values: '0x10'}]
                    alert_rule_test:
                      - {eval_time: 5m, alertname: InstanceDown, exp_alerts: []}
                """,
        ])
        let report = result.report()
        #expect(!result.passed)
        #expect(!report.contains("(none)"), "\(report)")
        let lines = report.split(separator: "\n").map(String.init)
        let expected = try #require(lines.firstIndex { $0.contains("expected: 0 alerts") }, "\(report)")
        let got = try #require(lines.firstIndex { $0.contains("got: 1 alert") }, "\(report)")
        #expect(lines[(expected + 1)..<got] == ["    ≠   (no alert)"], "\(report)")
        #expect(lines[(got + 1)...].contains("    ≠     severity=\"page\""), "\(report)")
    }
}
