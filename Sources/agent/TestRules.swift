import AgentClient
import TextRendering
import Alerting
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension Agent {
    /// `agent test rules FILE...`: runs promtool-format rule unit tests.
    struct TestRules: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rules",
            abstract: "Run rule unit tests (promtool's test file format).",
            discussion: """
                Each file lists rule_files, an evaluation_interval and tests with input_series, \
                alert_rule_test and promql_expr_test, as for `promtool test rules` (with \
                start_timestamp, fuzzy_compare, external_labels, external_url and \
                group_eval_order). Tiered rules are tested the same way: the tier shows in the \
                severity label. Prints one line per passing file; for a failing one, the expected \
                and actual alerts or samples side by side (only the differences with --diff). \
                Exits with status 1 when any test fails.
                """)

        @Option(name: .customLong("run"), help: "Run only tests whose name matches this regular expression (repeatable).")
        var runPatterns: [String] = []

        @Option(name: .customLong("junit"), help: "Also write the results as JUnit XML to this file.")
        var junit: String?

        @Flag(name: .customLong("diff"), help: "Show only what differs: - expected, + got.")
        var diff = false

        @Flag(name: .customLong("ignore-unknown-fields"), help: "Skip keys rule files do not know (extra metadata) instead of failing.")
        var ignoreUnknownFields = false

        @Argument(help: "Test files.")
        var files: [String]

        func run() throws {
            let options: RuleTestRunner.Options
            do {
                options = try RuleTestRunner.Options(run: runPatterns, ignoreUnknownFields: ignoreUnknownFields)
            } catch {
                RulesOutput.error("--run: \(error.message)")
                throw ExitCode(2)
            }
            var failed = false
            var results: [RuleTestResult] = []
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
                    results.append(RuleTestResult(path: path, testCount: 0, loadErrors: error.errors.map(\.description)))
                    continue
                }
                for warning in file.warnings { RulesOutput.error("warning: " + warning) }
                let result = RuleTestRunner.run(file, options: options)
                results.append(result)
                if !result.passed { failed = true }
                print(diff ? result.diff() : result.report())
            }
            if let junit {
                let stamp = RFC3339.format(Int64(Date().timeIntervalSince1970) * 1000)
                let xml = RuleTestResult.junitXML(results, timestamp: stamp)
                guard FileManager.default.createFile(atPath: junit, contents: Data(xml.utf8)) else {
                    RulesOutput.error("\(junit): cannot write the JUnit report")
                    throw ExitCode(1)
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
