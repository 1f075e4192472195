import Foundation
import AgentDaemon
#if canImport(Glibc)
import Glibc
#endif

/// A real `agent run` in a scratch folder, for end-to-end tests; stopped (SIGKILL) on deinit.
final class DaemonProcess {
    let dir: URL
    let socket: String
    let configPath: String
    let process = Process()
    let logURL: URL

    /// Writes a config (the given YAML, with state_dir and socket filled in) and starts the agent.
    init(extraConfig: String = "", globalExtra: String = "", dir existing: URL? = nil) throws {
        dir = existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("agent-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        socket = dir.appendingPathComponent("agent.sock").path
        configPath = dir.appendingPathComponent("agent.yaml").path
        logURL = dir.appendingPathComponent("agent.log")
        let config = """
            global:
              state_dir: \(dir.appendingPathComponent("state").path)
              scrape_interval: 1s
              checkpoint_interval: 1s
            \(globalExtra)
            listen:
              socket: \(socket)
              http: 127.0.0.1:0
            \(extraConfig)
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        try start()
    }

    func start() throws {
        if !FileManager.default.fileExists(atPath: logURL.path) { FileManager.default.createFile(atPath: logURL.path, contents: nil) }
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        process.executableURL = agentExecutableURL()
        process.arguments = ["run", "--config", configPath]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try waitUntilReady()
    }

    /// Polls /-/ready for up to 20 s.
    func waitUntilReady() throws {
        let client = ControlClient(socketPath: socket, timeout: 2)
        for _ in 0..<400 {
            if let r = try? client.request("GET", "/-/ready"), r.status == 200 { return }
            guard process.isRunning else { throw Failure("agent exited early:\n\(log)") }
            usleep(50_000)
        }
        throw Failure("agent not ready after 20 s:\n\(log)")
    }

    /// The agent's log so far.
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Runs the CLI against this daemon.
    func cli(_ arguments: [String]) throws -> AgentResult { try runAgent(arguments + ["--socket", socket]) }

    /// Sends a signal and, for SIGTERM/SIGKILL, waits for the exit.
    @discardableResult
    func signal(_ sig: Int32) -> Int32? {
        kill(process.processIdentifier, sig)
        guard sig == SIGTERM || sig == SIGKILL || sig == SIGINT else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dir)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}
