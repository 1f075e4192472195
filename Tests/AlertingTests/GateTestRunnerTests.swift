import Foundation
import Testing
@testable import Alerting

@Suite("Gate tests (promtool style)")
struct GateTestRunnerTests {
    static let gates = """
        gates:
          - name: g
            interval: 1m
            duration: 2m
            timeout: 10m
            failure_limit: 1
            must:
              - expr: errors < 0.01
              - no_alerts: {gate: g}
        """
    static let rules = """
        groups:
          - name: r
            rules:
              - alert: Blocker
                expr: trouble > 0
                for: 1m
                labels: {gate: g}
        """

    /// Writes the gate and rule files and a test file with `tests` into a scratch folder; returns the test file's path.
    static func files(_ tests: String) throws -> (String, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gate-tests-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try gates.write(to: dir.appendingPathComponent("gates.yaml"), atomically: true, encoding: .utf8)
        try rules.write(to: dir.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)
        let path = dir.appendingPathComponent("gates_test.yaml").path
        try ("rule_files: [rules.yaml]\ngate_files: [gates.yaml]\nevaluation_interval: 1m\ntests:\n" + tests).write(toFile: path, atomically: true, encoding: .utf8)
        return (path, dir)
    }

    static func run(_ tests: String) throws -> GateTestResult {
        let (path, dir) = try files(tests)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(GateTestFile.isGateTestFile(path: path))
        return GateTestRunner.run(try GateTestFile.load(path: path))
    }

    @Test func theThreeVerdictsAtTheirEvaluations() throws {
        let result = try Self.run("""
              - interval: 1m
                input_series:
                  - {series: 'errors', values: '0.001x20'}
                  - {series: 'trouble', values: '0 0 0 0 1+0x20'}
                gate_tests:
                  - {gate: g, exp_verdict: promote, exp_eval_time: 2m, exp_evaluations: 3}
                  # The blocker's alert is pending at 4m and fires at 5m.
                  - {gate: g, start: 3m, duration: 5m, exp_verdict: abort, exp_eval_time: 5m, exp_evaluations: 3, exp_reason: "Blocker firing"}
              - interval: 1m
                input_series:
                  - {series: 'errors', values: '0.001 0.02 0.001 0.02 0.001'}
                gate_tests:
                  - {gate: g, exp_verdict: abort, exp_eval_time: 3m, exp_evaluations: 4, exp_reason: "failed 2 times (failure_limit 1)"}
              - interval: 1m
                input_series:
                  - {series: 'errors', values: '_ _'}
                gate_tests:
                  - {gate: g, exp_verdict: inconclusive, exp_eval_time: 0s, exp_evaluations: 1}
            """)
        #expect(result.passed, "\(result.report())")
        #expect(result.report().hasSuffix("PASS, 3 tests (4 gate checks)"))
    }

    @Test func aWrongExpectationFailsWithTheRunShown() throws {
        let result = try Self.run("""
              - name: off by one
                interval: 1m
                input_series:
                  - {series: 'errors', values: '0.001x20'}
                gate_tests:
                  - {gate: g, exp_verdict: promote, exp_eval_time: 3m}
                  - {gate: g, exp_verdict: abort}
            """)
        #expect(!result.passed)
        let report = result.report()
        #expect(report.contains("FAIL, 1 of 1 test failed"), "\(report)")
        #expect(report.contains("expected: decided at 3m\n    got:      promote at 2m after 3 evaluations"), "\(report)")
        #expect(report.contains("expected: verdict abort\n"), "\(report)")
        #expect(report.contains("must errors < 0.01: pass 3 fail 0 no data 0 errors 0; values 0.001 0.001 0.001"), "\(report)")
    }

    @Test func unknownGatesAndBadOverridesAreFailuresNotCrashes() throws {
        let result = try Self.run("""
              - interval: 1m
                gate_tests:
                  - {gate: nope, exp_verdict: promote}
              - interval: 1m
                gate_tests:
                  - {gate: g, duration: 1h, exp_verdict: promote}
            """)
        #expect(result.failedTests == 2)
        #expect(result.report().contains("no gate named \"nope\" in the gate files (g)"))
        #expect(result.report().contains("duration 1h does not fit in timeout 10m"))
    }

    @Test func testFileErrorsArePositioned() throws {
        func errors(_ text: String) -> [String] {
            do { _ = try GateTestFile.parse(text, path: "t.yaml"); return [] } catch { return error.errors.map(\.description) }
        }
        #expect(errors("tests: []\n") == ["t.yaml:1:1: a gate test file needs \"gate_files:\""])
        let e = errors("gate_files: []\ntests:\n  - interval: 1m\n    gate_tests:\n      - {gate: g, exp_verdict: maybe, exp_evaluatons: 2}\n")
        #expect(e.contains { $0.hasPrefix("t.yaml:5:32:") && $0.contains("exp_verdict must be one of promote, abort, inconclusive") }, "\(e)")
        #expect(e.contains { $0.hasPrefix("t.yaml:5:39:") && $0.contains("unknown key \"exp_evaluatons\" in a gate test (did you mean \"exp_evaluations\"?)") }, "\(e)")
        let s = errors("gate_files: []\ntests:\n  - input_series:\n      - {series: 'up{', values: '1'}\n    gate_tests: []\n")
        #expect(s.count == 1 && s[0].hasPrefix("t.yaml:4:"), "\(s)")
        #expect(!GateTestFile.isGateTestFile(path: "/nonexistent"))
    }
}
