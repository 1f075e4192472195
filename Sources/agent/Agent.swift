import ArgumentParser
import AgentDaemon

/// The `agent` command line: one binary for the daemon and the tools that talk to it.
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
        subcommands: [Run.self, QueryCommand.self, Alerts.self, Status.self, Silence.self, Check.self, Test.self, Replay.self, Scrape.self, Version.self]
    )
}
