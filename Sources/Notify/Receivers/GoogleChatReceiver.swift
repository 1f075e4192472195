/// Google Chat incoming webhooks: a `cardsV2` card (header with the title, one section per alert,
/// a runbook button) or plain `text`, threaded per group: `thread.threadKey` is derived from the
/// group key and the URL gets `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`, so every
/// notification of a group lands in the same thread.
///
/// Limit: a message (text and cards) holds at most 32,000 bytes; past 20 alerts the last section
/// lists the rest, and texts are cut (marked with `…`) until the message fits.
public struct GoogleChatReceiver: PayloadBuilder {
    public enum Format: String, Sendable {
        case card, text
    }

    public var kind: String { "googlechat" }
    public var format: Format
    static let maxBytes = 32_000
    static let maxSections = 20

    public init(format: Format = .card) { self.format = format }

    public func payload(for n: AlertNotification) -> Payload {
        let thread = "agent-" + Hex.bytes(SHA256.hash(Array((n.receiver + "\u{0}" + n.groupKey).utf8)).prefix(12))
        var limit = 4000
        var body = render(n, thread: thread, limit: limit)
        while body.count > GoogleChatReceiver.maxBytes, limit > 16 {
            limit /= 2
            body = render(n, thread: thread, limit: limit)
        }
        return Payload(body: body, query: ["messageReplyOption": "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"])
    }

    func render(_ n: AlertNotification, thread: String, limit: Int) -> [UInt8] {
        var message: [(String, JSON)] = []
        switch format {
        case .text:
            let text = "*\(n.title)*\n" + MessageText.plainText(n)
            message.append(("text", .string(MessageText.truncate(text, max(limit * 4, 64)))))
        case .card:
            message.append(("text", .string(MessageText.truncate(n.title, 1000))))
            var sections: [JSON] = []
            var shown = n.alerts
            var hidden: [NotifiedAlert] = []
            if shown.count > GoogleChatReceiver.maxSections {
                hidden = Array(shown[(GoogleChatReceiver.maxSections - 1)...])
                shown = Array(shown.prefix(GoogleChatReceiver.maxSections - 1))
            }
            for a in shown {
                var text = (MessageText.description(a) ?? "").htmlEscaped
                if let history = MessageText.historyLine(a, code: false) { text += (text.isEmpty ? "" : "<br>") + history.htmlEscaped }
                let labels = MessageText.labelPairs(a).map { "<b>\($0.0.htmlEscaped)</b>: \($0.1.htmlEscaped)" }.joined(separator: "<br>")
                text += (text.isEmpty ? "" : "<br>") + labels
                var widgets: [JSON] = [.object([("textParagraph", .object([("text", .string(MessageText.truncate(text, limit)))]))])]
                if let runbook = MessageText.runbook(a) {
                    widgets.append(
                        .object([(
                            "buttonList",
                            .object([("buttons", .array([.object([("text", "Runbook"), ("onClick", .object([("openLink", .object([("url", .string(runbook))]))]))])]))])
                        )]))
                }
                sections.append(
                    .object([
                        ("header", .string(MessageText.truncate("[\(MessageText.tierText(a).uppercased())] \(MessageText.summary(a))", min(limit, 500)))),
                        ("widgets", .array(widgets)),
                    ]))
            }
            if !hidden.isEmpty {
                let list = hidden.map { "[\(MessageText.tierText($0))] \(MessageText.summary($0))".htmlEscaped }.joined(separator: "<br>")
                sections.append(
                    .object([
                        ("header", .string("… and \(hidden.count) more alerts")),
                        ("widgets", .array([.object([("textParagraph", .object([("text", .string(MessageText.truncate(list, limit)))]))])])),
                    ]))
            }
            let subtitle = n.groupLabels.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
            message.append(
                ("cardsV2", .array([
                    .object([
                        ("cardId", "agent-alerts"),
                        ("card", .object([
                            ("header", .object([("title", .string(MessageText.truncate(n.title, 200))), ("subtitle", .string(MessageText.truncate(subtitle, 200)))])),
                            ("sections", .array(sections)),
                        ])),
                    ])
                ])))
        }
        message.append(("thread", .object([("threadKey", .string(thread))])))
        return JSON.object(message).encoded()
    }
}

extension String {
    /// `&`, `<`, `>` and `"` as HTML entities (Google Chat's card text is a subset of HTML).
    var htmlEscaped: String {
        var out = ""
        for ch in unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
