import AgentClient
import ArgumentParser

extension Agent {
    /// `agent version`: prints the version and exits.
    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the agent's version.")

        func run() throws {
            print("agent \(AgentVersion.string)")
        }
    }
}
