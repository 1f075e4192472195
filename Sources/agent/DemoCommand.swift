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
    /// `agent demo`: the whole loop, on this machine, in under a minute.
    struct DemoCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo",
            abstract: CommandDescriptions.demo)

        @Option(name: .long, help: "How many times faster than real time the scenario runs.")
        var speed: Double = 20

        @Option(name: .long, help: "Folder holding api.yaml and latency.yaml (default: ./rules, then /etc/agent/rules).")
        var rules: String?

        @Flag(name: .long, help: "Show a canary rollout decided by rollout gates instead: it passes one gate and fails the next.")
        var gate = false

        func validate() throws {
            guard speed >= 1 && speed <= 200 else { throw ValidationError("--speed must be between 1 and 200") }
        }

        func run() throws {
            if gate {
                let status = try GateDemo(speed: speed) { line in writeAll(1, Array((line + "\n").utf8)) }.run()
                if status != 0 { throw ExitCode(status) }
                return
            }
            let candidates = [rules, "rules", "/etc/agent/rules"].compactMap { $0 }
            guard let dir = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "/api.yaml") }) else {
                throw CLIError("no rules folder with api.yaml found (tried \(candidates.joined(separator: ", "))); give --rules DIR")
            }
            let absolute = dir.hasPrefix("/") ? dir : FileManager.default.currentDirectoryPath + "/" + dir
            // One write(2) per line, so the lines show as they happen even through a pipe.
            let status = try Demo(rulesDirectory: absolute, speed: speed) { line in
                writeAll(1, Array((line + "\n").utf8))
            }.run()
            if status != 0 { throw ExitCode(status) }
        }
    }
}
