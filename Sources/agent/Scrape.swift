import TextRendering
import AgentClient
import JSON
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import AgentDaemon
import Ingest
import TimeSeries

extension Agent {
    /// `agent scrape URL`: one scrape, printed as the agent would store it.
    struct Scrape: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: CommandDescriptions.scrape,
            discussion: """
                Prints the samples with their final labels in the Prometheus text format, then the \
                scrape's own series (up, scrape_duration_seconds, …; probe_* for health targets). \
                Exits 0 when the scrape succeeded, 1 with the error otherwise. Credentials are read \
                from files only.
                """)

        @Argument(help: "The URL to scrape (http:// or https://).")
        var url: String

        @Option(help: "How to read the response: prometheus (text or OpenMetrics) or health.")
        var format: FormatOption = .prometheus

        enum FormatOption: String, ExpressibleByArgument, CaseIterable { case prometheus, health }

        @Option(help: "Deadline of the scrape, e.g. 5s or 500ms.", transform: parseDuration)
        var timeout: Milliseconds = 5_000

        @Option(help: "The job label.")
        var job = "scrape"

        @Option(help: "The instance label (default: the URL's host:port).")
        var instance: String?

        @Option(name: .customLong("label"), help: "A target label, NAME=VALUE (repeatable).")
        var labels: [String] = []

        @Flag(help: "Keep scraped labels that conflict with target labels (instead of exporting them).")
        var honorLabels = false

        @Option(name: .customLong("header"), help: "A request header, 'Name: value' (repeatable).")
        var headers: [String] = []

        @Option(help: "PEM file of the CA to trust for https.")
        var caFile: String?

        @Option(help: "PEM client certificate for https.")
        var certFile: String?

        @Option(help: "PEM key of the client certificate.")
        var keyFile: String?

        @Flag(help: "Do not verify the server's certificate (tests only).")
        var insecureSkipVerify = false

        @Option(help: "File holding a bearer token.")
        var bearerTokenFile: String?

        @Option(help: "User name for basic authentication (with --password-file).")
        var username: String?

        @Option(help: "File holding the basic-authentication password.")
        var passwordFile: String?

        @Option(help: "Health: an acceptable status code (repeatable; default any 2xx).")
        var expectStatus: [Int] = []

        @Option(help: "Health: longest acceptable response time, e.g. 300ms.", transform: parseDuration)
        var maxResponseTime: Milliseconds?

        @Option(help: "Health: a JSON condition, e.g. 'status == ok', 'checks.db.latency_ms < 100', 'version =~ 1\\..*' (repeatable).")
        var expectJSON: [String] = []

        @Option(help: "Health: text the body must contain (repeatable).")
        var expectBody: [String] = []

        @Option(help: "Scrape this many times in a row, reusing the series cache as the daemon does; prints the last scrape and, on stderr, the CPU time per scrape.")
        var `repeat` = 1

        func validate() throws {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ValidationError("the URL must start with http:// or https://: \(url)")
            }
            guard `repeat` >= 1 else { throw ValidationError("--repeat must be at least 1") }
            if (username == nil) != (passwordFile == nil) {
                throw ValidationError("--username and --password-file go together")
            }
            if format == .prometheus && !(expectStatus.isEmpty && maxResponseTime == nil && expectJSON.isEmpty && expectBody.isEmpty) {
                throw ValidationError("--expect-status, --max-response-time, --expect-json and --expect-body need --format health")
            }
            _ = try makeTarget()
        }

        func makeTarget() throws -> ScrapeTarget {
            var staticLabels: [String: String] = [:]
            for pair in labels {
                guard let eq = pair.firstIndex(of: "="), pair[..<eq].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !pair[..<eq].isEmpty else {
                    throw ValidationError("--label wants NAME=VALUE, got \(pair)")
                }
                staticLabels[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
            var target = ScrapeTarget(url: url, job: job, instance: instance, labels: staticLabels, format: format == .health ? .health : .prometheus, timeout: timeout)
            target.honorLabels = honorLabels
            for header in headers {
                guard let colon = header.firstIndex(of: ":") else { throw ValidationError("--header wants 'Name: value', got \(header)") }
                target.http.headers.append(
                    HTTPHeader(String(header[..<colon]), header[header.index(after: colon)...].trimmingWhitespace()))
            }
            target.http.tls = TLSOptions(caFile: caFile, certFile: certFile, keyFile: keyFile, insecureSkipVerify: insecureSkipVerify)
            if let bearerTokenFile {
                target.http.authorization = .bearer(tokenFile: bearerTokenFile)
            } else if let username, let passwordFile {
                target.http.authorization = .basic(username: username, passwordFile: passwordFile)
            }
            var body = expectBody.map { BodyCondition(.contains($0)) }
            for text in expectJSON { body.append(BodyCondition(try parseJSONCondition(text))) }
            target.health = HealthExpectations(statusCodes: expectStatus, maxResponseTime: maxResponseTime, body: body)
            return target
        }

        func run() async throws {
            let target = try makeTarget()
            var config = StoreConfig()
            config.seriesLimit = 1_000_000
            let store = SeriesStore(config: config)
            let client = HTTPClient(userAgent: "agent/\(AgentVersion.string)")
            let loop = ScrapeLoop(target: target, store: store, client: client)

            var report = await loop.scrape()
            let cpuBefore = cpuTime()
            let started = ContinuousClock.now
            for _ in 1..<`repeat` { report = await loop.scrape() }
            if `repeat` > 1 {
                let cpuAfter = cpuTime()
                let cpu = (user: cpuAfter.user - cpuBefore.user, system: cpuAfter.system - cpuBefore.system, total: cpuAfter.total - cpuBefore.total)
                let n = Double(`repeat` - 1)
                let wall = (ContinuousClock.now - started) / (`repeat` - 1)
                let wallMs = Double(wall.components.attoseconds) / 1e15 + Double(wall.components.seconds) * 1000
                let ms = { (v: Double) in CFormat.printf("%.3f", v) }
                writeAll(2, Array((
                    "agent scrape: \(`repeat` - 1) scrapes after the first, \(ms(cpu.total / n * 1000)) ms CPU per scrape (user \(ms(cpu.user / n * 1000)), "
                        + "system \(ms(cpu.system / n * 1000))), \(ms(wallMs)) ms wall per scrape, \(report.bodyBytes) bytes per body\n").utf8))
            }
            client.shutdown()

            var writer = ExpositionWriter(capacity: 1 << 16)
            store.read { reader in
                for ref in reader.allSeries() {
                    guard let labels = reader.labels(of: ref), let sample = reader.latest(of: ref) else { continue }
                    writer.sample(labels.metricName ?? "", labels, value: sample.value, timestamp: sample.timestamp == report.timestamp ? nil : sample.timestamp)
                }
            }
            writeAll(1, Array(writer.bytes))
            if let error = report.error {
                writeAll(2, Array("agent scrape: \(url): \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

/// `5s`, `500ms`, `1m`, `1.5s` or plain seconds, as milliseconds.
@Sendable func parseDuration(_ text: String) throws -> Milliseconds {
    let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
    for (unit, factor) in units where text.hasSuffix(unit) {
        let number = text.dropLast(unit.count)
        if let v = Double(number), v > 0, v.isFinite, !(unit == "m" && number.hasSuffix("m")) { return Milliseconds((v * factor).rounded()) }
    }
    if let v = Double(text), v > 0, v.isFinite { return Milliseconds((v * 1000).rounded()) }
    throw ValidationError("expected a duration such as 5s or 500ms, got \(text)")
}

/// `path OP value` with OP one of `==`, `!=`, `=~`, `<=`, `>=`, `<`, `>`; or `path exists`.
func parseJSONCondition(_ text: String) throws -> BodyCondition.Check {
    let trimmed = text.trimmingWhitespace()
    if trimmed.hasSuffix(" exists") {
        return .json(path: String(trimmed.dropLast(" exists".count)).trimmingWhitespace(), .exists)
    }
    for op in ["==", "!=", "=~", "<=", ">=", "<", ">"] {
        guard let range = trimmed.firstRange(of: op) else { continue }
        let path = trimmed[..<range.lowerBound].trimmingWhitespace()
        var value = trimmed[range.upperBound...].trimmingWhitespace()
        if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
        guard !path.isEmpty else { break }
        func number() throws -> Double {
            guard let v = Double(value) else { throw ValidationError("--expect-json: \(op) needs a number, got \(value)") }
            return v
        }
        switch op {
        case "==": return .json(path: path, .equals(value))
        case "!=": return .json(path: path, .notEquals(value))
        case "=~":
            if let problem = JSONCondition.problem(withPattern: value) { throw ValidationError("--expect-json: \(problem)") }
            return .json(path: path, .matches(value))
        case "<=": return .json(path: path, .lessOrEqual(try number()))
        case ">=": return .json(path: path, .greaterOrEqual(try number()))
        case "<": return .json(path: path, .lessThan(try number()))
        default: return .json(path: path, .greaterThan(try number()))
        }
    }
    throw ValidationError("--expect-json wants 'PATH OP VALUE' (OP: == != =~ < <= > >=) or 'PATH exists', got \(text)")
}

/// CPU time of the whole process so far (all threads), in seconds.
func cpuTime() -> (user: Double, system: Double, total: Double) {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    return (user, system, user + system)
}
