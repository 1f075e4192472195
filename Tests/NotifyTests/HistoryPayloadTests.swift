import JSON
import Alerting
import Foundation
import Synchronization
import Testing
import TimeSeries
@testable import Notify

/// A firing alert's last 30 minutes in every payload: the sparkline line in chat messages, the raw
/// points in JSON webhooks and PagerDuty, an annotation for Alertmanager; attached by the notifier
/// from its history source, and kept in the outbox across a restart.
@Suite(.serialized) struct HistoryPayloadTests {
    /// The line of `PayloadTests.history`: 4 minutes without data, then a climb to 412.5.
    static let line = "    ▁▁▁▁▁▂▂▃▃▄▄▄▅▅▆▆▇█▇███████ min 120 max 420 last 412.5 (30m)"
    static var codeLine: String { "`" + line.prefix(30) + "`" + line.dropFirst(30) }
    static var plainLine: String { line.replacingOccurrences(of: " ", with: "\u{00A0}", options: [], range: line.startIndex..<line.index(line.startIndex, offsetBy: 4)) }

    static func body(_ builder: any PayloadBuilder, _ n: AlertNotification = PayloadTests.sample) -> [String: Any] {
        jsonObject(builder.payload(for: n).body)
    }

    static func string(_ any: Any?) -> String { any as? String ?? "" }

    @Test func theLineOfTheSampleIsWhatChatsShow() {
        #expect(MessageText.historyLine(PayloadTests.sample.alerts[0]) == Self.codeLine)
        #expect(MessageText.historyLine(PayloadTests.sample.alerts[0], code: false) == Self.plainLine)
        #expect(MessageText.historyLine(PayloadTests.sample.alerts[1]) == nil, "no history: no line")
    }

    @Test(arguments: [SlackReceiver.Flavor.slack, .mattermost])
    func slackAndMattermostShowTheLineInTheAlertsAttachment(flavor: SlackReceiver.Flavor) throws {
        let attachments = try #require(Self.body(SlackReceiver(flavor: flavor))["attachments"] as? [[String: Any]])
        let text = Self.string(attachments[0]["text"])
        #expect(text.hasSuffix("\n" + Self.plainLine), "after the description, without code marks (attachments are unformatted): \(text)")
        #expect(!Self.string(attachments[1]["text"]).contains("min "), "the alert without a history has no line")
        #expect(!Self.string(attachments[2]["text"]).contains("min "))
    }

    @Test func discordShowsTheLineInTheEmbedsDescription() throws {
        let embeds = try #require(Self.body(DiscordReceiver())["embeds"] as? [[String: Any]])
        #expect(Self.string(embeds[0]["description"]).contains("\n" + Self.codeLine + "\n"))
        #expect(!Self.string(embeds[1]["description"]).contains("min "))
    }

    @Test func teamsShowsTheLineWithoutCodeMarksInTheAlertList() throws {
        let text = String(decoding: TeamsReceiver().payload(for: PayloadTests.sample).body, as: UTF8.self)
        #expect(text.contains(Self.plainLine), "Adaptive Cards have no code spans; gaps stay no-break spaces")
        #expect(!text.contains("`"))
    }

    @Test func googleChatShowsTheLineInTheCardAndInText() throws {
        let card = String(decoding: GoogleChatReceiver().payload(for: PayloadTests.sample).body, as: UTF8.self)
        #expect(card.contains("queries.<br>" + Self.plainLine + "<br><b>instance</b>"))
        let text = Self.string(Self.body(GoogleChatReceiver(format: .text))["text"])
        #expect(text.contains("\n  " + Self.codeLine + "\n"))
    }

    static func points(_ any: Any?) -> [[Double]]? {
        (any as? [[Any]])?.map { $0.compactMap { ($0 as? NSNumber)?.doubleValue } }
    }

    static var expectedPoints: [[Double]] {
        PayloadTests.history.points.map { [Double($0.timestamp) / 1000, $0.value] }
    }

    @Test(arguments: ["webhook", "file"])
    func jsonWebhooksCarryTheRawPointsOfEachFiringAlert(kind: String) throws {
        let builder: any PayloadBuilder = kind == "webhook" ? WebhookReceiver() : FileReceiver()
        let alerts = try #require(Self.body(builder)["alerts"] as? [[String: Any]])
        let points = try #require(Self.points(alerts[0]["history"]))
        #expect(points == Self.expectedPoints)
        #expect(points.count == 26 && points.last == [Double(PayloadTests.t0 - 15_000) / 1000, 412.5])
        #expect(points.first?[0] == Double(PayloadTests.t0 - 15_000 - 25 * 60_000) / 1000)
        #expect(alerts[1]["history"] == nil && alerts[2]["history"] == nil, "only alerts with a history, never resolved ones")
        let text = String(decoding: builder.payload(for: PayloadTests.sample).body, as: UTF8.self)
        #expect(text.contains("\"history\":[[1714563285,120],[1714563345,125],"), "whole seconds print as integers")
    }

    @Test func aResolvedAlertNeverCarriesAHistory() throws {
        var n = PayloadTests.sample
        n.alerts[0].status = .resolved
        n.alerts[0].endsAt = PayloadTests.t0
        for (name, builder) in PayloadTests.builders {
            let text = String(decoding: builder.payload(for: n).body, as: UTF8.self)
            #expect(!text.contains("\"history\"") && !text.contains("min 120"), "\(name)")
        }
    }

    @Test func pagerDutyCarriesPointsAndLineInCustomDetails() throws {
        let details = try #require((Self.body(PagerDutyReceiver())["payload"] as? [String: Any])?["custom_details"] as? [String: Any])
        let history = try #require(details["history"] as? [[String: Any]])
        #expect(history.count == 1)
        #expect(Self.string(history[0]["alert"]) == "p95 latency 412 ms on api-1 (> 250 ms)")
        #expect(Self.string(history[0]["fingerprint"]) == PayloadTests.sample.alerts[0].fingerprintHex)
        #expect(Self.string(history[0]["sparkline"]) == Self.plainLine)
        #expect(Self.points(history[0]["points"]) == Self.expectedPoints)
        #expect(Self.string(details["firing"]).contains(Self.plainLine))
    }

    @Test func alertmanagerGetsTheLineAsAnAnnotationOfTheFiringAlertOnly() throws {
        let items = try #require(try JSONSerialization.jsonObject(with: Data(AlertmanagerReceiver(sparklineAnnotation: true).payload(for: PayloadTests.sample).body)) as? [[String: Any]])
        func annotations(_ i: Int) -> [String: String] { items[i]["annotations"] as? [String: String] ?? [:] }
        #expect(items.count == 4, "critical, its previous tier resolved, high, resolved medium")
        #expect(annotations(0)["sparkline"] == Self.plainLine)
        #expect(annotations(1)["sparkline"] == nil, "not on the previous tier's resolution")
        #expect(annotations(2)["sparkline"] == nil && annotations(3)["sparkline"] == nil)
        #expect(!String(decoding: AlertmanagerReceiver(sparklineAnnotation: true).payload(for: PayloadTests.sample).body, as: UTF8.self).contains("\"history\""))
        // Off by default: the annotations are the rule's, as a Prometheus sends them.
        #expect(!String(decoding: AlertmanagerReceiver().payload(for: PayloadTests.sample).body, as: UTF8.self).contains("\"sparkline\""))
        var own = PayloadTests.sample
        own.alerts[0].annotations["sparkline"] = "the rule's own"
        let mine = try #require(try JSONSerialization.jsonObject(with: Data(AlertmanagerReceiver(sparklineAnnotation: true).payload(for: own).body)) as? [[String: Any]])
        #expect((mine[0]["annotations"] as? [String: String])?["sparkline"] == "the rule's own", "a rule's annotation wins")
    }

    @Test func payloadsStayWithinLimitsWithAHistoryOnEveryAlert() throws {
        var n = PayloadTests.huge(alerts: 150, textSize: 2_000)
        for i in n.alerts.indices { n.alerts[i].history = PayloadTests.history }
        let discord = Self.body(DiscordReceiver(), n)
        #expect((discord["embeds"] as? [Any])?.count ?? 99 <= 10)
        #expect(TeamsReceiver().payload(for: n).body.count <= 28_000)
        #expect(GoogleChatReceiver().payload(for: n).body.count <= 32_000)
        #expect(PagerDutyReceiver().payload(for: n).body.count <= 512 * 1024)
        for (name, builder) in PayloadTests.builders {
            #expect((try? JSONSerialization.jsonObject(with: Data(builder.payload(for: n).body))) != nil, "\(name) is valid JSON")
        }
    }

    // MARK: - The notifier attaches histories

    /// A history source that records what it was asked and answers a ramp ending at each alert's value.
    final class FakeHistory: AlertHistorySource {
        let calls = Mutex<[[NotifiedAlert]]>([])
        func histories(for alerts: [NotifiedAlert]) -> [UInt64: ValueHistory] {
            let round = calls.withLock { $0.append(alerts); return $0.count }
            var out: [UInt64: ValueHistory] = [:]
            for a in alerts {
                let end = a.evaluatedAt ?? 0
                out[a.fingerprint] = ValueHistory(end: end, points: (0..<30).map {
                    Sample(timestamp: end - Int64(29 - $0) * 60_000, value: $0 == 29 ? a.value : Double($0 + round))
                })
            }
            return out
        }
    }

    func notifier(dir: String, transport: FakeTransport, clock: ManualClock, history: (any AlertHistorySource)?) throws -> Notifier {
        let spec = Route.Spec(
            receiver: "chat", groupBy: .labels(["alertname"]), groupWait: .zero, groupInterval: .seconds(60), repeatInterval: .seconds(600),
            routes: [
                .init(receiver: "pager", matchers: [m("severity=\"critical\"")], continue: true),
                .init(receiver: "chat", matchers: [m("severity=~\".+\"")]),
            ])
        let integrations = [
            Integration(receiver: "chat", index: 0, builder: SlackReceiver(), destination: .http(Endpoint(url: .inline("http://127.0.0.1:9/chat")))),
            Integration(receiver: "chat", index: 1, builder: WebhookReceiver(), destination: .http(Endpoint(url: .inline("http://127.0.0.1:9/hook")))),
            Integration(receiver: "pager", index: 0, builder: PagerDutyReceiver(), destination: .http(Endpoint(url: .inline("http://127.0.0.1:9/pd")))),
        ]
        let n = Notifier(
            configuration: .init(route: try Route(root: spec), integrations: integrations, outbox: .init(directory: dir + "/outbox")),
            transport: transport, logger: quietLogger, clock: clock.read, history: history)
        try n.open()
        return n
    }

    func alert(_ severity: String, _ state: Alert.State = .firing, instance: String, value: Double, at t: Timestamp) -> Alert {
        var a = makeAlert("Latency", severity: severity, state: state, labels: ["instance": instance], value: value, at: t)
        a.evaluatedAt = t
        return a
    }

    func hook(_ transport: FakeTransport) -> [[String: Any]] {
        transport.requests.filter { $0.url.hasSuffix("/hook") }.map { jsonObject($0.body) }
    }

    @Test func theNotifierAsksOncePerRoundForFiringAlertsOnlyAndEveryPayloadShowsTheAnswer() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let clock = ManualClock()
        let transport = FakeTransport()
        let history = FakeHistory()
        let n = try notifier(dir: dir, transport: transport, clock: clock, history: history)
        n.receive([
            alert("critical", instance: "a", value: 640, at: clock.value),
            alert("high", instance: "b", value: 310, at: clock.value),
        ])
        n.outbox.pump()
        let calls = history.calls.withLock { $0 }
        #expect(calls.count == 1, "chat and pager, three integrations: one request")
        #expect(calls.first?.map { $0.labels["instance"] ?? "" }.sorted() == ["a", "b"])
        #expect(transport.requests.count == 3, "chat: Slack and webhook, both alerts; pager: PagerDuty, the critical one")
        let alerts = try #require(hook(transport).first?["alerts"] as? [[String: Any]])
        #expect(alerts.count == 2)
        for a in alerts {
            let points = try #require(Self.points(a["history"]))
            #expect(points.count == 30)
            #expect(points.last?[0] == Double(clock.value) / 1000)
        }
        #expect(Self.points(alerts[0]["history"])?.last?[1] == 640)
        let slack = try #require(transport.requests.first { $0.url.hasSuffix("/chat") })
        #expect(String(decoding: slack.body, as: UTF8.self).contains("last 640 (30m)"))
        let pd = try #require(transport.requests.first { $0.url.hasSuffix("/pd") })
        #expect(String(decoding: pd.body, as: UTF8.self).contains("\"points\":[["))

        // Resolving one alert while the other fires: only the firing one is asked about.
        clock.advance(seconds: 60)
        n.receive([alert("critical", .resolved, instance: "a", value: 640, at: clock.value), alert("high", instance: "b", value: 320, at: clock.value)])
        n.outbox.pump()
        let second = history.calls.withLock { $0 }
        #expect(second.count == 2)
        #expect(second.last?.map { $0.labels["instance"] ?? "" } == ["b"])
        let latest = try #require(hook(transport).last?["alerts"] as? [[String: Any]])
        let resolved = try #require(latest.first { $0["status"] as? String == "resolved" })
        #expect(resolved["history"] == nil)
        #expect(Self.points(latest.first { $0["status"] as? String == "firing" }?["history"])?.last?[1] == 320)
    }

    @Test func repeatNotificationsCarryAFreshHistory() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let clock = ManualClock()
        let transport = FakeTransport()
        let history = FakeHistory()
        let n = try notifier(dir: dir, transport: transport, clock: clock, history: history)
        n.receive([alert("high", instance: "b", value: 310, at: clock.value)])
        n.outbox.pump()
        let before = hook(transport).count
        #expect(before == 1)
        for _ in 0..<10 {
            clock.advance(seconds: 60)
            n.receive([alert("high", instance: "b", value: 333, at: clock.value)])
            n.tick()
        }
        n.outbox.pump()
        let hooks = hook(transport)
        #expect(hooks.count == before + 1, "one repeat after repeat_interval (10 min)")
        let repeated = try #require(hooks.last)
        let points = try #require(Self.points((repeated["alerts"] as? [[String: Any]])?.first?["history"]))
        #expect(points.last == [Double(clock.value) / 1000, 333], "the repeat shows the latest evaluation")
        #expect(history.calls.withLock { $0.count } == 2, "asked at notification time only, not per evaluation")
    }

    @Test func withoutASourceNothingIsAttached() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let clock = ManualClock()
        let transport = FakeTransport()
        let n = try notifier(dir: dir, transport: transport, clock: clock, history: nil)
        n.receive([alert("high", instance: "b", value: 310, at: clock.value)])
        n.outbox.pump()
        #expect(hook(transport).first.map { ($0["alerts"] as? [[String: Any]])?.first?["history"] == nil } == true)
    }

    @Test func theHistoryIsInTheOutboxAndSurvivesARestart() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let clock = ManualClock()
        let down = FakeTransport()
        down.answerAlways(status(503))
        let first = try notifier(dir: dir, transport: down, clock: clock, history: FakeHistory())
        first.receive([alert("high", instance: "b", value: 310, at: clock.value)])
        first.outbox.pump()
        #expect(down.requests.count == 2, "slack and webhook tried once and failed")
        let sent = try #require(down.requests.first { $0.url.hasSuffix("/hook") }?.body)
        first.stop()

        // The next run has no history source: what it sends is what was stored.
        let up = FakeTransport()
        let second = try notifier(dir: dir, transport: up, clock: clock, history: nil)
        #expect(second.outbox.stats.pending == 2)
        second.outbox.pump()
        let resent = try #require(up.requests.first { $0.url.hasSuffix("/hook") }?.body)
        #expect(resent == sent)
        #expect(Self.points((jsonObject(resent)["alerts"] as? [[String: Any]])?.first?["history"])?.count == 30)
        #expect(String(decoding: try #require(up.requests.first { $0.url.hasSuffix("/chat") }?.body), as: UTF8.self).contains("last 310 (30m)"))
    }
}
