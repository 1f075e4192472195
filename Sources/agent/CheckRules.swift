import AgentClient
import Alerting
import ArgumentParser

extension Agent {
    /// `agent check rules FILE...`: loads each rule file and reports every error in it.
    struct CheckRules: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rules",
            abstract: "Check Prometheus rule files (with severity tiers) for errors.",
            discussion: """
                Prints one summary line per valid file, and notes (advice, never errors) as \
                file:line:column: note: message. For an invalid file, prints every error as \
                file:line:column: message (to standard error) and exits with status 1.
                """)

        @Argument(help: "Rule files to check.")
        var files: [String]

        func run() throws {
            var failed = false
            for path in files {
                do {
                    let file = try RuleFile.load(path: path)
                    let counts = file.ruleCounts
                    let tiered = file.groups.reduce(0) { $0 + $1.rules.filter(\.isTiered).count }
                    var line = "\(path): OK, \(RulesOutput.plural(file.groups.count, "group")), \(RulesOutput.plural(counts.alerting, "alerting rule"))"
                    if tiered > 0 { line += " (\(tiered) tiered)" }
                    line += ", \(RulesOutput.plural(counts.recording, "recording rule"))"
                    print(line)
                    for note in file.notes { print("\(note.path):\(note.line):\(note.column): note: \(note.message)") }
                } catch {
                    failed = true
                    for e in error.errors { RulesOutput.error(e.description) }
                    RulesOutput.error("\(path): \(RulesOutput.plural(error.errors.count, "error"))")
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
