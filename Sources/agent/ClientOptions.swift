import AgentClient
import JSON
import ArgumentParser
import FoundationEssentials

/// Options of every command that talks to the running daemon.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The daemon's control socket.")
    var socket: String = ProcessInfo.processInfo.environment["AGENT_SOCKET"] ?? ControlClient.defaultSocket

    @Option(name: .long, help: "Output format: text or json.")
    var output: OutputFormat = .text

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    var client: ControlClient { ControlClient(socketPath: socket) }

    /// Sends a request and returns the answer's `data` field; throws a one-line error otherwise.
    func get(_ path: String, form: [String: String] = [:], method: String = "GET") throws -> JSON {
        let response: ControlClient.Response
        do {
            response = try client.request(method, path, form: form)
        } catch {
            throw CLIError(error.description)
        }
        guard let document = JSON.parse(response.body), case .object = document else {
            throw CLIError("unexpected answer from the agent (HTTP \(response.status)): \(String(decoding: response.body.prefix(200), as: UTF8.self))")
        }
        if document["status"]?.string == "error" {
            throw CLIError(document["error"]?.string ?? "the agent answered with an error")
        }
        return document["data"] ?? .null
    }
}

/// Prints `value` as JSON (sorted keys, one line).
func printJSON(_ value: JSON) {
    print(value.json)
}
