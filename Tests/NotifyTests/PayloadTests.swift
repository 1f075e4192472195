import JSON
import Alerting
import Foundation
import Testing
import TimeSeries
@testable import Notify

/// One notification rendered by every receiver, compared byte for byte with `Golden/<kind>.json`
/// (regenerate with `UPDATE_GOLDEN=1`), then checked against each service's documented shape and
/// limits, also with hostile sizes.
@Suite struct PayloadTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// 2024-05-01T12:00:00Z
    static let t0: Timestamp = 1_714_564_800_000

    static func alert(
        _ name: String, _ severity: String?, _ status: NotifiedAlert.Status, instance: String, annotations: [String: String],
        value: Double, previous: String? = nil, startedAgo: Int64 = 300_000, history: ValueHistory? = nil
    ) -> NotifiedAlert {
        var labels = ["alertname": name, "instance": instance, "job": "api"]
        labels["severity"] = severity
        let identity = Labels(labels.filter { $0.key != "severity" })
        return NotifiedAlert(
            status: status, labels: Labels(labels), annotations: annotations, severity: severity, startsAt: t0 - startedAgo,
            endsAt: status == .resolved ? t0 - 60_000 : nil, value: value, fingerprint: identity.stableHash, source: "rules/api.yaml:api",
            previousSeverity: previous, history: history)
    }

    /// The critical alert's last 30 minutes: no data for the first 4, then a climb to its value.
    static let history: ValueHistory = {
        let values: [Double] = [120, 125, 130, 128, 135, 150, 170, 190, 210, 240, 260, 250, 270, 300, 320, 350, 380, 400, 390, 410, 420, 415,
                                405, 410, 412, 412.5]
        let end = t0 - 15_000
        return ValueHistory(end: end, points: values.enumerated().map { Sample(timestamp: end - Int64(25 - $0.offset) * 60_000, value: $0.element) })
    }()

    static let sample = AlertNotification(
        receiver: "team-api", groupKey: "{}/{severity=~\"critical|high|medium\"}:{alertname=\"ApiLatency\"}",
        groupLabels: Labels(["alertname": "ApiLatency"]),
        alerts: [
            alert(
                "ApiLatency", "critical", .firing, instance: "api-1:8080",
                annotations: [
                    "summary": "p95 latency 412 ms on api-1 (> 250 ms)", "description": "The 5-minute p95 of http_request_duration_ms is 412 ms.\nCheck the database pool & <slow> queries.",
                    "runbook_url": "https://runbooks.example.com/api-latency",
                ], value: 412.5, previous: "high", history: history),
            alert(
                "ApiLatency", "high", .firing, instance: "api-2:8080",
                annotations: ["summary": "p95 latency 180 ms on api-2 (> 150 ms)", "runbook_url": "https://runbooks.example.com/api-latency"],
                value: 180),
            alert("ApiLatency", "medium", .resolved, instance: "api-3:8080", annotations: ["summary": "p95 latency back to 90 ms on api-3"], value: 0.0731),
        ],
        reason: .severityChanged, idempotencyKey: "5f0c3a1b2e4d6f78-1714564800000-3", createdAt: t0, validUntil: t0 + 240_000,
        externalURL: "http://api-1:9464")

    static let builders: [(String, any PayloadBuilder)] = [
        ("webhook", WebhookReceiver()), ("slack", SlackReceiver(channel: "#alerts", username: "agent")),
        ("mattermost", SlackReceiver(flavor: .mattermost)), ("discord", DiscordReceiver()), ("teams", TeamsReceiver()),
        ("googlechat", GoogleChatReceiver()), ("googlechat-text", GoogleChatReceiver(format: .text)),
        ("pagerduty", PagerDutyReceiver()), ("alertmanager", AlertmanagerReceiver()), ("file", FileReceiver()),
    ]

    @Test(arguments: PayloadTests.builders.map(\.0))
    func payloadsMatchTheirGoldenFiles(name: String) throws {
        let builder = PayloadTests.builders.first { $0.0 == name }!.1
        let body = builder.payload(for: PayloadTests.sample).body
        #expect(try JSONSerialization.jsonObject(with: Data(body)) is [String: Any] || name == "alertmanager")
        let url = PayloadTests.goldenDirectory.appendingPathComponent("\(name).json")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] != nil {
            try Data(body).write(to: url)
        }
        let golden = try Data(contentsOf: url)
        #expect(Array(golden) == body, "\(name): differs from Golden/\(name).json (UPDATE_GOLDEN=1 rewrites it)\n\(String(decoding: body, as: UTF8.self))")
    }

    @Test func theWebhookPayloadHasAlertmanagersFieldsOrderAndEncoding() {
        let text = String(decoding: WebhookReceiver().payload(for: PayloadTests.sample).body, as: UTF8.self)
        let order = ["\"receiver\"", "\"status\"", "\"alerts\"", "\"groupLabels\"", "\"commonLabels\"", "\"commonAnnotations\"", "\"externalURL\"", "\"version\"", "\"groupKey\"", "\"truncatedAlerts\""]
        let positions = order.map { text.range(of: $0)?.lowerBound }
        #expect(!positions.contains(nil))
        #expect(positions.compactMap { $0 }.sorted() == positions.compactMap { $0 })
        #expect(text.hasPrefix("{\"receiver\":\"team-api\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"ApiLatency\","))
        #expect(text.contains("\"endsAt\":\"0001-01-01T00:00:00Z\""), "a firing alert's endsAt is Go's zero time")
        #expect(text.contains("\"startsAt\":\"2024-05-01T11:55:00Z\""))
        #expect(text.contains("\\u0026 \\u003cslow\\u003e"), "Go escapes <, > and & in JSON")
        #expect(text.contains("\"groupKey\":\"{}/{severity=~\\\"critical|high|medium\\\"}:{alertname=\\\"ApiLatency\\\"}\""))
        #expect(text.hasSuffix("\"truncatedAlerts\":0}\n"), "json.Encoder ends with a newline")
        let limited = String(decoding: WebhookReceiver(maxAlerts: 1).payload(for: PayloadTests.sample).body, as: UTF8.self)
        #expect(limited.contains("\"truncatedAlerts\":2}"))
    }

    @Test func pagerDutyTriggersAndResolvesTheSameIncident() throws {
        let trigger = jsonObject(PagerDutyReceiver().payload(for: PayloadTests.sample).body)
        var resolvedOnly = PayloadTests.sample
        resolvedOnly.alerts = resolvedOnly.alerts.map { var a = $0; a.status = .resolved; a.endsAt = PayloadTests.t0; return a }
        let resolve = jsonObject(PagerDutyReceiver().payload(for: resolvedOnly).body)
        #expect(trigger["event_action"] as? String == "trigger")
        #expect(resolve["event_action"] as? String == "resolve")
        #expect(trigger["dedup_key"] as? String == resolve["dedup_key"] as? String)
        #expect((trigger["dedup_key"] as? String)?.count == 64)
        let payload = try #require(trigger["payload"] as? [String: Any])
        #expect(payload["severity"] as? String == "critical")
        #expect(["summary", "source", "severity"].allSatisfy { payload[$0] is String }, "required by Events API v2")
        #expect((trigger["links"] as? [[String: String]])?.first?["href"] == "https://runbooks.example.com/api-latency")
    }

    @Test(arguments: [("critical", "critical"), ("high", "error"), ("medium", "warning"), ("low", "info"), ("unknown", "error")])
    func tiersMapToPagerDutySeverities(tier: String, expected: String) {
        #expect(PagerDutyReceiver.severity(tier) == expected)
    }

    @Test func alertmanagerGetsAResolvedCopyUnderThePreviousTier() throws {
        let items = try #require(try JSONSerialization.jsonObject(with: Data(AlertmanagerReceiver().payload(for: PayloadTests.sample).body)) as? [[String: Any]])
        #expect(items.count == 4)
        let severities = items.map { ($0["labels"] as? [String: String])?["severity"] ?? "" }
        #expect(severities == ["critical", "high", "high", "medium"])
        #expect(items[0]["endsAt"] as? String == "2024-05-01T12:04:00Z", "firing: valid until re-sent")
        #expect(items[1]["endsAt"] as? String == "2024-05-01T12:00:00Z", "the old tier ends now")
        #expect(items[3]["endsAt"] as? String == "2024-05-01T11:59:00Z")
    }

    @Test func teamsSendsAnAdaptiveCardAsMSTeamsV2Does() throws {
        let message = jsonObject(TeamsReceiver().payload(for: PayloadTests.sample).body)
        #expect(message["type"] as? String == "message")
        let attachment = try #require((message["attachments"] as? [[String: Any]])?.first)
        #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        #expect(attachment["contentUrl"] is NSNull)
        let content = try #require(attachment["content"] as? [String: Any])
        #expect(content["type"] as? String == "AdaptiveCard")
        #expect(content["version"] as? String == "1.2")
        #expect(content["$schema"] as? String == "http://adaptivecards.io/schemas/adaptive-card.json")
        #expect((content["msteams"] as? [String: String])?["width"] == "Full")
        let body = try #require(content["body"] as? [[String: Any]])
        let title = try #require((body.first?["inlines"] as? [[String: Any]])?.first)
        #expect(title["color"] as? String == "Attention")
        #expect(title["weight"] as? String == "Bolder")
        let text = String(decoding: TeamsReceiver().payload(for: PayloadTests.sample).body, as: UTF8.self)
        #expect(!text.contains("\"heading\""), "the heading style is Adaptive Cards 1.5; the card declares 1.2")
        #expect(!text.contains("\"TextBlock\"") && !text.contains("\"FactSet\""), "alert text only in TextRuns, which are never Markdown")
        #expect(text.contains("\"type\":\"Action.OpenUrl\",\"title\":\"Runbook\",\"url\":\"https://runbooks.example.com/api-latency\""))
    }

    /// A notification far beyond every service's limits.
    static func huge(alerts count: Int, textSize: Int) -> AlertNotification {
        var n = sample
        let long = String(repeating: "lorem ipsum é 🚨 ", count: textSize / 16)
        n.alerts = (0..<count).map { i in
            alert(
                "ApiLatency", ["critical", "high", "medium", "low"][i % 4], .firing, instance: "api-\(i)",
                annotations: ["summary": "summary \(i) " + long, "description": long, "runbook_url": "https://r/\(i)"], value: Double(i))
        }
        return n
    }

    @Test(arguments: [(1, 200_000), (150, 2_000), (30, 30_000)])
    func everyPayloadStaysWithinItsServicesLimitsAndIsNeverRejected(count: Int, textSize: Int) throws {
        let n = PayloadTests.huge(alerts: count, textSize: textSize)
        func chars(_ s: Any?) -> Int { (s as? String)?.unicodeScalars.count ?? 0 }

        let discord = jsonObject(DiscordReceiver().payload(for: n).body)
        let embeds = try #require(discord["embeds"] as? [[String: Any]])
        #expect(embeds.count <= 10 && !embeds.isEmpty)
        #expect(chars(discord["content"]) <= 2000)
        var total = 0
        for e in embeds {
            #expect(chars(e["title"]) <= 256)
            #expect(chars(e["description"]) <= 4096)
            #expect(e["color"] is Int)
            let fields = e["fields"] as? [[String: Any]] ?? []
            #expect(fields.count <= 25)
            for f in fields {
                #expect(chars(f["name"]) <= 256 && chars(f["value"]) <= 1024)
            }
            let footer = chars((e["footer"] as? [String: Any])?["text"])
            #expect(footer <= 2048)
            total += chars(e["title"]) + chars(e["description"]) + footer + fields.reduce(0) { $0 + chars($1["name"]) + chars($1["value"]) }
        }
        #expect(total <= 6000, "Discord's 6,000 characters across embeds: \(total)")

        let slack = SlackReceiver().payload(for: n).body
        let slackJSON = jsonObject(slack)
        #expect((slackJSON["attachments"] as? [Any])?.count ?? 99 <= 20)
        #expect(SlackReceiver.characters(try #require(parse(slack)), .utf16) <= 40_000)
        let mattermost = SlackReceiver(flavor: .mattermost).payload(for: n).body
        #expect(SlackReceiver.characters(try #require(parse(mattermost)), .scalars) <= 16_383)

        #expect(TeamsReceiver().payload(for: n).body.count <= 28_000)
        #expect(GoogleChatReceiver().payload(for: n).body.count <= 32_000)
        let text = GoogleChatReceiver(format: .text).payload(for: n).body
        #expect(text.count <= 32_000)
        #expect(((jsonObject(text)["text"] as? String)?.utf16.count ?? 0) <= 4096, "Google Chat refuses text over 4,096 characters")
        #expect((jsonObject(text)["text"] as? String)?.contains(count > 1 ? "more" : "…") == true, "a cut says so")

        let pd = PagerDutyReceiver().payload(for: n).body
        #expect(pd.count <= 512 * 1024)
        #expect(chars((jsonObject(pd)["payload"] as? [String: Any])?["summary"]) <= 1024)

        for (name, builder) in PayloadTests.builders {
            let body = builder.payload(for: n).body
            #expect((try? JSONSerialization.jsonObject(with: Data(body))) != nil, "\(name) is valid JSON")
        }
        let discordText = String(decoding: DiscordReceiver().payload(for: n).body, as: UTF8.self)
        #expect(discordText.contains("…"), "cuts are marked")
    }

    /// Our JSON value from bytes, for counting characters as the services do.
    func parse(_ bytes: [UInt8]) -> JSON? {
        func convert(_ any: Any) -> JSON {
            switch any {
            case let s as String: return .string(s)
            case let a as [Any]: return .array(a.map(convert))
            case let d as [String: Any]: return .object(d.map { ($0.key, convert($0.value)) })
            default: return .null
            }
        }
        return (try? JSONSerialization.jsonObject(with: Data(bytes))).map(convert)
    }

    /// Cutting happens before escaping: the limit holds on the escaped text, in the service's unit,
    /// and neither an escape nor a character is ever split.
    @Test func fittingCutsBeforeEscapesAndCountsInTheServicesUnit() {
        #expect(Markup.slack.fitted("a & b", 7, .utf16) == "a …", "“a &amp;…” would pass 7: cut before the entity, never inside")
        #expect(Markup.slack.fitted("a & b", 8, .utf16) == "a &amp;…")
        #expect(Markup.slack.fitted("a & b", 11, .utf16) == "a &amp; b")
        #expect(Markup.html.fitted("<b>", 12, .utf16) == "&lt;b&gt;")
        #expect(Markup.html.fitted("<b>", 8, .utf16) == "&lt;b…")
        #expect(Markup.markdown.fitted("*x*", 3, .scalars) == "\\*…")
        #expect(Markup.plain.fitted("🚨🚨🚨", 4, .utf16) == "🚨…", "a surrogate pair is never split")
        #expect(Markup.plain.fitted("🚨🚨🚨", 3, .scalars) == "🚨🚨🚨")
        #expect(Markup.plain.fitted("🚨🚨🚨", 2, .scalars) == "🚨…")
        #expect(Markup.plain.fitted("héllo", 4, .utf8) == "h…", "never half a UTF-8 sequence")
        #expect(Markup.chatText.fitted("<users/all>", 100, .utf16) == "<\u{2060}users/all>")
        #expect(Markup.markdown.escaped("@everyone a@b http_requests_total _x_") == "@\u{2060}everyone a@\u{2060}b http_requests_total \\_x\\_")
        #expect(Markup.markdown.escaped("- item\n# h\n> q\n1. one") == "\\- item\n\\# h\n\\> q\n1\\. one")
        for limit in [0, 1, 5, 17, 100] {
            for markup in [Markup.plain, .slack, .html, .markdown, .chatText, .atSigns] {
                let out = markup.fitted(HostileGroups.hostile.joined(separator: "\n"), limit, .utf16)
                #expect(out.utf16.count <= limit, "\(markup) \(limit)")
            }
        }
    }

    @Test(arguments: ["https://x.example/a?b=1", "http://x"])
    func absoluteHTTPLinksAreLinks(url: String) { #expect(MessageText.linkURL(url) == url) }

    @Test(arguments: ["/runbooks/x", "", "javascript:alert(1)", "ftp://x", "https://", "https:///x", "https://x y", "https://x/<a>"])
    func otherLinksAreNot(url: String) { #expect(MessageText.linkURL(url) == nil) }

    /// Detail.fit cuts the list first, then descriptions, then alerts.
    @Test func fittingShortensTheLeastImportantPartFirst() {
        // A size model: 10 per listed line, `description` per detailed alert, 50 per detailed alert.
        func size(_ d: Detail) -> Int { d.listed * 10 + d.detailed * (50 + d.description) }
        let roomy = Detail.fit(total: 30, cap: 9, descriptionLimit: 100) { size($0) <= 10_000 }
        #expect(roomy == Detail(detailed: 9, listed: 21, description: 100, labels: true))
        let list = Detail.fit(total: 30, cap: 9, descriptionLimit: 100) { size($0) <= 1400 }
        #expect(list == Detail(detailed: 9, listed: 5, description: 100, labels: true), "the list goes first")
        let descriptions = Detail.fit(total: 30, cap: 9, descriptionLimit: 100) { size($0) <= 900 }
        #expect(descriptions == Detail(detailed: 9, listed: 0, description: 50, labels: true), "then descriptions")
        let alerts = Detail.fit(total: 30, cap: 9, descriptionLimit: 100) { size($0) <= 200 }
        #expect(alerts == Detail(detailed: 4, listed: 0, description: 0, labels: true), "then alerts")
        #expect(Detail(detailed: 4, listed: 3, description: 0, labels: true).hidden(of: 30) == 23)
    }

    @Test func truncationCutsOnScalarsAndMarksTheCut() {
        #expect(MessageText.truncate("abcdef", 4) == "abc…")
        #expect(MessageText.truncate("abc", 3) == "abc")
        #expect(MessageText.truncate("🚨🚨🚨", 2) == "🚨…")
        #expect(MessageText.truncate("héllo", bytes: 5) == "h…")
        #expect(MessageText.truncate("abc", 0) == "")
    }

    @Test func googleChatThreadsEachGroupAndEscapesHTML() throws {
        let p = GoogleChatReceiver().payload(for: PayloadTests.sample)
        #expect(p.query["messageReplyOption"] == "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD")
        let message = jsonObject(p.body)
        let key = (message["thread"] as? [String: String])?["threadKey"]
        var other = PayloadTests.sample
        other.groupKey = "{}:{alertname=\"Other\"}"
        #expect(key != nil && key == (jsonObject(GoogleChatReceiver().payload(for: PayloadTests.sample).body)["thread"] as? [String: String])?["threadKey"])
        #expect(key != (jsonObject(GoogleChatReceiver().payload(for: other).body)["thread"] as? [String: String])?["threadKey"])
        #expect(String(decoding: p.body, as: UTF8.self).contains("&lt;slow&gt;"))
    }
}

extension PayloadTests {
    @Test func slackEscapesAngleBracketsAndAmpersandsButMattermostDoesNot() {
        let slack = String(decoding: SlackReceiver().payload(for: PayloadTests.sample).body, as: UTF8.self)
        #expect(slack.contains("pool &amp; &lt;slow&gt; queries"))
        #expect(slack.contains("\"title_link\":\"https://runbooks.example.com/api-latency\""), "the runbook is the title's link")
        #expect(!slack.contains("mrkdwn_in"), "attachments unformatted: alert text shows as written")
        let mattermost = String(decoding: SlackReceiver(flavor: .mattermost).payload(for: PayloadTests.sample).body, as: UTF8.self)
        #expect(mattermost.contains(#"pool & \\<slow> queries"#), "Markdown-escaped")
        #expect(mattermost.contains("\"title_link\":\"https://runbooks.example.com/api-latency\""))
    }
}
