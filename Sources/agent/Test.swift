import AgentClient
import ArgumentParser

extension Agent {
    /// `agent test`: runs unit tests of configuration (`agent test rules FILE...`).
    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: CommandDescriptions.test,
            subcommands: [TestRules.self])
    }
}
