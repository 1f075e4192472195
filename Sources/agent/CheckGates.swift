import AgentClient
import Alerting
import ArgumentParser

extension Agent {
    /// `agent check gates FILE...`: loads each gate file and reports every error in it.
    struct CheckGates: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gates",
            abstract: "Check gate files (rollout gates for agent gate) for errors.",
            discussion: """
                Prints one summary line per valid file. For an invalid file, prints every error as \
                file:line:column: message (to standard error) and exits with status 1. Gate names \
                must be unique across the files given together.
                """)

        @Argument(help: "Gate files to check.")
        var files: [String]

        func run() throws {
            var failed = false
            for path in files {
                do {
                    let file = try GateFile.load(path: path)
                    let checks = file.gates.reduce(0) { $0 + $1.must.count + $1.should.count }
                    let blockers = file.gates.reduce(0) { $0 + ($1.must + $1.should).filter(\.isBlocker).count }
                    print("\(path): OK, \(RulesOutput.plural(file.gates.count, "gate")), \(RulesOutput.plural(checks, "check")) (\(RulesOutput.plural(blockers, "blocker")))")
                } catch {
                    failed = true
                    for e in error.errors { RulesOutput.error(e.description) }
                    RulesOutput.error("\(path): \(RulesOutput.plural(error.errors.count, "error"))")
                }
            }
            if !failed, files.count > 1 {
                do { _ = try GateFile.load(paths: files) } catch {
                    failed = true
                    for e in error.errors { RulesOutput.error(e.description) }
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    /// Gate test files run by `agent test rules` (see `GateTestFile`).
    enum TestGates {
        /// Runs the gate tests of `path` and prints the report; false when any failed.
        static func run(_ path: String) -> Bool {
            let file: GateTestFile
            do {
                file = try GateTestFile.load(path: path)
            } catch {
                for e in error.errors { RulesOutput.error(e.description) }
                return false
            }
            let result = GateTestRunner.run(file)
            print(result.report())
            return result.passed
        }
    }
}
