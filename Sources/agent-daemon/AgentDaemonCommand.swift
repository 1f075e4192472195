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
        abstract: "A lightweight metrics collector and alerting agent.",
        discussion: """
            Scrapes Prometheus/OpenMetrics endpoints and JSON health checks, tails JSONL logs, \
            keeps percentiles in a ring-buffer store, evaluates severity-tiered alert rules and \
            pushes notifications to webhooks.
            """,
        version: AgentVersion.string,
        subcommands: [Run.self, Check.self, Test.self, Replay.self, Scrape.self, DemoCommand.self]
    )
}
