import AgentClient
import AgentDaemon
import ArgumentParser

/// The commands that need the whole agent (the store, rules, scraping, notifications): `agent`
/// runs this binary, `agent-daemon`, for them, so that the commands people type often (`agent
/// query`, `status`, `alerts`, `silence`) start in a few milliseconds without loading it.
@main
struct Agent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: CommandDescriptions.agent,
        discussion: CommandDescriptions.agentDiscussion,
        version: AgentVersion.string,
        subcommands: [Run.self, Check.self, Test.self, Replay.self, Scrape.self, DemoCommand.self]
    )
}
