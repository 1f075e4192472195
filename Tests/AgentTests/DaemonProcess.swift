import AgentClient
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
    /// True when this object made `dir` (and so removes it).
    let ownsDirectory: Bool
    let globalExtra: String, listenExtra: String, http: String
    /// The soft and hard `RLIMIT_NOFILE` of the agent, when a test lowers it.
    let fileLimit: Int?

    /// Writes a config (the given YAML, with state_dir and socket filled in) and starts the agent.
    init(extraConfig: String = "", globalExtra: String = "", listenExtra: String = "", http: String = "127.0.0.1:0", dir existing: URL? = nil,
         fileLimit: Int? = nil) throws {
        self.fileLimit = fileLimit
        dir = existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("agent-e2e-\(UUID().uuidString.prefix(8))")
        ownsDirectory = existing == nil
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        socket = dir.appendingPathComponent("agent.sock").path
        configPath = dir.appendingPathComponent("agent.yaml").path
        logURL = dir.appendingPathComponent("agent.log")
        self.globalExtra = globalExtra
        self.listenExtra = listenExtra
        self.http = http
        try writeConfig(extraConfig: extraConfig)
        try start()
    }

    /// The configuration: state_dir, socket and the init's global/listen additions, then `extraConfig`.
    func configText(extraConfig: String) -> String {
        """
        global:
          state_dir: \(dir.appendingPathComponent("state").path)
          scrape_interval: 1s
          checkpoint_interval: 1s
        \(globalExtra)
        listen:
          socket: \(socket)
          http: \(http)
        \(listenExtra)
        \(extraConfig)
        """
    }

    /// (Re)writes the configuration file atomically (a new inode, as editors and config managers do).
    func writeConfig(extraConfig: String) throws {
        try configText(extraConfig: extraConfig).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func start() throws {
        if !FileManager.default.fileExists(atPath: logURL.path) { _ = FileManager.default.createFile(atPath: logURL.path, contents: nil) }
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        if let fileLimit {
            // The shell lowers the descriptor limit, then becomes the agent.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(fileLimit) && exec \"$0\" run --config \"$1\"", agentExecutableURL().path, configPath]
        } else {
            process.executableURL = agentExecutableURL()
            process.arguments = ["run", "--config", configPath]
        }
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
        if ownsDirectory { try? FileManager.default.removeItem(at: dir) }
    }

    /// How many times the log holds `text`.
    func logCount(_ text: String) -> Int { log.components(separatedBy: text).count - 1 }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}

/// A TCP port on 127.0.0.1 nothing listens on now (bind to 0, read it, close).
func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw DaemonProcess.Failure("no free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
}
