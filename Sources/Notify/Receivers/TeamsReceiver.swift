/// Microsoft Teams through a Workflows (Power Automate) webhook: a message with one Adaptive Card,
/// shaped as Alertmanager's `msteamsv2` sends it (card version 1.2, full width, a heading in the
/// tier's colour and a wrapped text block), plus a fact set of the group's common labels and a
/// runbook button when the alerts share one.
///
/// Limit: Teams refuses messages over 28 KB; the text block is cut (marked with `…`) until the
/// whole payload fits in 28,000 bytes.
public struct TeamsReceiver: PayloadBuilder {
    public var kind: String { "teams" }
    static let maxBytes = 28_000

    public init() {}

    public func payload(for n: AlertNotification) -> Payload {
        var text = MessageText.plainText(n, bullet: "-", code: false).replacingNewlinesForTeams
        var body = render(n, text: text)
        var limit = MessageText.scalarCount(text)
        while body.count > TeamsReceiver.maxBytes, limit > 1 {
            // Cut by the overshoot (at least a tenth) so this converges in a few passes.
            limit = max(1, min(limit - (body.count - TeamsReceiver.maxBytes), limit * 9 / 10))
            text = MessageText.truncate(text, limit)
            body = render(n, text: text)
        }
        return Payload(body: body)
    }

    func render(_ n: AlertNotification, text: String) -> [UInt8] {
        let color: String
        if n.status == .resolved {
            color = "Good"
        } else {
            color = SeverityOrder.rank(n.severity ?? "") <= 1 ? "Attention" : "Warning"
        }
        var blocks: [JSON] = [
            .object([
                ("type", "TextBlock"), ("text", .string(MessageText.truncate(n.title, 1024))), ("weight", "Bolder"),
                ("size", "Medium"), ("wrap", true), ("style", "heading"), ("color", .string(color)),
            ]),
            .object([("type", "TextBlock"), ("text", .string(text)), ("wrap", true)]),
        ]
        let facts = n.commonLabels.labels.prefix(20).map {
            JSON.object([("title", .string(MessageText.truncate($0.name, 128))), ("value", .string(MessageText.truncate($0.value, 512)))])
        }
        if !facts.isEmpty { blocks.append(.object([("type", "FactSet"), ("facts", .array(Array(facts)))])) }
        var content: [(String, JSON)] = [
            ("$schema", "http://adaptivecards.io/schemas/adaptive-card.json"), ("type", "AdaptiveCard"), ("version", "1.2"),
            ("body", .array(blocks)),
        ]
        let runbooks = Set(n.alerts.compactMap(MessageText.runbook))
        if runbooks.count == 1, let runbook = runbooks.first {
            content.append(("actions", .array([.object([("type", "Action.OpenUrl"), ("title", "Runbook"), ("url", .string(runbook))])])))
        }
        content.append(("msteams", .object([("width", "full")])))
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

extension String {
    /// Adaptive Card text blocks need a blank line for a line break in Markdown lists.
    var replacingNewlinesForTeams: String {
        split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n\n")
    }
}
