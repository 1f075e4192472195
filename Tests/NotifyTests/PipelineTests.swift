import Alerting
import Foundation
import Ingest
import Testing
import TimeSeries
@testable import Notify

/// Grouping, repeat, resolution, inhibition, silences and escalation, end to end: a notifier under
/// a manual clock delivering to a real receiver on 127.0.0.1.
@Suite(.serialized) struct PipelineTests {
    static let client = HTTPClient()
    let clock = ManualClock(Notifier.wallClock())

    func notifier(_ receiver: LocalReceiver, dir: String, silences: Silences? = nil) throws -> Notifier {
        let spec = Route.Spec(
            receiver: "chat", groupBy: .labels(["alertname"]), groupWait: .seconds(10), groupInterval: .seconds(60), repeatInterval: .seconds(3600),
            routes: [
                .init(receiver: "pager", matchers: [m("severity=\"critical\"")], continue: true),
                .init(receiver: "chat", matchers: [m("severity=~\"critical|high|medium|low\"")]),
            ])
        let integrations = [
            Integration(receiver: "chat", index: 0, builder: WebhookReceiver(), destination: .http(Endpoint(url: .inline(receiver.url("/chat"))))),
            Integration(receiver: "pager", index: 0, builder: WebhookReceiver(), destination: .http(Endpoint(url: .inline(receiver.url("/pager"))))),
        ]
        let n = Notifier(
            configuration: .init(
                route: try Route(root: spec), inhibitRules: [InhibitRule.severityDefault], integrations: integrations,
                // These tests hand an alert over once and let it fire for hours; the daemon re-sends
                // every active alert at each evaluation, and `alertTimeout` has its own test.
                outbox: .init(directory: dir + "/outbox"), alertTimeout: .seconds(86_400)),
            transport: CurlTransport(client: PipelineTests.client), logger: quietLogger, silences: silences, clock: clock.read)
        try n.open()
        n.start()
        return n
    }

    func alert(_ name: String, _ severity: String, _ state: Alert.State = .firing, instance: String = "a") -> Alert {
        makeAlert(name, severity: severity, state: state, labels: ["instance": instance], at: clock.value)
    }

    /// Advances the clock second by second, ticking, then waits for deliveries to settle.
    func advance(_ n: Notifier, seconds: Int) {
        for _ in 0..<seconds {
            clock.advance(seconds: 1)
            n.tick()
        }
        _ = n.outbox.waitUntilEmpty(timeout: .seconds(5))
    }

    func instances(_ r: ReceivedRequest) -> [String] {
        ((r.json["alerts"] as? [[String: Any]]) ?? []).compactMap { a in
            let labels = a["labels"] as? [String: String]
            return labels.map { "\($0["instance"] ?? "")/\(a["status"] as? String ?? "")" }
        }
    }

    @Test func groupingRepeatAndResolutionAsAReceiverSeesThem() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let receiver = try LocalReceiver()
        let n = try notifier(receiver, dir: dir)
        defer { n.stop() }

        n.receive([alert("Latency", "high", instance: "a")])
        advance(n, seconds: 4)
        n.receive([alert("Latency", "high", instance: "b")])
        advance(n, seconds: 5)
        #expect(receiver.requests().isEmpty, "group_wait holds the first notification")
        advance(n, seconds: 1)
        var got = receiver.requests()
        #expect(got.map(\.path) == ["/chat"])
        #expect(got.first.map(instances) == ["a/firing", "b/firing"], "both alerts in one notification")

        n.receive([alert("Latency", "high", instance: "c")])
        advance(n, seconds: 59)
        #expect(receiver.requests().count == 1, "group_interval holds the change")
        advance(n, seconds: 1)
        got = receiver.requests()
        #expect(got.count == 2)
        #expect(got.last.map(instances) == ["a/firing", "b/firing", "c/firing"])

        advance(n, seconds: 3599)
        #expect(receiver.requests().count == 2)
        advance(n, seconds: 60)
        #expect(receiver.requests().count == 3, "repeat_interval: the same alerts again")
        #expect(Set(receiver.requests().compactMap { $0.headers["idempotency-key"] }).count == 3)

        n.receive([alert("Latency", "high", .resolved, instance: "a")])
        advance(n, seconds: 60)
        got = receiver.requests()
        #expect(got.count == 4)
        #expect(got.last.map(instances) == ["b/firing", "c/firing", "a/resolved"])
        n.receive([alert("Latency", "high", .resolved, instance: "b"), alert("Latency", "high", .resolved, instance: "c")])
        advance(n, seconds: 60)
        got = receiver.requests()
        #expect(got.last?.json["status"] as? String == "resolved")
        #expect(got.last.map(instances) == ["b/resolved", "c/resolved"])
    }

    @Test func inhibitionSilencesAndEscalationAsAReceiverSeesThem() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let receiver = try LocalReceiver()
        let silences = Silences(clock: clock.read)
        let n = try notifier(receiver, dir: dir, silences: silences)
        defer { n.stop() }
        let s = try silences.add(matchers: [m("alertname=\"Disk\"")], endsAt: clock.value + 120_000, createdBy: "ops", comment: "resizing")

        n.receive([alert("Errors", "critical", instance: "a"), alert("Errors", "medium", instance: "b"), alert("Disk", "high")])
        advance(n, seconds: 10)
        var got = receiver.requests()
        #expect(got.filter { $0.path == "/pager" }.map(instances) == [["a/firing"]])
        #expect(got.filter { $0.path == "/chat" }.map(instances) == [["a/firing"]], "medium is inhibited by critical; Disk is silenced")

        try silences.expire(id: s.id)
        advance(n, seconds: 60)
        got = receiver.requests()
        #expect(got.filter { $0.path == "/chat" }.contains { instances($0) == ["a/firing"] && ($0.json["groupLabels"] as? [String: String])?["alertname"] == "Disk" })

        // Escalation: Disk goes from high to critical; pager and chat hear at once, not a group interval later.
        let before = receiver.requests().count
        clock.advance(seconds: 1)
        n.receive([alert("Disk", "critical")])
        _ = n.outbox.waitUntilEmpty(timeout: .seconds(5))
        got = Array(receiver.requests().dropFirst(before))
        #expect(Set(got.map(\.path)) == ["/pager", "/chat"])
        #expect(got.allSatisfy { (($0.json["alerts"] as? [[String: Any]])?.first?["labels"] as? [String: String])?["severity"] == "critical" })

        // De-escalation: back to high; the pager hears "resolved", the chat the new tier, at once.
        let before2 = receiver.requests().count
        clock.advance(seconds: 1)
        n.receive([alert("Disk", "high")])
        _ = n.outbox.waitUntilEmpty(timeout: .seconds(5))
        got = Array(receiver.requests().dropFirst(before2))
        #expect(got.first { $0.path == "/pager" }?.json["status"] as? String == "resolved")
        #expect(((got.first { $0.path == "/chat" }?.json["alerts"] as? [[String: Any]])?.first?["labels"] as? [String: String])?["severity"] == "high")
    }
}
