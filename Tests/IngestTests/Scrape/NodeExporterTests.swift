import Foundation
import Testing
import TimeSeries

@testable import Ingest

/// A real `prometheus-node-exporter` on 127.0.0.1, scraped and compared sample by sample with
/// an independent reading of its text, and with promtool's verdict on the pages.
@Suite(.serialized) struct NodeExporterTests {
    /// node_exporter on a free loopback port, killed at deinit.
    final class NodeExporter {
        let process = Process()
        let port = unusedLoopbackPort()

        init() throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["prometheus-node-exporter", "--web.listen-address=127.0.0.1:\(port)"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        var url: String { "http://127.0.0.1:\(port)/metrics" }

        deinit {
            kill(process.processIdentifier, SIGKILL)  // SIGTERM is blocked in children of the test process
            process.waitUntilExit()
        }
    }

    let client = HTTPClient()

    /// The page, once node_exporter answers (it takes a moment to listen).
    func fetch(_ exporter: NodeExporter) async throws -> HTTPResponse {
        var lastError: (any Error)? = nil
        for _ in 0..<50 {
            do {
                let response = try await client.send(HTTPRequest(url: exporter.url, headers: [HTTPHeader("Accept", ExpositionFormat.acceptHeader)]))
                if response.status == 200 { return response }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestServerError(message: "node_exporter did not answer: \(String(describing: lastError))")
    }

    @Test func everySampleOfTheRealPageIsStoredWithItsExactValue() async throws {
        let exporter = try NodeExporter()
        let response = try await fetch(exporter)
        #expect(response.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)

        let target = ScrapeTarget(url: exporter.url, job: "node")
        let f = ScrapeFixture(target: target, client: client)
        let report = f.loop.ingest(response.body, contentType: response.header("Content-Type"), at: f.clock.now)
        #expect(report.up, "\(String(describing: report.error))")

        let expected = try independentReading(String(decoding: response.body, as: UTF8.self))
        #expect(expected.count > 300, "node_exporter's page has hundreds of samples")
        #expect(report.samplesScraped == expected.count)
        let stored = f.store.read { reader in
            var out: [[String: String]: Double] = [:]
            for ref in reader.allSeries() {
                guard let labels = reader.labels(of: ref), let sample = reader.latest(of: ref) else { continue }
                var dict: [String: String] = [:]
                for label in labels.labels { dict[label.name] = label.value }
                out[dict] = sample.value
            }
            return out
        }
        #expect(stored.count == expected.count + 5)
        var mismatches: [String] = []
        for (labels, value) in expected {
            var withTarget = labels
            withTarget["job"] = "node"
            withTarget["instance"] = "127.0.0.1:\(exporter.port)"
            guard let got = stored[withTarget] else {
                mismatches.append("missing \(labels)")
                continue
            }
            if !(got.bitPattern == value.bitPattern || (got.isNaN && value.isNaN)) {
                mismatches.append("\(labels): stored \(got), page says \(value)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    @Test func aLiveScrapeStoresTheSameSeriesAsThePage() async throws {
        let exporter = try NodeExporter()
        let response = try await fetch(exporter)
        let page = try independentReading(String(decoding: response.body, as: UTF8.self))
        let f = ScrapeFixture(target: ScrapeTarget(url: exporter.url, job: "node"), client: client)
        let report = await f.loop.scrape()
        #expect(report.up, "\(String(describing: report.error))")
        #expect(report.format == .prometheusText)
        #expect(report.bodyBytes > 10_000)
        let names = Set(f.seriesNames().compactMap { $0.split(separator: "{").first.map(String.init) })
        let pageNames = Set(page.keys.compactMap { $0["__name__"] })
        #expect(pageNames.subtracting(names).isEmpty, "\(pageNames.subtracting(names))")
        #expect(f.value(#"up{instance="127.0.0.1:\#(exporter.port)", job="node"}"#) == 1)
        f.clock.now += 15_000
        let second = await f.loop.scrape()
        #expect(second.up && second.seriesAdded <= 3, "a steady page adds (almost) no series: \(second.seriesAdded)")
    }

    /// promtool lints with client_golang's parser, which is stricter than the Prometheus server's
    /// scrape parser (and ours) in two ways edge-cases.prom exercises: it refuses unknown escapes
    /// such as `\t` (kept as written by the scraper) and a missing final newline. promtool is shown
    /// the page without that one line and with a final newline.
    @Test(arguments: ["node_exporter.prom", "edge-cases.prom", "simple.prom", "malformed.prom"])
    func promtoolAndTheParserAgreeOnWhichPagesParse(page: String) throws {
        let path = fixturesDirectory.appendingPathComponent("pages/\(page)").path
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let ours = parseAll(bytes, .prometheusText)
        let shown = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("untouched_escape{") }.joined(separator: "\n") + "\n"
        let promtool = Process()
        promtool.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        promtool.arguments = ["promtool", "check", "metrics"]
        let input = Pipe()
        promtool.standardInput = input
        promtool.standardOutput = FileHandle.nullDevice
        promtool.standardError = FileHandle.nullDevice
        try promtool.run()
        input.fileHandleForWriting.write(Data(shown.utf8))
        try input.fileHandleForWriting.close()
        promtool.waitUntilExit()
        // promtool exits 0 for a clean page, 3 for lint findings, 1 when the page does not parse.
        let promtoolParsed = promtool.terminationStatus == 0 || promtool.terminationStatus == 3
        switch ours {
        case .success: #expect(promtoolParsed, "promtool exit \(promtool.terminationStatus) on a page we accept")
        case .failure(let error): #expect(!promtoolParsed, "promtool accepts a page we reject: \(error)")
        }
    }
}

/// The samples of a text page read without the parser under test: a line-by-line reading over
/// Characters, labels split with their escapes resolved, the value read by `Double(String)`.
func independentReading(_ page: String) throws -> [[String: String]: Double] {
    var out: [[String: String]: Double] = [:]
    for line in page.split(separator: "\n") where !line.hasPrefix("#") && !line.allSatisfy(\.isWhitespace) {
        var labels: [String: String] = [:]
        var rest: Substring
        if let brace = line.firstIndex(of: "{") {
            labels["__name__"] = String(line[..<brace])
            var chars = line[line.index(after: brace)...].makeIterator()
            var name = "", value = ""
            var inValue = false, escaped = false
            rest = ""
            while let c = chars.next() {
                if inValue {
                    if escaped {
                        value.append(c == "n" ? "\n" : c)
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        labels[name] = value
                        name = ""
                        value = ""
                        inValue = false
                    } else {
                        value.append(c)
                    }
                } else if c == "\"" {
                    inValue = true
                } else if c == "}" {
                    rest = Substring(String(chars.map { $0 }))
                    break
                } else if c != "=" && c != "," {
                    name.append(c)
                }
            }
        } else {
            let parts = line.split(separator: " ", maxSplits: 1)
            labels["__name__"] = String(parts[0])
            rest = parts.count > 1 ? parts[1] : ""
        }
        let fields = rest.split(separator: " ")
        guard let first = fields.first, let value = Double(String(first)) else {
            throw TestServerError(message: "cannot read \(line)")
        }
        out[labels.filter { !$0.value.isEmpty }] = value
    }
    return out
}
