import AgentClient
import JSON
import TextRendering
import ArgumentParser
import FoundationEssentials

extension Agent {
    /// `agent silence add|list|expire`.
    struct Silence: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mute notifications for alerts that match, for a while.",
            subcommands: [Add.self, List.self, Expire.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Add a silence: agent silence add alertname=\"ApiLatency\" route=\"/api\" --for 2h --comment \"deploy\"")

            @Argument(help: "Matchers: name=\"value\", name!=\"value\", name=~\"regex\", name!~\"regex\".")
            var matchers: [String]

            @Option(name: .customLong("for"), help: "How long the silence lasts (e.g. 30m, 2h).")
            var duration: String = "1h"

            @Option(name: .long, help: "Why the silence exists.")
            var comment: String

            @Option(name: .long, help: "Who creates it (default: $USER).")
            var author: String = ProcessInfo.processInfo.environment["USER"] ?? "unknown"

            @OptionGroup var client: ClientOptions

            func run() throws {
                let data = try client.get("/api/v1/silences", form: ["matchers": matchers.joined(separator: ","), "duration": duration,
                                                                   "comment": comment, "author": author], method: "POST")
                if client.output == .json { printJSON(data); return }
                print("silence \(data["id"]?.text ?? "?") until \(Silence.time(data["endsAt"]))")
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List silences: active, pending and recently expired.")
            @OptionGroup var client: ClientOptions

            func run() throws {
                let data = try client.get("/api/v1/silences")
                if client.output == .json { printJSON(data); return }
                let silences = data.array
                if silences.isEmpty { print("no silences"); return }
                for s in silences {
                    let matchers = s["matchers"]?.array.compactMap(\.string).joined(separator: " ") ?? ""
                    print("\(s["id"]?.text ?? "?")  \(s["state"]?.text ?? "?")  until \(Silence.time(s["endsAt"]))  \(matchers)  by \(s["createdBy"]?.text ?? "?"): \(s["comment"]?.text ?? "")")
                }
            }
        }

        struct Expire: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "End a silence now.")
            @Argument(help: "The silence's id (from agent silence list).")
            var id: String
            @OptionGroup var client: ClientOptions

            func run() throws {
                let data = try client.get("/api/v1/silences/expire", form: ["id": id], method: "POST")
                if client.output == .json { printJSON(data); return }
                print("silence \(id) expired")
            }
        }

        static func time(_ seconds: JSON?) -> String {
            guard let s = seconds?.double, s.isFinite, abs(s) < 1e14 else { return "?" }
            // Whole seconds, as the table has always shown them.
            return RFC3339.format(Int64(s.rounded(.down)) * 1000)
        }
    }
}
