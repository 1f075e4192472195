import AgentClient
import AgentDaemon
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension Agent {
    /// `agent check config FILE`: validates a configuration and the rule files it names.
    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Check a configuration file (and the rule files it names).",
            discussion: "Prints a summary and exits 0 when valid; prints every error as file:line:column: message and exits 1 otherwise.")

        @Argument(help: "The configuration file.")
        var file: String

        func run() throws {
            let config: AgentConfig
            do {
                config = try AgentConfig.load(path: file)
            } catch {
                print("\(error)")
                throw ExitCode(1)
            }
            let rules: ConfigSummary
            do {
                rules = try ConfigSummary.rules(of: config)
            } catch {
                print("\(error)")
                throw ExitCode(1)
            }
            // Gate files (gate_files:) are checked too: the daemon refuses to start with a bad one.
            let gates: Int
            do {
                gates = try ConfigSummary.gates(of: config)
            } catch {
                print("\(error)")
                throw ExitCode(1)
            }
            print("\(file): OK, \(config.logs.count) logs, \(rules.files) rule files (\(rules.groups) groups), "
                + (config.gateFiles.isEmpty ? "" : "\(gates) gates, ")
                + "\(config.notify.receivers.count) receivers; state in \(config.global.stateDir), socket \(config.listen.socket)")
        }
    }
}
