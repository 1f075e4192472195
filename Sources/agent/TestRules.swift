import Alerting
import ArgumentParser

extension Agent {
    /// `agent test rules FILE...`: runs promtool-format rule unit tests.
    struct TestRules: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rules",
            abstract: "Run rule unit tests (promtool's test file format).")

        @Argument(help: "Test files.")
        var files: [String]

        func run() throws {
            throw ExitCode(3)
        }
    }
}
