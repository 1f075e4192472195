import ArgumentParser
import AgentDaemon

extension Agent {
    /// `agent run`: the daemon.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the agent daemon.",
            discussion: "Without --config a built-in default monitors the agent itself.")

        @Option(name: .long, help: "Path of the YAML configuration file.")
        var config: String?

        func run() throws {
            // The daemon itself arrives with issue 8; until then say exactly what would run.
            print("agent run --config \(config ?? "(built-in default)"): the daemon is not built yet (issue 8)")
            throw ExitCode(3)
        }
    }
}
