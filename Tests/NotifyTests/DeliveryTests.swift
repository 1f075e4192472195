import Alerting
import Foundation
import Ingest
import Logging
import Testing
import TimeSeries
@testable import Notify

/// The whole pipeline against a real receiver on 127.0.0.1, through the libcurl client.
@Suite(.serialized) struct DeliveryTests {
    static let client = HTTPClient()

    /// A notifier whose one receiver, `hook`, is a webhook at `url`, with group_wait 0 and fast retries.
    func notifier(
        url: Secret, stateDir: String, hmac: Secret? = nil, timeout: Duration = .seconds(2), maxAge: Duration = .seconds(60),
        groupBy: [String] = ["alertname"], logger: Logger = quietLogger
    ) throws -> Notifier {
        let route = try Route(root: .init(receiver: "hook", groupBy: .labels(groupBy), groupWait: .zero, groupInterval: .seconds(1)))
        let integration = Integration(
            receiver: "hook", index: 0, builder: WebhookReceiver(), destination: .http(Endpoint(url: url, hmacSecret: hmac, timeout: timeout)))
        let config = Notifier.Configuration(
            route: route, integrations: [integration],
            outbox: Outbox.Configuration(directory: stateDir + "/outbox", maxAge: maxAge, initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(400)))
        let n = Notifier(configuration: config, transport: CurlTransport(client: DeliveryTests.client), logger: logger)
        try n.open()
        n.start()
        return n
    }

    @Test func aFiringAlertArrivesSignedWithItsIdempotencyKey() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        try "s3cret-hmac-key\n".write(toFile: dir + "/hmac", atomically: true, encoding: .utf8)
        let receiver = try LocalReceiver(hmacKeyFile: dir + "/hmac")
        let n = try notifier(url: .inline(receiver.url()), stateDir: dir, hmac: .file(dir + "/hmac"))
        defer { n.stop() }
        n.receive([makeAlert("DiskFull", severity: "critical", labels: ["instance": "db-1"], annotations: ["summary": "disk 97% full"])])
        let got = receiver.waitFor(1)
        try #require(got.count == 1)
        let request = got[0]
        #expect(request.path == "/hook")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["idempotency-key"]?.isEmpty == false)
        #expect(request.signatureOK == true, "Python's hmac module agrees with our X-Signature-256")
        let body = request.json
        #expect(body["version"] as? String == "4")
        #expect(body["status"] as? String == "firing")
        let alerts = body["alerts"] as? [[String: Any]]
        #expect((alerts?.first?["labels"] as? [String: String])?["severity"] == "critical")
        #expect(n.outbox.waitUntilEmpty(timeout: .seconds(5)))
        n.outbox.syncState()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/outbox") == ["state"], "delivered entries are removed")
    }

    @Test func serverErrorsAreRetriedUntilTheReceiverAccepts() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let receiver = try LocalReceiver()
        receiver.answer("500")
        let n = try notifier(url: .inline(receiver.url()), stateDir: dir)
        defer { n.stop() }
        n.receive([makeAlert("Errors")])
        let failing = receiver.waitFor(3)
        #expect(failing.count >= 3)
        receiver.answer("200")
        #expect(n.outbox.waitUntilEmpty(timeout: .seconds(10)))
        let all = receiver.requests()
        #expect(Set(all.map { $0.headers["idempotency-key"] ?? "" }).count == 1, "every attempt carries the same key")
        #expect(n.outbox.stats.delivered == 1)
        #expect(n.outbox.stats.retries >= 3)
    }

    @Test func tooManyRequestsWaitsForRetryAfter() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let receiver = try LocalReceiver()
        receiver.answer("429 2")
        let n = try notifier(url: .inline(receiver.url()), stateDir: dir)
        defer { n.stop() }
        n.receive([makeAlert("Errors")])
        let first = receiver.waitFor(1)
        try #require(first.count == 1)
        receiver.answer("200")
        let both = receiver.waitFor(2, timeout: 10)
        try #require(both.count == 2)
        let gap = both[1].time - both[0].time
        #expect(gap >= 1.9, "Retry-After: 2 is honoured although the backoff is 50 ms (waited \(gap) s)")
        #expect(n.outbox.waitUntilEmpty(timeout: .seconds(5)))
    }

    @Test func clientErrorsFailPermanentlyWithTheReceiversAnswerLogged() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let receiver = try LocalReceiver()
        receiver.answer("400")
        let log = CapturingLog()
        let n = try notifier(url: .inline(receiver.url("/hook/SECRET-TOKEN")), stateDir: dir, logger: log.logger)
        defer { n.stop() }
        n.receive([makeAlert("Errors")])
        #expect(n.outbox.waitUntilEmpty(timeout: .seconds(5)))
        Thread.sleep(forTimeInterval: 0.3)
        #expect(receiver.requests().count == 1, "not retried")
        #expect(n.outbox.stats.failedPermanently == 1)
        let lines = log.all
        #expect(lines.contains { $0.contains("failed permanently") && $0.contains("answered 400") && $0.contains("receiver says no: 400") })
        #expect(!lines.contains { $0.contains("SECRET-TOKEN") }, "the URL's path is redacted: \(lines)")
        #expect(lines.contains { $0.contains("http://127.0.0.1:\(receiver.port)/<redacted>") })
    }

    @Test func aHangingReceiverTimesOutAndIsRetried() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let receiver = try LocalReceiver()
        receiver.answer("hang")
        let n = try notifier(url: .inline(receiver.url()), stateDir: dir, timeout: .milliseconds(300))
        defer { n.stop() }
        n.receive([makeAlert("Errors")])
        _ = receiver.waitFor(1)
        Thread.sleep(forTimeInterval: 0.5)
        receiver.answer("200")
        #expect(n.outbox.waitUntilEmpty(timeout: .seconds(10)))
        #expect(n.outbox.stats.delivered == 1)
        #expect(receiver.requests().count >= 2)
    }

    @Test func aReceiverThatStaysDownIsGivenUpAfterMaxAgeAndCounted() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let receiver = try LocalReceiver()
        receiver.stop()
        let log = CapturingLog()
        let n = try notifier(url: .inline(receiver.url()), stateDir: dir, maxAge: .milliseconds(600), logger: log.logger)
        defer { n.stop() }
        n.receive([makeAlert("Errors")])
        #expect(n.outbox.waitUntilEmpty(timeout: .seconds(10)))
        #expect(n.outbox.stats.gaveUp == 1)
        #expect(n.outbox.stats.delivered == 0)
        #expect(log.all.contains { $0.hasPrefix("error") && $0.contains("given up") })
    }

    @Test func secretsComeFromFilesAndAreReadAtSendTime() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let receiver = try LocalReceiver()
        let n = try notifier(url: .file(dir + "/url"), stateDir: dir)
        defer { n.stop() }
        // The file does not exist yet: attempts fail and are retried until it appears.
        n.receive([makeAlert("Errors")])
        Thread.sleep(forTimeInterval: 0.3)
        #expect(receiver.requests().isEmpty)
        try (receiver.url("/from-file") + "\n").write(toFile: dir + "/url", atomically: true, encoding: .utf8)
        let got = receiver.waitFor(1)
        #expect(got.first?.path == "/from-file")
    }

    @Test func aHundredNotificationsDuringAnOutageArriveExactlyOnceAcrossARestart() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let receiver = try LocalReceiver()
        receiver.stop()  // the outage starts
        var produced: [String] = []

        // The first notifier produces 50 notifications and stops in the middle of the outage.
        let first = try notifier(url: .inline(receiver.url()), stateDir: dir, groupBy: ["alertname", "instance"])
        for i in 0..<50 { first.receive([makeAlert("Down", labels: ["instance": "host-\(i)"])]) }
        Thread.sleep(forTimeInterval: 0.3)
        #expect(first.outbox.stats.delivered == 0)
        #expect(first.outbox.stats.retries > 0)
        first.stop()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/outbox").filter { $0.hasSuffix(".seg") }
        #expect(files.count == 50, "every notification is on disk before its first attempt (one segment per evaluation)")

        // A new notifier on the same state directory picks them up and produces 50 more.
        let second = try notifier(url: .inline(receiver.url()), stateDir: dir, groupBy: ["alertname", "instance"])
        defer { second.stop() }
        #expect(second.outbox.stats.pending == 50)
        for i in 50..<100 { second.receive([makeAlert("Down", labels: ["instance": "host-\(i)"])]) }
        Thread.sleep(forTimeInterval: 0.3)

        try receiver.restart()  // the outage ends
        #expect(second.outbox.waitUntilEmpty(timeout: .seconds(30)))
        let got = receiver.waitFor(100)
        let keys = got.map { $0.headers["idempotency-key"] ?? "" }
        #expect(got.count == 100, "each arrived once: \(got.count) requests")
        #expect(Set(keys).count == 100)
        let instances = Set(got.compactMap { (($0.json["alerts"] as? [[String: Any]])?.first?["labels"] as? [String: String])?["instance"] })
        #expect(instances == Set((0..<100).map { "host-\($0)" }))
        produced = keys
        #expect(!produced.contains(""))
    }
}
