import Alerting
import Foundation
import Ingest
import RE2
import Testing
import TimeSeries
@testable import Notify
#if canImport(Glibc)
import Glibc
#endif

/// The real Alertmanager (Debian's `prometheus-alertmanager`) on 127.0.0.1, started per test
/// with a temporary configuration and storage, killed at the end.
final class AlertmanagerProcess: @unchecked Sendable {
    let directory: String
    let port: Int
    let process = Process()
    let stdin = Pipe()

    static var binary: String? {
        ["/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager", "/usr/local/bin/alertmanager"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts Alertmanager with `webhook` as its only receiver (group_wait 0s, grouped by alertname).
    init(webhook: String) throws {
        guard let binary = AlertmanagerProcess.binary else { throw ReceiverError(message: "prometheus-alertmanager is not installed (make test-deps)") }
        directory = temporaryDirectory("alertmanager")
        port = try freePort()
        let config = """
            route:
              receiver: hook
              group_by: [alertname]
              group_wait: 0s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
              - name: hook
                webhook_configs:
                  - url: \(webhook)
                    send_resolved: true
            """
        try config.write(toFile: directory + "/am.yml", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--config.file=\(directory)/am.yml", "--storage.path=\(directory)/data", "--web.listen-address=127.0.0.1:\(port)",
            "--cluster.listen-address=", "--log.level=warn",
        ]
        process.standardInput = stdin
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if (try? httpGet("\(url)/-/ready").status) == 200 { return }
            usleep(50_000)
        }
        stop()
        throw ReceiverError(message: "Alertmanager did not become ready on port \(port)")
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// `GET /api/v2/alerts`: the alerts Alertmanager holds as active (not resolved).
    func alerts() throws -> [[String: Any]] {
        let (status, body) = try httpGet("\(url)/api/v2/alerts")
        guard status == 200 else { throw ReceiverError(message: "GET /api/v2/alerts answered \(status)") }
        return (try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]]) ?? []
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        removeTree(directory)
    }

    deinit { stop() }
}

/// A port nothing listens on now (bind to 0, read it, close).
func freePort() throws -> Int {
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
    guard ok else { throw ReceiverError(message: "no free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A blocking GET through the agent's HTTP client.
func httpGet(_ url: String) throws -> (status: Int, body: [UInt8]) {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<HTTPResponse, HTTPError>?
    AlertmanagerTests.client.start(HTTPRequest(url: url, timeoutMilliseconds: 2000)) {
        result = $0
        done.signal()
    }
    done.wait()
    return try result!.map { ($0.status, $0.body) }.get()
}

@Suite(.serialized) struct AlertmanagerTests {
    static let client = HTTPClient()

    func forwarder(to am: AlertmanagerProcess, stateDir: String, clock: (@Sendable () -> Timestamp)? = nil) throws -> Notifier {
        let route = try Route(root: .init(receiver: "am", groupBy: .labels(["alertname"]), groupWait: .zero, groupInterval: .seconds(1)))
        let integration = Integration(
            receiver: "am", index: 0, builder: AlertmanagerReceiver(), destination: .http(Endpoint(url: .inline(am.url + "/api/v2/alerts"))))
        let n = Notifier(
            configuration: .init(
                route: route, integrations: [integration], resendIntervals: ["am": .seconds(60)], externalURL: "http://agent.test:9464",
                outbox: .init(directory: stateDir + "/outbox", initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(200))),
            transport: CurlTransport(client: AlertmanagerTests.client), logger: quietLogger, clock: clock ?? Notifier.wallClock)
        try n.open()
        n.start()
        return n
    }

    func waitUntil(_ timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    @Test func forwardedAlertsAppearWithTheirLabelsAndResolve() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let sink = try LocalReceiver()
        let am = try AlertmanagerProcess(webhook: sink.url("/am"))
        defer { am.stop() }
        let n = try forwarder(to: am, stateDir: dir)
        defer { n.stop() }
        let now = Notifier.wallClock()
        n.receive([
            makeAlert("ApiLatency", severity: "critical", labels: ["instance": "api-1", "job": "api"], annotations: ["summary": "p95 412 ms"], at: now),
            makeAlert("ApiLatency", severity: "high", labels: ["instance": "api-2", "job": "api"], at: now),
        ])
        #expect(try waitUntil { try am.alerts().count == 2 })
        let held = try am.alerts()
        let labels = Set(held.compactMap { $0["labels"] as? [String: String] })
        #expect(labels == [
            ["alertname": "ApiLatency", "instance": "api-1", "job": "api", "severity": "critical"],
            ["alertname": "ApiLatency", "instance": "api-2", "job": "api", "severity": "high"],
        ])
        let critical = try #require(held.first { ($0["labels"] as? [String: String])?["instance"] == "api-1" })
        #expect((critical["annotations"] as? [String: String])?["summary"] == "p95 412 ms")
        #expect(critical["generatorURL"] as? String == "http://agent.test:9464")
        #expect((critical["status"] as? [String: Any])?["state"] as? String == "active")

        n.receive([makeAlert("ApiLatency", severity: "critical", state: .resolved, labels: ["instance": "api-1", "job": "api"], at: Notifier.wallClock())])
        // Resolutions go out at the group's next flush (group_interval 1 s here).
        for _ in 0..<30 where try am.alerts().count != 1 {
            n.tick()
            usleep(100_000)
        }
        let remaining = try am.alerts().compactMap { ($0["labels"] as? [String: String])?["instance"] }
        #expect(remaining == ["api-2"], "api-1 resolved")
        // Alertmanager itself told its webhook about both, then about the resolution.
        // How many firing messages come first depends on whether Alertmanager's first flush saw one
        // alert or both, so wait for the resolution itself rather than for a count of messages.
        let toldResolved = waitUntil(20) {
            sink.requests().contains { ($0.json["status"] as? String) == "resolved" || (($0.json["alerts"] as? [[String: Any]]) ?? []).contains { $0["status"] as? String == "resolved" } }
        }
        #expect(toldResolved, "\(sink.requests().map(\.body))")
    }

    @Test func anEscalationResolvesThePreviousTierInAlertmanager() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let sink = try LocalReceiver()
        let am = try AlertmanagerProcess(webhook: sink.url("/am"))
        defer { am.stop() }
        let n = try forwarder(to: am, stateDir: dir)
        defer { n.stop() }
        n.receive([makeAlert("DiskFull", severity: "high", labels: ["instance": "db-1"], at: Notifier.wallClock())])
        #expect(try waitUntil { try am.alerts().count == 1 })
        n.receive([makeAlert("DiskFull", severity: "critical", labels: ["instance": "db-1"], at: Notifier.wallClock())])
        #expect(try waitUntil {
            try am.alerts().compactMap { ($0["labels"] as? [String: String])?["severity"] } == ["critical"]
        }, "the high alert is resolved in Alertmanager, the critical one active")
    }

    @Test func ourWebhookPayloadIsByteForByteWhatAlertmanagerSends() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let sink = try LocalReceiver()
        let am = try AlertmanagerProcess(webhook: sink.url("/am"))
        defer { am.stop() }
        let n = try forwarder(to: am, stateDir: dir)
        defer { n.stop() }
        let start = Notifier.wallClock() / 1000 * 1000
        let alert = makeAlert(
            "Compat", severity: "medium", labels: ["instance": "a&b<c>", "job": "api"],
            annotations: ["summary": "quote \" and unicode é 🚨", "runbook_url": "https://r.example/x?a=1&b=2"], at: start)
        n.receive([alert])
        let got = sink.waitFor(1)
        try #require(got.count >= 1)
        let theirs = got[0].body

        // Our rendering of the same group as Alertmanager formed it.
        let ours = WebhookReceiver().payload(
            for: AlertNotification(
                receiver: "hook", groupKey: "{}:{alertname=\"Compat\"}", groupLabels: Labels(["alertname": "Compat"]),
                alerts: [
                    NotifiedAlert(
                        status: .firing, labels: alert.labels, annotations: alert.annotations, severity: "medium", startsAt: start, endsAt: nil,
                        value: 1, fingerprint: alert.fingerprint, source: "")
                ], reason: .new, idempotencyKey: "k", createdAt: start, validUntil: start, externalURL: "http://agent.test:9464")
        ).body
        // Values that legitimately differ: Alertmanager's own URL and fingerprint algorithm, and the
        // endsAt it computes for a forwarded alert. Everything else must be identical bytes.
        func normalized(_ bytes: [UInt8]) -> String {
            var s = String(decoding: bytes, as: UTF8.self)
            for field in ["externalURL", "fingerprint", "endsAt"] {
                s = s.replacingRegex("\"\(field)\":\"[^\"]*\"", with: "\"\(field)\":\"…\"")
            }
            return s
        }
        #expect(normalized(ours) == normalized(Array(theirs.utf8)), "\n ours:   \(normalized(ours))\n theirs: \(normalized(Array(theirs.utf8)))")
    }
}

extension String {
    /// Every match of `pattern` replaced by the literal `replacement` (`$` escaped as `$$`).
    func replacingRegex(_ pattern: String, with replacement: String) -> String {
        let regex = try! RegularExpression(pattern, options: .go)
        return regex.replacingAll(in: self, with: replacement.replacingOccurrences(of: "$", with: "$$"))
    }
}
