import Alerting
import Foundation
import Synchronization
import Testing
import TimeSeries
@testable import Notify

/// The reproductions of issue 12 (item 5) and 19 (item 4), each against a whole `Notifier` under a
/// manual clock and a scripted transport: a crash during a receiver outage, a refused "firing",
/// SIGTERM, a reload that reorders integrations.
@Suite struct RecoveryTests {
    let clock = ManualClock()
    static let refused: Result<TransportResponse, TransportError> = .failure(TransportError(retryable: true, "connection refused"))

    func integration(_ receiver: String, _ index: Int, _ builder: any PayloadBuilder, path: String, sendResolved: Bool = true) -> Integration {
        Integration(
            receiver: receiver, index: index, builder: builder,
            destination: .http(Endpoint(url: .inline("http://127.0.0.1:9\(path)"))), sendResolved: sendResolved)
    }

    func configuration(_ dir: String, integrations: [Integration]? = nil, receivers: [String] = ["hook"]) throws -> Notifier.Configuration {
        let route = try Route(
            root: .init(receiver: receivers[0], groupBy: .labels(["alertname", "instance"]), groupWait: .zero, groupInterval: .seconds(1)))
        return Notifier.Configuration(
            route: route, integrations: integrations ?? [integration("hook", 0, WebhookReceiver(), path: "/hook")],
            outbox: .init(directory: dir + "/outbox", maxAge: .seconds(3600), initialBackoff: .seconds(1), maxBackoff: .seconds(60)))
    }

    func notifier(_ dir: String, _ transport: FakeTransport, integrations: [Integration]? = nil, log: CapturingLog? = nil) throws -> Notifier {
        let n = Notifier(
            configuration: try configuration(dir, integrations: integrations), transport: transport, logger: log?.logger ?? quietLogger,
            clock: clock.read, random: { $0.upperBound })
        try n.open()
        n.start()
        return n
    }

    /// Lets the outbox run what is due and what that scheduled.
    func settle(_ n: Notifier) {
        n.outbox.pump()
        for _ in 0..<20 { n.outbox.queue.sync {} }
    }

    /// Moves the clock on second by second, ticking and settling.
    func advance(_ n: Notifier, seconds: Int) {
        for _ in 0..<seconds {
            clock.advance(seconds: 1)
            n.tick()
            settle(n)
        }
    }

    func alert(_ instance: String, _ state: Alert.State = .firing, at: Timestamp? = nil) -> Alert {
        makeAlert("Down", severity: "critical", state: state, labels: ["instance": instance], at: at ?? clock.value)
    }

    /// What a webhook request announced: `instance/status` per alert.
    static func announced(_ r: TransportRequest) -> [String] {
        let alerts = jsonObject(r.body)["alerts"] as? [[String: Any]] ?? []
        return alerts.map { a in "\((a["labels"] as? [String: String])?["instance"] ?? "?")/\(a["status"] as? String ?? "?")" }
    }

    /// Requests the receiver accepted (the transport answered 2xx), in order.
    final class Accepting: Transport {
        let inner = FakeTransport()
        let accepted = Mutex<[TransportRequest]>([])
        func send(_ request: TransportRequest, completion: @escaping @Sendable (Result<TransportResponse, TransportError>) -> Void) {
            inner.send(request) { result in
                if case .success(let r) = result, (200..<300).contains(r.status) { self.accepted.withLock { $0.append(request) } }
                completion(result)
            }
        }
    }

    enum Restart: String, CaseIterable, CustomTestStringConvertible {
        /// The alert states were in the checkpoint: the alert comes back with its start time.
        case sameStart
        /// They were not: the rule sees the condition again and the alert starts anew.
        case laterStart
        var testDescription: String { rawValue }
    }

    @Test(arguments: Restart.allCases)
    func aCrashDuringAnOutageNeverDuplicatesAFiringUnderAnotherKey(restart: Restart) throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let down = FakeTransport()
        down.answerAlways(Self.refused)
        let started = clock.value
        var first: Notifier? = try notifier(dir, down)
        first!.receive([alert("db-1", at: started)])
        settle(first!)
        #expect(down.requests.count == 1, "tried once, the receiver is down")
        // kill -9: no stop, no checkpoint since the alert fired.
        first = nil

        clock.advance(seconds: 5)
        let up = FakeTransport()
        let second = try notifier(dir, up)
        let start = restart == .sameStart ? started : clock.value
        second.receive([alert("db-1", at: start)])
        advance(second, seconds: 3)
        let firing = up.requests.filter { Self.announced($0) == ["db-1/firing"] }
        let keys = Set(firing.compactMap { $0.header("Idempotency-Key") })
        #expect(!firing.isEmpty, "the firing notification from before the crash is delivered")
        #expect(keys.count == 1, "\(firing.count) deliveries of one firing carry \(keys.count) different keys")

        second.receive([alert("db-1", .resolved, at: start)])
        advance(second, seconds: 3)
        #expect(up.requests.filter { Self.announced($0) == ["db-1/resolved"] }.count == 1)
    }

    @Test func aReceiverThatRefusedTheFiringIsNeverSentItsResolution() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answer([status(400, body: "{\"error\":\"invalid_blocks\"}")])
        let n = try notifier(dir, t)
        defer { n.stop() }
        n.receive([alert("db-1")])
        settle(n)
        #expect(t.requests.count == 1)
        advance(n, seconds: 2)
        n.receive([alert("db-1", .resolved)])
        advance(n, seconds: 3)
        #expect(t.requests.map(Self.announced) == [["db-1/firing"]], "no resolution follows a refused firing")
    }

    @Test func aResolutionQueuedBehindAFiringThatIsThenRefusedIsNotSent() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answerAlways(Self.refused)
        let n = try notifier(dir, t)
        defer { n.stop() }
        n.receive([alert("db-1")])
        advance(n, seconds: 2)
        n.receive([alert("db-1", .resolved)])
        advance(n, seconds: 2)
        #expect(t.requests.allSatisfy { Self.announced($0) == ["db-1/firing"] }, "the resolution waits behind the firing")
        // The receiver is back, and refuses the firing.
        t.answer([status(422, body: "{\"error\":\"text too long\"}")])
        t.answerAlways(status(200))
        let before = t.requests.count
        advance(n, seconds: 120)
        let after = Array(t.requests.dropFirst(before))
        #expect(after.map(Self.announced) == [["db-1/firing"]], "refused, and its resolution dropped")
    }

    @Test func sigtermDeliversWhatIsPendingWithinTheDeadline() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answerAlways(Self.refused)
        let n = try notifier(dir, t)
        n.receive([alert("db-1"), alert("db-2"), alert("db-3")])
        settle(n)
        #expect(t.requests.count == 3)
        // The receiver is back, but every entry waits for its backoff (the manual clock stands still).
        t.answerAlways(status(200))
        let result = n.drain(timeout: .seconds(30))
        #expect(result == Outbox.DrainResult(delivered: 3, left: 0))
        let delivered = t.requests.dropFirst(3).map(Self.announced)
        #expect(Set(delivered) == [["db-1/firing"], ["db-2/firing"], ["db-3/firing"]], "SIGTERM flushes the outbox")
    }

    @Test func aReloadThatReordersIntegrationsKeepsTheirPendingEntries() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answerAlways(Self.refused)
        let before = [integration("hook", 0, SlackReceiver(), path: "/slack"), integration("hook", 1, WebhookReceiver(), path: "/hook")]
        let n = try notifier(dir, t, integrations: before)
        defer { n.stop() }
        n.receive([alert("db-1")])
        settle(n)
        #expect(t.requests.count == 2)
        // The same two integrations, the other way round.
        let after = [integration("hook", 0, WebhookReceiver(), path: "/hook"), integration("hook", 1, SlackReceiver(), path: "/slack")]
        n.reload(try configuration(dir, integrations: after))
        t.answerAlways(status(200))
        advance(n, seconds: 5)
        let sent = t.requests.dropFirst(2)
        #expect(n.outbox.stats.failedPermanently == 0)
        #expect(sent.filter { $0.url.hasSuffix("/slack") }.count == 1)
        #expect(sent.filter { $0.url.hasSuffix("/hook") }.count == 1)
        #expect(sent.allSatisfy { $0.url.hasSuffix("/slack") == (jsonObject($0.body)["attachments"] != nil) }, "each payload goes to its kind")
    }
}
