import Foundation
import Testing

/// One executable does everything (issue 17): every command is in `agent`, and libcurl — which the
/// binary does not link — is loaded only by what sends HTTP requests, with one clear error when it
/// cannot be.
@Suite struct OneBinaryTests {
    /// The commands of the DESIGN's CLI contract, all answered by the one binary.
    static let commands = ["run", "query", "alerts", "status", "silence", "gate", "check", "test", "replay", "scrape", "demo", "version"]

    @Test func helpListsEveryCommand() throws {
        let result = try runAgent(["--help"])
        #expect(result.status == 0)
        for command in Self.commands {
            #expect(result.stdout.contains("\n  \(command) "), "agent --help does not list \(command)")
        }
    }

    @Test(arguments: ["run", "check", "scrape", "query"])
    func helpOfACommand(_ command: String) throws {
        let result = try runAgent(["help", command])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: agent \(command)"), "\(result.stdout)\(result.stderr)")
    }

    /// What the loader reports (LD_DEBUG=libs lists every library it maps, at start and at each
    /// dlopen) of a run of `agent ARGUMENTS`: whether it ran at all, and whether libcurl or a TLS
    /// library was among the libraries.
    func librariesLoaded(by arguments: [String]) throws -> (reported: Bool, curl: Bool, tls: Bool) {
        let report = try runAgent(arguments, environment: ["LD_DEBUG": "libs"]).stderr
        return (report.contains("libc.so.6"), report.contains("libcurl"), report.contains("libssl") || report.contains("libgnutls"))
    }

    @Test(arguments: [["version"], ["--help"], ["query", "agent_series", "--socket", "/nonexistent/agent.sock"], ["check", "config", "/nonexistent/agent.yaml"]])
    func commandsWithoutHTTPDoNotLoadLibcurl(_ arguments: [String]) throws {
        let loaded = try librariesLoaded(by: arguments)
        #expect(loaded.reported, "LD_DEBUG=libs reported nothing")
        #expect(!loaded.curl, "agent \(arguments.joined(separator: " ")) loads libcurl")
        #expect(!loaded.tls, "agent \(arguments.joined(separator: " ")) loads a TLS library")
    }

    @Test func scrapeLoadsLibcurlWhenItNeedsIt() throws {
        // Port 1 on loopback refuses the connection: the scrape fails, after loading libcurl.
        #expect(try librariesLoaded(by: ["scrape", "http://127.0.0.1:1/metrics"]).curl)
    }

    @Test func missingLibcurlIsOneClearErrorNotACrash() throws {
        let result = try runAgent(["scrape", "http://127.0.0.1:1/metrics"], environment: ["AGENT_LIBCURL": "/nonexistent/libcurl.so.4"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("/nonexistent/libcurl.so.4 cannot be loaded: "), "\(result.stderr)")
        #expect(result.stderr.contains("(apt-get install libcurl4)"))
    }

    @Test func aLibraryWithoutCurlsFunctionsIsRefused() throws {
        let result = try runAgent(["scrape", "http://127.0.0.1:1/metrics"], environment: ["AGENT_LIBCURL": "libc.so.6"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("libc.so.6 has no curl_global_init"), "\(result.stderr)")
    }

    @Test func runRefusesAConfigurationThatScrapesWithoutLibcurl() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onebin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("agent.yaml")
        try """
            global:
              state_dir: \(dir.path)/state
            listen:
              socket: \(dir.path)/s
              http: 127.0.0.1:0
            scrape:
              - job: app
                targets: [http://127.0.0.1:1/metrics]
            """.write(to: config, atomically: true, encoding: .utf8)
        let result = try runAgent(["run", "--config", config.path], environment: ["AGENT_LIBCURL": "/nonexistent/libcurl.so.4"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot be loaded"), "\(result.stderr)")
        #expect(result.stderr.contains("the configuration's scrape needs it"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir.path)/s"), "the daemon started")
    }
}
