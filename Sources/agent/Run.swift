import AgentClient
import ArgumentParser
import AgentDaemon
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Ingest
import Logging

extension Agent {
    /// `agent run`: the daemon.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: CommandDescriptions.run,
            discussion: """
                Without --config a built-in default serves: it monitors the agent itself. \
                SIGHUP, or a change of the configuration or of a rule file, reloads the configuration \
                (an invalid one is refused and the running one kept); \
                SIGTERM drains: a final checkpoint, then exit.
                """)

        @Option(name: .long, help: "Path of the YAML configuration file.")
        var config: String?

        @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
        var logLevel: String = "info"

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let level = Logger.Level(rawValue: logLevel) ?? .info
            let journald = environment["JOURNAL_STREAM"] != nil
            LoggingSystem.bootstrap { ConsoleLogHandler(label: $0, level: level, journald: journald) }
            let logger = Logger(label: "agent")
            let loaded: AgentConfig
            do {
                loaded = try config.map(AgentConfig.load(path:)) ?? AgentConfig()
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            if let reason = Self.missingHTTPLibrary(for: loaded) {
                printError("agent: \(reason)")
                throw ExitCode(1)
            }
            let status = await Daemon(config: loaded, logger: logger, environment: environment).run()
            if status != 0 { throw ExitCode(status) }
        }

        /// Why the configuration cannot run here: it sends HTTP requests (scrapes, notifications,
        /// remote write) and libcurl, loaded now rather than at the first scrape, is missing.
        static func missingHTTPLibrary(for config: AgentConfig) -> String? {
            var users: [String] = []
            if !config.scrape.isEmpty { users.append("scrape") }
            if config.notify.isEnabled { users.append("notify") }
            if !config.remoteWrite.isEmpty { users.append("remote_write") }
            guard !users.isEmpty, let reason = HTTPClient.libraryError() else { return nil }
            return "\(reason); the configuration's \(users.joined(separator: ", ")) need\(users.count == 1 ? "s" : "") it"
        }
    }
}
