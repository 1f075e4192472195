import ArgumentParser
import AgentDaemon
import Foundation

/// Options of every command that talks to the running daemon.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The daemon's control socket.")
    var socket: String = ProcessInfo.processInfo.environment["AGENT_SOCKET"] ?? ListenConfig().socket

    @Option(name: .long, help: "Output format: text or json.")
    var output: OutputFormat = .text

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    var client: ControlClient { ControlClient(socketPath: socket) }

    /// GETs an API path and returns its `data` field; prints the error and exits non-zero otherwise.
    func get(_ path: String, form: [String: String] = [:], method: String = "GET") throws -> Any {
        let response: ControlClient.Response
        do {
            response = try client.request(method, path, form: form)
        } catch {
            throw CLIError(error.description)
        }
        let object = try? JSONSerialization.jsonObject(with: response.body)
        guard let document = object as? [String: Any] else {
            throw CLIError("unexpected answer from the agent (HTTP \(response.status)): \(String(decoding: response.body.prefix(200), as: UTF8.self))")
        }
        if document["status"] as? String == "error" {
            throw CLIError(document["error"] as? String ?? "the agent answered with an error")
        }
        return document["data"] ?? NSNull()
    }
}

/// A one-line error for the user; exits 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Prints `object` as JSON (sorted keys, one line).
func printJSON(_ object: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
        print(String(decoding: data, as: UTF8.self))
    }
}
