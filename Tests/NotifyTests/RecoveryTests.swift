import Alerting
import TextRendering
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

    func notifier(
        _ dir: String, _ transport: any Transport, integrations: [Integration]? = nil, log: CapturingLog? = nil, loaded: Int? = nil
    ) throws -> Notifier {
        let n = Notifier(
            configuration: try configuration(dir, integrations: integrations), transport: transport, logger: log?.logger ?? quietLogger,
            clock: clock.read, random: { $0.upperBound })
        let count = try n.open()
        if let loaded { #expect(count == loaded, "entries loaded from the previous run") }
        n.start()
        return n
    }

    /// Lets the outbox run what is due and what that scheduled.
    func settle(_ n: Notifier) {
        n.outbox.pump()
        for _ in 0..<20 { n.outbox.queue.sync {} }
        n.outbox.writer.sync {}  // what a crash now would find on disk
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
        let second = try notifier(dir, up, loaded: 1)
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

extension RecoveryTests {
    /// Receiver `chat` with the given integrations; the route sends everything to `chat`.
    func chatConfiguration(_ dir: String, _ integrations: [Integration], receiver: String = "chat") throws -> Notifier.Configuration {
        let route = try Route(root: .init(receiver: receiver, groupBy: .labels(["alertname", "instance"]), groupWait: .zero, groupInterval: .seconds(1)))
        return Notifier.Configuration(
            route: route, integrations: integrations,
            outbox: .init(directory: dir + "/outbox", maxAge: .seconds(3600), initialBackoff: .seconds(1), maxBackoff: .seconds(60)))
    }

    enum ReloadCase: String, CaseIterable, CustomTestStringConvertible {
        /// Two webhooks of one receiver change places.
        case swapSameKind
        /// The receiver gets another name; its integrations stay as they were.
        case renameReceiver
        /// The webhook's URL changes in place.
        case editURL
        var testDescription: String { rawValue }
    }

    @Test(arguments: ReloadCase.allCases)
    func pendingEntriesFollowTheirIntegrationThroughAReload(change: ReloadCase) throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answerAlways(Self.refused)
        let before = [integration("chat", 0, WebhookReceiver(), path: "/a"), integration("chat", 1, WebhookReceiver(), path: "/b")]
        let n = Notifier(configuration: try chatConfiguration(dir, before), transport: t, logger: quietLogger, clock: clock.read, random: { $0.upperBound })
        try n.open()
        n.start()
        defer { n.stop() }
        n.receive([alert("db-1")])
        settle(n)
        #expect(Set(t.requests.map(\.url)) == ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"])
        let next: Notifier.Configuration
        let expected: Set<String>
        switch change {
        case .swapSameKind:
            next = try chatConfiguration(dir, [integration("chat", 0, WebhookReceiver(), path: "/b"), integration("chat", 1, WebhookReceiver(), path: "/a")])
            expected = ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]
        case .renameReceiver:
            next = try chatConfiguration(
                dir, [integration("team-chat", 0, WebhookReceiver(), path: "/a"), integration("team-chat", 1, WebhookReceiver(), path: "/b")],
                receiver: "team-chat")
            expected = ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]
        case .editURL:
            next = try chatConfiguration(dir, [integration("chat", 0, WebhookReceiver(), path: "/a2"), integration("chat", 1, WebhookReceiver(), path: "/b")])
            expected = ["http://127.0.0.1:9/a2", "http://127.0.0.1:9/b"]
        }
        n.reload(next)
        t.answerAlways(status(200))
        let sentBefore = t.requests.count
        advance(n, seconds: 3)
        let sent = t.requests.dropFirst(sentBefore)
        #expect(Set(sent.map(\.url)) == expected)
        #expect(sent.count == 2, "each pending entry once")
        #expect(n.outbox.stats.removed == 0)
        #expect(n.outbox.stats.delivered == 2)
    }

    @Test func aRemovedReceiversPendingEntriesAreDroppedAndCounted() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answerAlways(Self.refused)
        let log = CapturingLog()
        let both = [integration("chat", 0, WebhookReceiver(), path: "/chat"), integration("pager", 0, WebhookReceiver(), path: "/pager")]
        let route = try Route(
            root: .init(
                receiver: "chat", groupBy: .labels(["alertname"]), groupWait: .zero, groupInterval: .seconds(1),
                routes: [.init(receiver: "pager", matchers: [m("severity=\"critical\"")], continue: true), .init(receiver: "chat")]))
        let n = Notifier(
            configuration: .init(route: route, integrations: both, outbox: .init(directory: dir + "/outbox")), transport: t, logger: log.logger,
            clock: clock.read, random: { $0.upperBound })
        try n.open()
        n.start()
        defer { n.stop() }
        n.receive([alert("db-1")])
        settle(n)
        #expect(n.outbox.stats.pending == 2)
        n.reload(try chatConfiguration(dir, [integration("chat", 0, WebhookReceiver(), path: "/chat")]))
        settle(n)
        #expect(n.outbox.stats.removed == 1)
        #expect(n.outbox.stats.pending == 1)
        #expect(log.all.contains { $0.contains("dropped 1 pending notifications") && $0.contains("pager/webhook[0] (1)") })
        t.answerAlways(status(200))
        let sentBefore = t.requests.count
        advance(n, seconds: 3)
        #expect(t.requests.dropFirst(sentBefore).map(\.url) == ["http://127.0.0.1:9/chat"])
    }

    enum CrashAfterDelivery: String, CaseIterable, CustomTestStringConvertible {
        /// The journal batch with the delivery's record was written (200 ms later at most).
        case afterTheJournalWrite
        /// It was not: the segment is still there, its entry not marked done.
        case beforeTheJournalWrite
        var testDescription: String { rawValue }
    }

    @Test(arguments: CrashAfterDelivery.allCases)
    func aCrashAfterDeliveryNeverNotifiesAgainUnderAnotherKey(crash: CrashAfterDelivery) throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        var first: Notifier? = try notifier(dir, t)
        first!.receive([alert("db-1")])
        settle(first!)
        #expect(t.requests.map(Self.announced) == [["db-1/firing"]])
        if crash == .afterTheJournalWrite {
            let o = first!.outbox
            o.writer.sync { o.flushJournal(sync: false) }
        }
        first = nil  // kill -9, long before any checkpoint or state snapshot
        let again = FakeTransport()
        let second = try notifier(dir, again, loaded: crash == .afterTheJournalWrite ? 0 : 1)
        defer { second.stop() }
        second.receive([alert("db-1", at: clock.value + 5000)])
        advance(second, seconds: 5)
        if crash == .afterTheJournalWrite {
            #expect(again.requests.isEmpty, "the log came back from the journal: the receiver already knows")
        } else {
            #expect(again.requests.map { $0.header("Idempotency-Key") } == t.requests.map { $0.header("Idempotency-Key") },
                    "sent again, under the same key, and not made again")
        }
        let before = again.requests.count
        second.receive([alert("db-1", .resolved)])
        advance(second, seconds: 2)
        #expect(again.requests.dropFirst(before).map(Self.announced) == [["db-1/resolved"]])
    }

    @Test func aRefusalSurvivesARestartAndStillWithholdsTheResolution() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answer([status(403, body: "forbidden")])
        var first: Notifier? = try notifier(dir, t)
        first!.receive([alert("db-1")])
        settle(first!)
        #expect(first!.outbox.stats.failedPermanently == 1)
        first = nil  // kill -9: the refusal is only in the segment's done marks
        let again = FakeTransport()
        let second = try notifier(dir, again)
        defer { second.stop() }
        let shown = second.outbox.integrationStatus().first
        #expect(shown?.refused == [:], "the counts are this run's")
        #expect(shown?.unheardFirings == 1, "the refusal's effect is shown after the restart")
        second.receive([alert("db-1")])
        advance(second, seconds: 2)
        second.receive([alert("db-1", .resolved)])
        advance(second, seconds: 3)
        #expect(again.requests.isEmpty, "neither the firing again nor its resolution")
        #expect(second.outbox.stats.withheld == 1)
        #expect(second.outbox.integrationStatus().first?.unheardFirings == 1, "still marked: a resolution made again is withheld again")
    }

    /// Answers by the URL's path: what each integration's service says.
    final class ByPath: Transport {
        let answers: Mutex<[String: Result<TransportResponse, TransportError>]>
        let requests = Mutex<[TransportRequest]>([])
        init(_ answers: [String: Result<TransportResponse, TransportError>]) { self.answers = Mutex(answers) }
        func send(_ request: TransportRequest, completion: @escaping @Sendable (Result<TransportResponse, TransportError>) -> Void) {
            requests.withLock { $0.append(request) }
            let path = String(request.url.split(separator: "/").last ?? "")
            completion(answers.withLock { $0[path] } ?? status(200))
        }
        func sent(to path: String) -> [TransportRequest] { requests.withLock { $0.filter { $0.url.hasSuffix("/" + path) } } }
    }

    @Test func aRefusalThatCannotBeJournaledLeavesItsEntryUndone() throws {
        // A refusal is written before its entry's done mark, and a mark waits while the refusal
        // cannot be written (a full disk): after a crash the entry is sent again, under its key,
        // and refused again, rather than found done with nothing withholding its resolution.
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let integrations = [integration("hook", 0, WebhookReceiver(), path: "/a"), integration("hook", 1, WebhookReceiver(), path: "/b")]
        let t = ByPath(["a": status(400, body: "no"), "b": status(503)])
        var first: Notifier? = try notifier(dir, t, integrations: integrations)
        for name in [OutboxJournal.fileName, OutboxState.fileName] {
            // A directory where the file goes: every append and every rename onto it fails.
            let path = dir + "/outbox/" + name
            removeTree(path)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
        first!.receive([alert("db-1")])
        settle(first!)
        #expect(t.sent(to: "a").count == 1 && t.sent(to: "b").count == 1, "one segment, two entries: /a refused, /b to retry")
        #expect(first!.outbox.stats.failedPermanently == 1)
        first = nil  // kill -9
        for name in [OutboxJournal.fileName, OutboxState.fileName] { removeTree(dir + "/outbox/" + name) }

        let again = ByPath(["a": status(400, body: "no")])
        let second = try notifier(dir, again, integrations: integrations, loaded: 2)
        defer { second.stop() }
        advance(second, seconds: 2)
        let key = try #require(t.sent(to: "a").first?.header("Idempotency-Key"))
        #expect(again.sent(to: "a").map { $0.header("Idempotency-Key") } == [key], "the refused firing again, under its key")
        second.receive([alert("db-1", .resolved)])
        advance(second, seconds: 3)
        #expect(again.sent(to: "a").map(Self.announced) == [["db-1/firing"]], "no resolution to the receiver that refused the firing")
        #expect(again.sent(to: "b").map(Self.announced) == [["db-1/firing"], ["db-1/resolved"]])
    }

    @Test func aRefusalIsVisiblePerIntegrationWithTheServicesAnswerQuoted() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        let token = "T0KEN-abcdef-123456"
        let answer = "{\"ok\":false,\"error\":\"invalid_payload\",\"echo\":\"http://127.0.0.1:9/hook/\(token)\",\"raw\":\"\(token)\"}\n" + String(repeating: "x", count: 500)
        t.answer([status(400, body: answer)])
        let log = CapturingLog()
        let hook = Integration(receiver: "hook", index: 0, builder: WebhookReceiver(), destination: .http(Endpoint(url: .inline("http://127.0.0.1:9/hook/" + token))))
        let n = try notifier(dir, t, integrations: [hook], log: log)
        defer { n.stop() }
        n.receive([alert("db-1")])
        settle(n)
        let info = try #require(n.outbox.integrationStatus().first)
        #expect(info.receiver == "hook")
        #expect(info.integration == "webhook[0]")
        #expect(info.refused == ["status_400": 1])
        let refusal = try #require(info.lastRefusal)
        #expect(refusal.status == 400)
        #expect(refusal.answer.hasPrefix("\"{\\\"ok\\\":false,\\\"error\\\":\\\"invalid_payload\\\""))
        #expect(refusal.answer.hasSuffix("\"…"), "cut, and says so")
        #expect(!refusal.answer.contains(token), "the URL's token is redacted wherever the service echoes it")
        #expect(refusal.answer.contains("http://127.0.0.1:9/<redacted>"))
        let lines = log.all.filter { $0.contains("refused by the service") }
        #expect(lines.count == 1)
        #expect(lines.allSatisfy { $0.contains("invalid_payload") && $0.contains("resolution of its 1 firing alert") && !$0.contains(token) })

        // Many refusals in a row are logged once per 30 s, each later line counting the others.
        t.answerAlways(status(400, body: "no"))
        for i in 2...6 { n.receive([alert("db-\(i)")]) }
        settle(n)
        #expect(log.all.filter { $0.contains("refused by the service") }.count == 1)
        clock.advance(seconds: 31)
        n.receive([alert("db-7")])
        settle(n)
        #expect(log.all.contains { $0.contains("refused by the service") && $0.contains("5 similar messages were not logged") })
        #expect(n.outbox.integrationStatus().first?.refused == ["status_400": 7])
    }

    @Test func aResolutionMixedWithFiringAlertsIsRenderedAgainWithoutTheWithheldOnes() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        let route = try Route(root: .init(receiver: "hook", groupBy: .labels(["alertname"]), groupWait: .zero, groupInterval: .seconds(1)))
        let n = Notifier(
            configuration: .init(route: route, integrations: [integration("hook", 0, WebhookReceiver(), path: "/hook")], outbox: .init(directory: dir + "/outbox")),
            transport: t, logger: quietLogger, clock: clock.read, random: { $0.upperBound })
        try n.open()
        n.start()
        defer { n.stop() }
        // db-1 is refused; then db-2 joins (delivered), then db-1 resolves while db-2 fires.
        t.answer([status(400)])
        n.receive([alert("db-1")])
        settle(n)
        advance(n, seconds: 2)
        n.receive([alert("db-1"), alert("db-2")])
        advance(n, seconds: 2)
        #expect(t.requests.map(Self.announced) == [["db-1/firing"], ["db-1/firing", "db-2/firing"]])
        // db-2's delivery told the receiver about db-1 too: its resolution is due there.
        n.receive([alert("db-1", .resolved), alert("db-2")])
        advance(n, seconds: 2)
        #expect(t.requests.last.map(Self.announced) == ["db-2/firing", "db-1/resolved"])

        // Now a fresh refusal in the same group: db-3 refused, then resolving beside db-2.
        t.answer([status(400)])
        n.receive([alert("db-2"), alert("db-3")])
        advance(n, seconds: 2)
        let before = t.requests.count
        n.receive([alert("db-2"), alert("db-3", .resolved)])
        advance(n, seconds: 2)
        let last = try #require(t.requests.dropFirst(before).first)
        #expect(Self.announced(last) == ["db-2/firing"], "db-3's resolution is cut out of the payload")
        let original = t.requests[before - 1].header("Idempotency-Key")
        #expect(last.header("Idempotency-Key") != original, "another payload, another key")
        #expect(n.outbox.stats.integrations["hook/webhook[0]"]?.withheldResolutions == 1)
    }

    @Test func sigtermLeavesWhatItCannotDeliverForTheNextStart() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answerAlways(Self.refused)
        let n = try notifier(dir, t)
        n.receive([alert("db-1"), alert("db-2")])
        settle(n)
        let result = n.drain(timeout: .milliseconds(300))
        #expect(result == Outbox.DrainResult(delivered: 0, left: 2))
        #expect(t.requests.count > 2, "tried again while draining")
        let up = FakeTransport()
        let next = try notifier(dir, up, loaded: 2)
        defer { next.stop() }
        settle(next)
        #expect(Set(up.requests.map(Self.announced)) == [["db-1/firing"], ["db-2/firing"]])
    }

    @Test func sigtermHonoursRetryAfterAndReturnsWhenNothingCanBeTried() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answerAlways(status(429, headers: [("Retry-After", "600")]))
        let n = try notifier(dir, t)
        n.receive([alert("db-1")])
        settle(n)
        let result = n.drain(timeout: .seconds(60))
        #expect(result.left == 1)
        #expect(t.requests.count == 1, "the service asked for 10 minutes: not asked again")
    }
}

/// Issue 14 item 4 after a crash: what the Alertmanager forwarder sends from a notification
/// read back from the outbox carries each alert's `generatorURL` and `validUntil`, as an
/// uninterrupted delivery does.
extension RecoveryTests {
    static let ruleLink = "http://agent.example:9090/graph?g0.expr=up%7Bjob%3D%22db%22%7D+%3D%3D+0&g0.tab=1"

    /// An alert as a rule group hands it over: its rule's link, and while firing Prometheus's
    /// `validUntil` (the evaluation plus 4 × max(1m, interval)).
    func ruleAlert(_ instance: String, _ state: Alert.State = .firing) -> Alert {
        var a = alert(instance, state)
        a.evaluatedAt = clock.value
        a.generatorURL = Self.ruleLink
        if state == .firing { a.validUntil = clock.value + 240_000 }
        return a
    }

    /// Receiver `am`, one Alertmanager forwarder re-sending every 10 s: a notification's own
    /// validity (4 × 10 s) is shorter than the rule's, so `endsAt` shows which one was used.
    func forwarder(_ dir: String, _ transport: any Transport, loaded: Int? = nil) throws -> Notifier {
        let route = try Route(root: .init(receiver: "am", groupBy: .labels(["alertname"]), groupWait: .zero, groupInterval: .seconds(1)))
        let am = integration("am", 0, AlertmanagerReceiver(), path: "/api/v2/alerts")
        let n = Notifier(
            configuration: .init(
                route: route, integrations: [am], resendIntervals: ["am": .seconds(10)], externalURL: "http://agent.example:9090",
                outbox: .init(directory: dir + "/outbox", maxAge: .seconds(3600), initialBackoff: .seconds(1), maxBackoff: .seconds(60))),
            transport: transport, logger: quietLogger, clock: clock.read, random: { $0.upperBound })
        let count = try n.open()
        if let loaded { #expect(count == loaded, "entries loaded from the previous run") }
        n.start()
        return n
    }

    /// Alertmanager items by `instance`.
    static func items(_ r: TransportRequest) -> [String: [String: Any]] {
        let list = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [[String: Any]] ?? []
        var out: [String: [String: Any]] = [:]
        for item in list { out[(item["labels"] as? [String: String])?["instance"] ?? "?"] = item }
        return out
    }

    enum Interruption: String, CaseIterable, CustomTestStringConvertible {
        case none, killed
        var testDescription: String { rawValue }
    }

    /// db-2 fires and is delivered; db-3 joins and the service refuses that notification; the
    /// service goes down and db-3 resolves beside db-2, so the entry must be rendered again
    /// without db-3's resolution — from memory, or (killed) from the notification on disk.
    /// Returns the first request the service accepts once it is back, and db-2's validUntil.
    func deliverAfterAnOutage(_ interruption: Interruption) throws -> (TransportRequest, validUntil: Timestamp) {
        clock.now.withLock { $0 = 1_700_000_000_000 }  // each run from the same instant: payloads comparable
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = Accepting()
        var first: Notifier? = try forwarder(dir, t)
        first!.receive([ruleAlert("db-2")])
        settle(first!)
        advance(first!, seconds: 2)
        #expect(t.accepted.withLock { $0.count } == 1)
        t.inner.answer([status(400, body: "{\"error\":\"no\"}")])
        first!.receive([ruleAlert("db-2"), ruleAlert("db-3")])
        advance(first!, seconds: 2)
        #expect(first!.outbox.stats.failedPermanently == 1)
        t.inner.answerAlways(Self.refused)
        let held = ruleAlert("db-2")
        first!.receive([held, ruleAlert("db-3", .resolved)])
        advance(first!, seconds: 2)
        #expect(t.inner.requests.last.map { Self.items($0).keys.sorted() } == ["db-2"], "db-3's resolution is withheld while the service is down")
        // Accepted once the service is back: after db-2's first delivery (uninterrupted), or all (killed).
        let accepted: () -> [TransportRequest]
        var second: Notifier? = nil
        switch interruption {
        case .none:
            t.inner.answerAlways(status(200))
            accepted = { Array(t.accepted.withLock { $0 }.dropFirst()) }
        case .killed:
            first = nil  // kill -9: the notification is only on disk
            let up = Accepting()
            second = try forwarder(dir, up, loaded: 1)
            accepted = { up.accepted.withLock { $0 } }
        }
        advance(second ?? first!, seconds: 3)
        second?.stop()
        first?.stop()
        let back = try #require(accepted().first, "delivered once the service is back")
        return (back, try #require(held.validUntil))
    }

    @Test(arguments: Interruption.allCases)
    func theForwarderSendsTheRulesLinkAndValidUntilAfterARestart(interruption: Interruption) throws {
        let (sent, validUntil) = try deliverAfterAnOutage(interruption)
        let items = Self.items(sent)
        #expect(items.keys.sorted() == ["db-2"])
        #expect(items["db-2"]?["generatorURL"] as? String == Self.ruleLink, "the rule's link, not just the external URL")
        #expect(items["db-2"]?["endsAt"] as? String == RFC3339.format(validUntil), "the rule's validUntil, later than the notification's own")
        if interruption == .killed {
            let (uninterrupted, _) = try deliverAfterAnOutage(.none)
            #expect(String(decoding: sent.body, as: UTF8.self) == String(decoding: uninterrupted.body, as: UTF8.self))
            #expect(sent.header("Idempotency-Key") == uninterrupted.header("Idempotency-Key"))
        }
    }
}
