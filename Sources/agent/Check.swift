import AgentClient
import ArgumentParser

extension Agent {
    /// `agent check`: validates files without running anything (`agent check rules FILE...`).
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: CommandDescriptions.check,
            discussion: "Exit status 0 when every file is valid, 1 when any has an error (printed as file:line:column: message).",
            subcommands: [CheckRules.self, CheckConfig.self, CheckGates.self])
    }
}
