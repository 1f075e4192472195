import Foundation
import Testing

/// `agent scrape` run as a user runs it, against the Python test server of the Ingest tests.
@Suite(.serialized) struct ScrapeCommandTests {
    /// Tests/IngestTests/Scrape/Fixtures/test_server.py on 127.0.0.1, killed at deinit.
    final class PageServer {
        let process = Process()
        let stdin = Pipe()
        let port: Int

        init() throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("IngestTests/Scrape/Fixtures/test_server.py")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path]
            let out = Pipe()
            process.standardOutput = out
            process.standardInput = stdin
            try process.run()
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }

        func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

        deinit {
            try? stdin.fileHandleForWriting.close()
            kill(process.processIdentifier, SIGKILL)  // SIGTERM is blocked in children of the test process
            process.waitUntilExit()
        }
    }

    let server: PageServer
    init() throws { server = try PageServer() }

    /// The output with the one value that changes between runs (the duration) masked.
    func masked(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("scrape_duration_seconds") || line.hasPrefix("probe_duration_seconds")
                ? line.split(separator: " ").dropLast().joined(separator: " ") + " <duration>" : String(line)
        }.joined(separator: "\n")
    }

    @Test func aGoodPagePrintsItsSamplesThenTheScrapesSeriesAndExitsZero() throws {
        let result = try runAgent(["scrape", server.url("/pages/simple.prom"), "--job", "node", "--label", "env=test"])
        #expect(result.status == 0, "\(result.stderr)")
        let i = "env=\"test\",instance=\"127.0.0.1:\(server.port)\",job=\"node\""
        #expect(
            masked(result.stdout) == """
                requests_total{code="200",\(i)} 1027
                requests_total{code="500",\(i)} 3
                temperature_celsius{\(i)} 21.5
                up{\(i)} 1
                scrape_duration_seconds{\(i)} <duration>
                scrape_samples_scraped{\(i)} 3
                scrape_samples_post_metric_relabeling{\(i)} 3
                scrape_series_added{\(i)} 3

                """)
        #expect(result.stderr.isEmpty)
    }

    @Test func aMalformedPageExitsOneWithTheLine() throws {
        let result = try runAgent(["scrape", server.url("/pages/malformed.prom")])
        #expect(result.status == 1)
        #expect(result.stderr == "agent scrape: \(server.url("/pages/malformed.prom")): line 2: expected \",\" or \"}\" after a label value, got \"2\"\n")
        #expect(result.stdout.contains("up{instance=\"127.0.0.1:\(server.port)\",job=\"scrape\"} 0\n"))
    }

    @Test func aTimeoutExitsOne() throws {
        let result = try runAgent(["scrape", server.url("/slow?ms=3000"), "--timeout", "300ms"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("timed out after 300ms"))
    }

    @Test func aHealthTargetPrintsProbeSeries() throws {
        let ok = try runAgent(["scrape", server.url("/pages/health.1"), "--format", "health", "--expect-json", "status == ok", "--expect-json", "checks.db.latency_ms < 100"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("probe_success{instance=\"127.0.0.1:\(server.port)\",job=\"scrape\"} 1\n"))
        #expect(ok.stdout.contains(#"probe_failed_condition{condition="body.status == \"ok\"",instance="#))
        let bad = try runAgent(["scrape", server.url("/pages/health.2"), "--format", "health", "--expect-json", "status == ok"])
        #expect(bad.status == 1)
        #expect(bad.stderr.hasSuffix(#": body.status == "ok" failed: got "degraded""# + "\n"))
    }

    @Test(arguments: [
        (["scrape", "ftp://x/"], "the URL must start with http:// or https://"),
        (["scrape", "http://x/", "--timeout", "soon"], "expected a duration such as 5s or 500ms"),
        (["scrape", "http://x/", "--expect-status", "200"], "need --format health"),
        (["scrape", "http://x/", "--format", "health", "--expect-json", "status"], "--expect-json wants"),
        (["scrape", "http://x/", "--format", "health", "--expect-json", "status =~ ok|(?!down)"], "--expect-json: invalid regular expression \"ok|(?!down)\": invalid or unsupported Perl syntax: `(?!`"),
        (["scrape", "http://x/", "--username", "u"], "--username and --password-file go together"),
    ])
    func badArgumentsAreRefusedWithAReason(arguments: [String], message: String) throws {
        let result = try runAgent(arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}
