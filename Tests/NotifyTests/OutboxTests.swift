import Alerting
import JSON
import Foundation
import Testing
import TimeSeries
@testable import Notify

/// The outbox under a manual clock and a scripted transport: every decision, deterministic.
@Suite struct OutboxTests {
    let clock = ManualClock()

    func integration(_ receiver: String = "hook", index: Int = 0, destination: Integration.Destination? = nil) -> Integration {
        Integration(
            receiver: receiver, index: index, builder: WebhookReceiver(),
            destination: destination ?? .http(Endpoint(url: .inline("http://127.0.0.1:9/hook?token=abc"))))
    }

    func outbox(_ dir: String, transport: FakeTransport, integrations: [Integration]? = nil, maxEntries: Int = 100, log: CapturingLog? = nil) -> Outbox {
        Outbox(
            configuration: .init(directory: dir, maxAge: .seconds(3600), initialBackoff: .seconds(1), maxBackoff: .seconds(60), maxEntries: maxEntries),
            integrations: integrations ?? [integration()], transport: transport, logger: log?.logger ?? quietLogger, clock: clock.read,
            random: { $0.upperBound })  // no jitter: the top of each range
    }

    func entry(
        _ o: Outbox, group: String = "g", key: String = UUID().uuidString, body: String = "{}", receiver: String = "hook", kind: String = "webhook",
        alerts: [OutboxEntry.Announced] = []
    ) -> OutboxEntry {
        OutboxEntry(
            name: o.nextName(createdAt: clock.value), idempotencyKey: key, target: IntegrationIdentity(receiver: receiver, kind: kind, kindIndex: 0),
            groupKey: group, createdAt: clock.value, payload: Payload(body: Array(body.utf8)), alerts: alerts)
    }

    /// Pumps, then lets the outbox's queue run what `enqueue` and the (synchronous) fake
    /// transport's completions scheduled, and what those scheduled in turn.
    func settle(_ o: Outbox) {
        o.pump()
        for _ in 0..<20 { o.queue.sync {} }
        o.writer.sync {}
    }

    @Test func backoffDoublesUpToItsCapAndRetryAfterWinsWhenLonger() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answerAlways(status(503))
        let o = outbox(dir, transport: t)
        o.enqueue([entry(o)])
        settle(o)
        var attemptsAt: [Timestamp] = [clock.value]
        for _ in 0..<1000 {
            clock.advance(ms: 250)
            let before = t.requests.count
            settle(o)
            if t.requests.count > before { attemptsAt.append(clock.value) }
            if attemptsAt.count == 9 { break }
        }
        let gaps = zip(attemptsAt.dropFirst(), attemptsAt).map { $0 - $1 }
        #expect(gaps == [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000], "\(gaps)")

        t.answer([status(429, headers: [("Retry-After", "120")])])
        clock.advance(ms: 60_000)
        settle(o)
        let at = clock.value
        clock.advance(ms: 119_750)
        let count = t.requests.count
        settle(o)
        #expect(t.requests.count == count, "still within Retry-After")
        clock.advance(ms: 250)
        settle(o)
        #expect(t.requests.count == count + 1)
        #expect(clock.value - at == 120_000)
    }

    @Test func jitterDrawsFromTheUpperHalfOfTheDelay() {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let o = Outbox(
            configuration: .init(directory: dir, initialBackoff: .seconds(10), maxBackoff: .seconds(100)), integrations: [],
            transport: FakeTransport(), logger: quietLogger, clock: clock.read)
        for attempt in 1...6 {
            let d = Double(min(100_000, 10_000 * (1 << (attempt - 1))))
            for _ in 0..<50 {
                let b = Double(o.backoff(attempts: attempt))
                #expect(b >= d / 2 && b <= d)
            }
        }
    }

    @Test(arguments: [
        (200, "delivered"), (202, "delivered"), (204, "delivered"), (408, "retry"), (429, "retry"), (500, "retry"),
        (502, "retry"), (503, "retry"), (504, "retry"), (301, "permanent"), (400, "permanent"), (401, "permanent"),
        (403, "permanent"), (404, "permanent"), (410, "permanent"), (413, "permanent"),
    ])
    func statusCodesAreClassifiedAsAlertmanagerDoes(code: Int, expected: String) {
        let outcome = Outbox.classify(status(code), url: "http://x/<redacted>", now: 0)
        switch (outcome, expected) {
        case (.delivered, "delivered"), (.retry, "retry"), (.refused, "permanent"): break
        default: Issue.record("\(code) gave \(outcome)")
        }
    }

    @Test func networkErrorsRetryUnlessTheRequestCannotBeMade() {
        if case .retry = Outbox.classify(.failure(TransportError(retryable: true, "connection refused")), url: "u", now: 0) {} else { Issue.record("refused") }
        if case .refused = Outbox.classify(.failure(TransportError(retryable: false, "bad URL")), url: "u", now: 0) {} else { Issue.record("bad URL") }
    }

    @Test(arguments: [
        ("120", 120_000 as Int64?), ("0", 0), (" 7 ", 7000), ("-1", nil), ("soon", nil), ("1.5", nil),
        ("Tue, 14 Nov 2023 22:15:20 GMT", 120_000), ("Tue, 14 Nov 2023 22:00:00 GMT", 0), ("Tue, 14 Nov 2023 22:15 GMT", nil),
    ])
    func retryAfterIsReadAsSecondsOrAnHTTPDate(value: String, ms: Int64?) {
        // 1_700_000_000_000 ms is Tue, 14 Nov 2023 22:13:20 GMT.
        #expect(RetryAfter.milliseconds(value, now: 1_700_000_000_000) == ms)
    }

    @Test func entriesOfOneLaneGoInOrderOneAtATime() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answer([status(500), status(200), status(200), status(200)])
        let o = outbox(dir, transport: t)
        o.enqueue([entry(o, key: "k1"), entry(o, key: "k2"), entry(o, group: "other", key: "k3")])
        settle(o)
        #expect(t.requests.map { $0.header("Idempotency-Key") } == ["k1", "k3"], "k2 waits behind the failed k1")
        clock.advance(ms: 1000)
        settle(o)
        #expect(t.requests.compactMap { $0.header("Idempotency-Key") } == ["k1", "k3", "k1", "k2"])
        #expect(o.stats.delivered == 3)
        #expect(o.stats.pending == 0)
    }

    @Test func pendingEntriesSurviveARestartAndDamagedFilesAreSetAside() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answerAlways(.failure(TransportError(retryable: true, "connection refused")))
        let o = outbox(dir, transport: t)
        o.enqueue([entry(o, key: "a", body: "{\"n\":1}")])
        o.enqueue([entry(o, group: "l2", key: "b", body: "{\"n\":2}")])
        settle(o)
        o.stop()
        var names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".seg") }.sorted()
        #expect(names.count == 2, "one segment per enqueue")
        // A crash mid-write leaves a temp file; a disk fault flips a byte.
        try Data("partial".utf8).write(to: URL(fileURLWithPath: dir + "/.tmp-0000000000000-0000000009.seg"))
        var damaged = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + names[1]))
        damaged[damaged.count / 2] ^= 0xFF
        try damaged.write(to: URL(fileURLWithPath: dir + "/" + names[1]))

        let t2 = FakeTransport()
        let again = outbox(dir, transport: t2)
        #expect(try again.open() == 1)
        #expect(again.stats.corrupt == 1)
        settle(again)
        #expect(t2.requests.map { String(decoding: $0.body, as: UTF8.self) } == ["{\"n\":1}"])
        #expect(t2.requests.first?.header("Idempotency-Key") == "a")
        again.syncState()
        names = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(!names.contains { $0.hasPrefix(".tmp-") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/corrupt").count == 1)
        #expect(!names.contains { $0.hasSuffix(".seg") }, "delivered and damaged segments are gone: \(names)")
        // New names continue after the loaded ones, so order by name is creation order.
        #expect(again.nextName(createdAt: clock.value - 1000) > "0000000000000-0000000002")
    }

    @Test func aPartlyDeliveredSegmentResumesWithWhatIsLeft() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answer([status(200), status(500), status(200)])
        t.answerAlways(status(500))
        let o = outbox(dir, transport: t)
        o.enqueue([entry(o, group: "x", key: "a"), entry(o, group: "y", key: "b"), entry(o, group: "z", key: "c")])
        settle(o)
        o.stop()
        #expect(o.stats.delivered == 2)
        let t2 = FakeTransport()
        let again = outbox(dir, transport: t2)
        #expect(try again.open() == 1)
        settle(again)
        #expect(t2.requests.compactMap { $0.header("Idempotency-Key") } == ["b"], "a and c were done before the restart")
        again.syncState()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [OutboxState.fileName], "finished segments go at once; their records are in the state")
    }

    @Test func anEntryWhoseIntegrationIsGoneIsDroppedAndCounted() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        let log = CapturingLog()
        let o = outbox(dir, transport: t, integrations: [], log: log)
        o.enqueue([entry(o)])
        settle(o)
        #expect(t.requests.isEmpty)
        #expect(o.stats.removed == 1)
        #expect(o.stats.pending == 0)
        #expect(log.all.contains { $0.contains("integrations the configuration no longer has were dropped") })
    }

    @Test func theOldestEntriesAreDroppedBeyondTheBound() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answerAlways(status(500))
        let o = outbox(dir, transport: t, maxEntries: 3)
        for i in 0..<5 {
            o.enqueue([entry(o, group: "lane-\(i)", key: "k\(i)")])
            clock.advance(ms: 10)
        }
        settle(o)
        #expect(o.stats.dropped == 2)
        #expect(o.stats.pending == 3)
        o.syncState()
        let segments = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".seg") }
        #expect(segments.count == 3, "the dropped entries' segments are removed")
    }

    @Test func fileDestinationsGetOneLinePerNotification() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let path = dir + "/notifications.jsonl"
        let o = outbox(dir, transport: FakeTransport(), integrations: [integration(destination: .file(path: path))])
        o.enqueue([entry(o, key: "a", body: "{\"a\":1}\n"), entry(o, key: "b", body: "{\"b\":2}\n")])
        settle(o)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"a\":1}\n{\"b\":2}\n")
    }

    @Test func requestsCarryTheKeyTheSignatureAndTheSecretsReadAtSendTime() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        try "R0UT1NG\"KEY\n".write(toFile: dir + "/key", atomically: true, encoding: .utf8)
        let pd = Integration(
            receiver: "pager", index: 0, builder: PagerDutyReceiver(),
            destination: .http(Endpoint(url: .inline("https://events.pagerduty.com/v2/enqueue"), headers: [("X-Team", "ops")], hmacSecret: .inline("k"))),
            bodySecret: (PagerDutyReceiver.routingKeyPlaceholder, .file(dir + "/key")))
        let n = AlertNotification(
            receiver: "pager", groupKey: "{}:{alertname=\"A\"}", groupLabels: Labels(["alertname": "A"]),
            alerts: [NotifiedAlert(status: .firing, labels: Labels(["alertname": "A", "summary_hint": PagerDutyReceiver.routingKeyPlaceholder]), annotations: [:], severity: "critical", startsAt: 0, endsAt: nil, value: 1, fingerprint: 1, source: "")],
            reason: .new, idempotencyKey: "key-1", createdAt: 0, validUntil: 0)
        let payload = pd.builder.payload(for: n)
        #expect(!String(decoding: payload.body, as: UTF8.self).contains("R0UT1NG"), "the stored body holds no secret")
        let e = OutboxEntry(name: "x", idempotencyKey: "key-1", target: pd.identity, groupKey: "g", createdAt: 0, payload: payload)
        let request = try Outbox.request(for: e, integration: pd, endpoint: Endpoint(url: .inline("https://events.pagerduty.com/v2/enqueue"), headers: [("X-Team", "ops")], hmacSecret: .inline("k")))
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body.hasPrefix("{\"routing_key\":\"R0UT1NG\\\"KEY\","), "spliced in, JSON-escaped")
        #expect(body.contains(PagerDutyReceiver.routingKeyPlaceholder), "only the first occurrence is replaced; label text is not")
        #expect(request.header("Idempotency-Key") == "key-1")
        #expect(request.header("X-Signature-256") == HMACSHA256.signatureHeader(key: Array("k".utf8), body: request.body))
        #expect(request.header("X-Team") == "ops")
        #expect(request.header("Content-Type") == "application/json")
    }

    @Test func entryFilesRoundTripAndRejectEveryTruncation() throws {
        let n = AlertNotification(
            receiver: "r", groupKey: "{}:{alertname=\"A\"}", groupLabels: Labels(["alertname": "A"]),
            alerts: [
                NotifiedAlert(
                    status: .firing, labels: Labels(["alertname": "A", "severity": "high"]), annotations: ["summary": "s", "d": "é"], severity: "high",
                    startsAt: 1, endsAt: nil, value: 2.5, fingerprint: 7, source: "f.yaml:g", previousSeverity: "low", evaluatedAt: 3,
                    history: ValueHistory(end: 60_000, points: [Sample(timestamp: 0, value: 1), Sample(timestamp: 60_000, value: 3)]),
                    validUntil: 240_003, generatorURL: "http://x/graph?g0.expr=up+%3D%3D+0&g0.tab=1"),
                NotifiedAlert(
                    status: .resolved, labels: Labels(["alertname": "A", "i": "2"]), annotations: [:], severity: nil, startsAt: 1, endsAt: 9,
                    value: 0, fingerprint: 8, source: ""),
            ],
            reason: .resolved, idempotencyKey: "k", createdAt: 10, validUntil: 20, externalURL: "http://x")
        let e = OutboxEntry(
            name: "n.entry", idempotencyKey: "k", target: IntegrationIdentity(receiver: "r", kind: "googlechat", kindIndex: 3, destination: 99),
            groupKey: "g", createdAt: -5,
            payload: Payload(body: Array("{\"x\":\"é\"}".utf8), contentType: "application/json", query: ["a": "1", "b": "2"]),
            alerts: [.init(fingerprint: 7, firing: true), .init(fingerprint: 8, firing: false)], notification: n)
        let bytes = e.encoded()
        #expect(try OutboxEntry(name: "n.entry", decoding: bytes) == e)
        for cut in 0..<bytes.count {
            #expect(throws: CheckpointError.self) { try OutboxEntry(name: "n", decoding: Array(bytes.prefix(cut))) }
        }
    }

    @Test func urlsAreRedactedToSchemeHostAndPort() {
        #expect(RedactedURL.string("https://hooks.slack.com/services/T0/B0/XXXX") == "https://hooks.slack.com/<redacted>")
        #expect(RedactedURL.string("http://user:pw@127.0.0.1:5001/alerts?token=1") == "http://127.0.0.1:5001/<redacted>")
        #expect(RedactedURL.string("http://127.0.0.1:5001") == "http://127.0.0.1:5001")
        #expect(RedactedURL.string("not a url with secret") == "<redacted>")
    }
}

extension OutboxTests {
    @Test func aLaneThatEmptiedTakesNewEntries() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        let o = outbox(dir, transport: t)
        o.enqueue([entry(o, key: "first")])
        settle(o)
        o.enqueue([entry(o, key: "second")])
        settle(o)
        o.enqueue([entry(o, key: "third")])
        settle(o)
        #expect(t.requests.compactMap { $0.header("Idempotency-Key") } == ["first", "second", "third"])
        #expect(o.stats.pending == 0)
    }
}

extension OutboxTests {
    @Test func largeBatchesAreSplitIntoSegmentsThatReadBack() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        t.answerAlways(status(503))
        let o = outbox(dir, transport: t)
        let big = String(repeating: "x", count: 7 << 20)
        o.enqueue((0..<3).map { entry(o, group: "l\($0)", key: "k\($0)", body: big) })
        settle(o)
        o.stop()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".seg") }.count == 2)
        let again = outbox(dir, transport: FakeTransport())
        #expect(try again.open() == 3)
    }
}

extension OutboxTests {
    struct Answer: CustomTestStringConvertible {
        var name: String
        var body: [UInt8]
        var check: @Sendable (String) -> Bool
        var testDescription: String { name }
    }

    static let answers: [Answer] = [
        Answer(name: "empty", body: [], check: { $0 == "(empty answer)" }),
        Answer(name: "quotes and backslashes", body: Array(#"{"error":"a\"b"}"#.utf8), check: { $0 == #""{\"error\":\"a\\\"b\"}""# }),
        Answer(name: "control characters", body: Array("a\u{0}b\r\nc\u{1b}[31m".utf8), check: { $0 == "\"a b c [31m\"" }),
        Answer(name: "invalid UTF-8", body: [0x61, 0xFF, 0xFE, 0x62], check: { $0 == "\"a\u{FFFD}\u{FFFD}b\"" }),
        Answer(name: "1 MB", body: [UInt8](repeating: UInt8(ascii: "y"), count: 1 << 20), check: { $0 == "\"" + String(repeating: "y", count: 200) + "\"…" }),
        Answer(name: "URLs", body: Array("see https://hooks.example.com/services/T/B/SECRET?x=1 and http://u:p@h:8/a".utf8),
               check: { $0 == "\"see https://hooks.example.com/<redacted> and http://h:8/<redacted>\"" }),
        Answer(name: "a secret split by the cut", body: Array((String(repeating: "z", count: 195) + "SECRETVALUE").utf8),
               check: { !$0.contains("SECR") && $0.hasSuffix("<reda\"…") }),
        Answer(name: "emoji count as one", body: Array(String(repeating: "🔥", count: 300).utf8), check: { $0 == "\"" + String(repeating: "🔥", count: 200) + "\"…" }),
    ]

    @Test(arguments: answers)
    func aServicesAnswerIsQuotedCutAndRedacted(answer: Answer) {
        let quoted = Outbox.quote(answer.body, secrets: ["SECRETVALUE"])
        #expect(answer.check(quoted), "\(quoted.prefix(300))")
    }

    @Test func theStateSnapshotRoundTripsAndRejectsEveryTruncationAndFlippedByte() throws {
        var ledger = FiringLedger()
        ledger.delivered("hook/webhook[0]\u{1}g", firing: [1, 2], resolved: [], at: 5)
        ledger.notDelivered("hook/webhook[0]\u{1}h", firing: [3], at: 6)
        let records = [LogRecord(groupKey: "g", receiver: "hook", sequence: 4, at: 7, firing: [1: "high", 2: ""])]
        let bytes = OutboxState.encode(records: records, ledger: ledger)
        let back = try OutboxState.decode(bytes)
        #expect(back.records == records)
        #expect(back.ledger == ledger)
        for cut in 0..<bytes.count {
            #expect(throws: CheckpointError.self) { try OutboxState.decode(Array(bytes.prefix(cut))) }
        }
        for i in stride(from: 0, to: bytes.count, by: 3) {
            var damaged = bytes
            damaged[i] ^= 0x5A
            #expect(throws: CheckpointError.self) { try OutboxState.decode(damaged) }
        }
        // A length that claims gigabytes is refused before anything is allocated.
        var hostile = OutboxState.magic
        hostile += [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        #expect(throws: CheckpointError.self) { try OutboxState.decode(hostile) }
    }

    @Test func garbageSegmentsAreSetAsideAndNothingTraps() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        var rng = SystemRandomNumberGenerator()
        let o0 = outbox(dir, transport: FakeTransport())
        let good = OutboxSegment.encode([entry(o0, key: "k")], records: [LogRecord(groupKey: "g", receiver: "hook", sequence: 1, at: 0, firing: [:])])
        let inputs: [[UInt8]] = [
            [], Array("AGENTOS2".utf8), Array("AGENTOS2".utf8) + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            Array(good.prefix(good.count / 2)), (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) },
            Array("AGENTOS1".utf8) + [3] + Array(repeating: 0xFF, count: 40),
        ]
        for (i, bytes) in inputs.enumerated() {
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/170000000000\(i)-000000000\(i).seg"))
        }
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/state"))
        let o = outbox(dir, transport: FakeTransport())
        #expect(try o.open() == 0)
        #expect(o.stats.corrupt >= 1)
        #expect(FileManager.default.fileExists(atPath: dir + "/corrupt/state"))
    }

    @Test func entriesWrittenByThePreviousVersionAreStillDelivered() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        // The previous formats, written field by field: a segment of one entry, no records.
        var e = ByteWriter()
        e.raw(Array("AGENTOB1".utf8))
        e.string("old-key")
        e.string("hook")
        e.varint(0)
        e.string("webhook")
        e.string("hook/webhook[0]\u{1}{}:{alertname=\"A\"}")
        e.signed(clock.value)
        e.string("application/json")
        e.varint(0)
        e.blob(Array("{\"old\":true}".utf8))
        e.fixed64(OutboxEntry.checksum(e.bytes[...]))
        var seg = ByteWriter()
        seg.raw(Array("AGENTOS1".utf8))
        seg.varint(1)
        seg.blob(e.bytes)
        try Data(seg.bytes).write(to: URL(fileURLWithPath: dir + "/1699999999000-0000000004.seg"))
        let t = FakeTransport()
        let o = outbox(dir, transport: t)
        #expect(try o.open() == 1)
        settle(o)
        #expect(t.requests.map { String(decoding: $0.body, as: UTF8.self) } == ["{\"old\":true}"])
        #expect(t.requests.first?.header("Idempotency-Key") == "old-key")
        #expect(o.nextName(createdAt: clock.value) > "1700000000000-0000000004")
    }

    @Test func enqueueDoesNotWaitForTheDisk() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let t = FakeTransport()
        let o = outbox(dir, transport: t)
        o.start()
        // Hold the writer queue, as a slow fsync would: the caller (the rules queue) goes on.
        o.writer.suspend()
        o.enqueue([entry(o, key: "a")])
        #expect(o.stats.pending == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "nothing written yet")
        #expect(t.requests.isEmpty, "nothing sent before it is on disk")
        o.writer.resume()
        #expect(o.waitUntilEmpty(timeout: .seconds(10)))
        #expect(t.requests.count == 1)
        o.stop()
    }
}

extension OutboxTests {
    @Test(arguments: [
        ("0\n1\n", [0, 1]), ("r 1\n1\n2", [1, 2]), ("x\n-\n\u{0}\n99999999999999999999\n4", [4]), ("-3\n3", [3]), ("", []),
        (" 5\n5 \n7", [7]),
    ])
    func doneMarksReadWhatIsWholeAndIgnoreTheRest(text: String, done: [Int]) {
        #expect(OutboxSegment.doneIndexes(Array(text.utf8)) == Set(done))
    }
}

extension OutboxTests {
    @Test func journalEventsRoundTripAndATornOrDamagedTailIsWhereReadingStops() throws {
        let events: [OutboxJournal.Event] = [
            .records([LogRecord(groupKey: "g", receiver: "hook", sequence: 2, at: 5, firing: [9: "critical"])]),
            .delivered(lane: "hook/webhook[0]\u{1}g", firing: [9], resolved: [], at: 6),
            .notDelivered(lane: "hook/webhook[0]\u{1}h", firing: [1, 2], at: 7),
            .withheld(lane: "hook/webhook[0]\u{1}h", fingerprints: [1]),
        ]
        let frames = events.map(OutboxJournal.frame)
        let bytes = frames.flatMap { $0 }
        let read = OutboxJournal.decode(bytes)
        #expect(read.events == events)
        #expect(read.intact)
        // Every cut inside the last frame: the others are read, the torn one is not.
        let head = frames.dropLast().flatMap { $0 }
        for cut in (head.count + 1)..<bytes.count {
            let torn = OutboxJournal.decode(Array(bytes.prefix(cut)))
            #expect(torn.events == Array(events.dropLast()))
            #expect(!torn.intact)
        }
        // A flipped byte anywhere stops reading at its frame.
        for i in stride(from: 0, to: bytes.count, by: 5) {
            var damaged = bytes
            damaged[i] ^= 0x41
            let r = OutboxJournal.decode(damaged)
            #expect(!r.intact)
            #expect(events.starts(with: r.events))
        }
        // A frame claiming 4 GiB is refused before anything is allocated.
        #expect(OutboxJournal.decode([OutboxJournal.marker, 0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 8)).events.isEmpty)
    }

    @Test func replayingTheJournalTwiceGivesTheSameLedger() {
        let events: [OutboxJournal.Event] = [
            .notDelivered(lane: "l", firing: [1, 2], at: 1), .delivered(lane: "l", firing: [2, 3], resolved: [], at: 2),
            .withheld(lane: "l", fingerprints: [1]), .delivered(lane: "l", firing: [], resolved: [3], at: 3), .notDelivered(lane: "l", firing: [4], at: 4),
        ]
        var once = FiringLedger()
        for e in events { once.apply(e) }
        var twice = once
        for e in events { twice.apply(e) }
        #expect(once == twice)
        #expect(once.refused("l").keys.sorted() == [1, 4], "a withheld resolution leaves its alert marked")
        #expect(once.lanes["l"]?.told.keys.sorted() == [2])
    }
}
