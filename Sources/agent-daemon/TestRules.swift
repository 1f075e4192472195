import AgentClient
import Alerting
import ArgumentParser

extension Agent {
    /// `agent test rules FILE...`: runs promtool-format rule unit tests.
    struct TestRules: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rules",
            abstract: "Run rule unit tests (promtool's test file format).",
            discussion: """
                Each file lists rule_files, an evaluation_interval and tests with input_series, \
                alert_rule_test and promql_expr_test, as for `promtool test rules`. Tiered rules are \
                tested the same way: the tier shows in the severity label. Prints one line per \
                passing file; for a failing one, the expected and actual alerts or samples side by \
                side. Exits with status 1 when any test fails.
                """)

        @Argument(help: "Test files.")
        var files: [String]

        func run() throws {
            var failed = false
            for path in files {
                // Gate tests (a file with gate_files:) have their own runner: GateTestRunner.
                if GateTestFile.isGateTestFile(path: path) {
                    if !TestGates.run(path) { failed = true }
                    continue
                }
                let file: RuleTestFile
                do {
                    file = try RuleTestFile.load(path: path)
                } catch {
                    failed = true
                    for e in error.errors { RulesOutput.error(e.description) }
                    continue
                }
                let result = RuleTestRunner.run(file)
                if result.passed {
                    print(result.report())
                } else {
                    failed = true
                    print(result.report())
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
