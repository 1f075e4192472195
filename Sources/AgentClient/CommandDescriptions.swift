import JSON
/// What `agent --help` says of the agent and of each of its commands, in one place.
public enum CommandDescriptions {
    public static let agent = "A lightweight metrics collector and alerting agent."
    public static let agentDiscussion = """
        Scrapes Prometheus/OpenMetrics endpoints and JSON health checks, tails JSONL logs, \
        keeps percentiles in a ring-buffer store, evaluates severity-tiered alert rules and \
        pushes notifications to webhooks.
        """
    public static let run = "Run the agent daemon."
    public static let check = "Check files for errors without running anything."
    public static let test = "Run unit tests of rules."
    public static let replay = "Read logs once through their mapping and print the resulting series."
    public static let scrape = "Scrape a target once and print what the agent would store."
    public static let demo = "Watch a simulated service's alerts escalate through tiers and resolve, in under a minute."
}
