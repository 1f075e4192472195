import JSON
/// Microsoft Teams through a Workflows (Power Automate) webhook: a message with one Adaptive Card
/// of version 1.2 (as Alertmanager's `msteamsv2` declares; Teams on every client renders it),
/// full width: the title in the tier's colour, then per alert its tier and summary, description,
/// history, labels and a runbook button.
///
/// Every element exists in Adaptive Cards 1.2 (the card is validated against the published 1.2
/// schema in the tests): the title is bold and large, not a 1.5 `heading` style.
///
/// Neutralised: text from alerts goes only into `RichTextBlock` `TextRun`s, which Adaptive Cards
/// never read as Markdown (a `TextBlock` or `FactSet` would), so it shows as written; Teams
/// mentions need an `<at>` tag *and* an entity, and the card has neither. Buttons open absolute
/// http(s) URLs only.
///
/// Limit: Teams refuses a message over 28 KB ("Request Entity too large",
/// https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook);
/// the body as sent stays within 28,000 bytes. A long group lists the alerts after the first 20
/// one line each; the list goes first ("… and N more"), then descriptions, then alerts (`Detail.fit`).
public struct TeamsReceiver: PayloadBuilder {
    public var kind: String { "teams" }
    static let maxBytes = 28_000, maxAlerts = 20, maxDescription = 4000
    static let unit = TextUnit.utf8

    public init() {}

    public func payload(for n: AlertNotification) -> Payload {
        let cap = min(n.alerts.count, TeamsReceiver.maxAlerts)
        let detail = Detail.fit(total: n.alerts.count, cap: cap, descriptionLimit: TeamsReceiver.maxDescription) {
            render(n, $0).count <= TeamsReceiver.maxBytes
        }
        return Payload(body: render(n, detail))
    }

    /// A `RichTextBlock` of plain runs: `(text, bold)`.
    func rich(_ runs: [(String, Bool)], color: String? = nil, size: String? = nil, subtle: Bool = false, separator: Bool = false) -> JSON {
        var block: [(String, JSON)] = [("type", "RichTextBlock")]
        if separator { block.append(("separator", true)) }
        block.append((
            "inlines",
            .array(runs.map { text, bold in
                var run: [(String, JSON)] = [("type", "TextRun"), ("text", .string(text))]
                if bold { run.append(("weight", "Bolder")) }
                if let size { run.append(("size", .string(size))) }
                if let color { run.append(("color", .string(color))) }
                if subtle { run.append(("isSubtle", true)) }
                return .object(run)
            })
        ))
        return .object(block)
    }

    func render(_ n: AlertNotification, _ d: Detail) -> [UInt8] {
        let u = TextUnit.utf16, plain = Markup.plain
        let color: String
        if n.status == .resolved {
            color = "Good"
        } else {
            color = SeverityOrder.rank(n.severity ?? "") <= 1 ? "Attention" : "Warning"
        }
        var blocks: [JSON] = [rich([(plain.fitted(n.title, 500, u), true)], color: color, size: "Medium")]
        for a in n.alerts.prefix(d.detailed) {
            blocks.append(rich([("[\(plain.fitted(MessageText.tierText(a).uppercased(), 100, u))] ", true), (plain.fitted(MessageText.summary(a), 500, u), false)], separator: true))
            if let description = MessageText.description(a), d.description > 0 {
                blocks.append(rich([(plain.fitted(description, d.description, u), false)]))
            }
            if let history = MessageText.historyLine(a, code: false) { blocks.append(rich([(history, false)], subtle: true)) }
            if d.labels {
                let labels = MessageText.labelPairs(a).map { "\($0.0)=\($0.1)" }.joined(separator: "  ")
                if !labels.isEmpty { blocks.append(rich([(plain.fitted(labels, 1000, u), false)], subtle: true)) }
            }
            if let runbook = MessageText.runbook(a) {
                if let link = MessageText.linkURL(runbook) {
                    blocks.append(.object([("type", "ActionSet"), ("actions", .array([.object([("type", "Action.OpenUrl"), ("title", "Runbook"), ("url", .string(link))])]))]))
                } else {
                    blocks.append(rich([("Runbook: " + plain.fitted(runbook, 512, u), false)], subtle: true))
                }
            }
        }
        if d.detailed < n.alerts.count {
            let lines = n.alerts.dropFirst(d.detailed).prefix(d.listed).map { "[\(MessageText.tierText($0))] \(MessageText.summary($0))" }
            let list = MessageText.list(lines, hidden: d.hidden(of: n.alerts.count), markup: plain, limit: 8000, unit: u)
            for (i, line) in list.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
                blocks.append(rich([(String(line), false)], separator: i == 0))
            }
        }
        let content: [(String, JSON)] = [
            ("$schema", "http://adaptivecards.io/schemas/adaptive-card.json"), ("type", "AdaptiveCard"), ("version", "1.2"),
            ("body", .array(blocks)),
            // Teams' own extension (not in the card schema): use the message's full width.
            ("msteams", .object([("width", "Full")])),
        ]
        let message = JSON.object([
            ("type", "message"),
            ("attachments", .array([
                .object([
                    ("contentType", "application/vnd.microsoft.card.adaptive"), ("contentUrl", .null),
                    ("content", .object(content)),
                ])
            ])),
        ])
        return message.encoded()
    }
}
