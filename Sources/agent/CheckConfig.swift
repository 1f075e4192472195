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
            func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
            var parts = [
                counted(config.scrape.count, "scrape target"), counted(config.logs.count, "log"),
                "\(counted(rules.files, "rule file")) (\(counted(rules.groups, "group")))",
            ]
            if !config.gateFiles.isEmpty { parts.append(counted(gates, "gate")) }
            parts.append(counted(config.notify.receivers.count, "receiver"))
            if !config.remoteWrite.isEmpty { parts.append(counted(config.remoteWrite.count, "remote_write endpoint")) }
            print("\(file): OK, \(parts.joined(separator: ", ")); state in \(config.global.stateDir), socket \(config.listen.socket)")
        }
    }
}
