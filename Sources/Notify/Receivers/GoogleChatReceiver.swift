import JSON
/// Google Chat incoming webhooks: a `cardsV2` card (header with the title, one section per alert,
/// a runbook button) or plain `text`, threaded per group: `thread.threadKey` is derived from the
/// group key and the URL gets `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`, so every
/// notification of a group lands in the same thread.
///
/// Limits, kept on the message as sent: a message (text and cards) holds at most 32,000 bytes
/// (https://developers.google.com/workspace/chat/create-messages), counted here on the UTF-8
/// JSON body, which is never smaller than Chat's own encoding of the same message; `text` holds
/// 4,096 characters (Chat answers "Message is longer than 4096 characters"), counted in UTF-16
/// code units as Chat's unit is undocumented; a card shows at most 100 widgets
/// (https://developers.google.com/workspace/chat/api/reference/rest/v1/cards). A card shows 20
/// alerts as sections (two widgets each), a text message lists them; past that, and past the
/// limits, the list of the rest goes first ("… and N more"), then descriptions, then alerts
/// (`Detail.fit`).
///
/// Neutralised: card text and section headers are HTML (Chat's "simple HTML" subset) and are
/// escaped; the card header and button are plain text. `text` uses Chat's own markup, where
/// `<users/all>` mentions a whole space: every `<` from an alert is followed by a word joiner, so
/// no mention or link forms (Chat documents no escape for its `*`, `_`, `~` and backquotes, which
/// may still format). Buttons open absolute http(s) URLs only.
public struct GoogleChatReceiver: PayloadBuilder {
    public enum Format: String, Sendable {
        case card, text
    }

    public var kind: String { "googlechat" }
    public var format: Format
    /// Configured mentions in `Mentions` forms (`all`, `users/<ID>`), validated by the config reader.
    public var mentions: [String]
    static let maxBytes = 32_000, maxText = 4096, maxSections = 20, maxParagraph = 4000, maxHeader = 500
    static let unit = TextUnit.utf16

    public init(format: Format = .card, mentions: [String] = []) {
        self.format = format
        self.mentions = mentions
    }

    public func payload(for n: AlertNotification) -> Payload {
        let cap = format == .text || n.alerts.count <= GoogleChatReceiver.maxSections ? n.alerts.count : GoogleChatReceiver.maxSections - 1
        let detail = Detail.fit(total: n.alerts.count, cap: cap, descriptionLimit: GoogleChatReceiver.maxParagraph) {
            fits(render(n, $0))
        }
        return Payload(body: render(n, detail).encoded(), query: ["messageReplyOption": "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"])
    }

    func fits(_ message: JSON) -> Bool {
        guard message.encodedCount <= GoogleChatReceiver.maxBytes else { return false }
        guard case .object(let members) = message, let text = members.first(where: { $0.0 == "text" }), case .string(let s) = text.1 else { return true }
        return GoogleChatReceiver.unit.count(s) <= GoogleChatReceiver.maxText
    }

    func render(_ n: AlertNotification, _ d: Detail) -> JSON {
        let u = GoogleChatReceiver.unit
        let mention = Mentions.prefix(mentions.compactMap { Mentions.render($0, for: kind) }, n)
        let thread = "agent-" + Hex.bytes(SHA256.hash(Array((n.receiver + "\u{0}" + n.groupKey).utf8)).prefix(12))
        var message: [(String, JSON)] = []
        switch format {
        case .text:
            message.append(("text", .string(mention + "*" + Markup.chatText.fitted(n.title, 1000, u) + "*\n" + textBody(n, d))))
        case .card:
            message.append(("text", .string(mention + Markup.chatText.fitted(n.title, 1000, u))))
            var sections = n.alerts.prefix(d.detailed).map { section($0, d) }
            let rest = n.alerts.count - d.detailed
            if rest > 0 {
                let lines = n.alerts.dropFirst(d.detailed).prefix(d.listed).map { "[\(MessageText.tierText($0))] \(MessageText.summary($0))" }
                let list = MessageText.list(lines, hidden: d.hidden(of: n.alerts.count), markup: .html, limit: GoogleChatReceiver.maxParagraph, unit: u, separator: "<br>")
                sections.append(.object([("header", .string("… and \(rest) more alerts")), ("widgets", .array([paragraph(list)]))]))
            }
            let subtitle = n.groupLabels.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
            var header: [(String, JSON)] = [("title", .string(Markup.plain.fitted(n.title, 200, u)))]
            if !subtitle.isEmpty { header.append(("subtitle", .string(Markup.plain.fitted(subtitle, 200, u)))) }
            message.append(
                ("cardsV2", .array([
                    .object([
                        ("cardId", "agent-alerts"),
                        ("card", .object([("header", .object(header)), ("sections", .array(sections))])),
                    ])
                ])))
        }
        message.append(("thread", .object([("threadKey", .string(thread))])))
        return .object(message)
    }

    func paragraph(_ html: String) -> JSON {
        .object([("textParagraph", .object([("text", .string(html))]))])
    }

    func section(_ a: NotifiedAlert, _ d: Detail) -> JSON {
        let u = GoogleChatReceiver.unit, html = Markup.html
        let link = MessageText.runbook(a).flatMap(MessageText.linkURL)
        var extras: [String] = []
        if let history = MessageText.historyLine(a, code: false) { extras.append(html.escaped(history)) }
        if let runbook = MessageText.runbook(a), link == nil { extras.append("Runbook: " + html.fitted(runbook, 512, u)) }
        if d.labels {
            let labels = MessageText.labelPairs(a).prefix(40).map { "<b>\(html.fitted($0.0, 100, u))</b>: \(html.fitted($0.1, 300, u))" }
            if !labels.isEmpty { extras.append(labels.joined(separator: "<br>")) }
        }
        let tail = extras.map { "<br>" + $0 }.joined()
        let room = max(0, min(d.description, GoogleChatReceiver.maxParagraph - u.count(tail)))
        var text = MessageText.description(a).map { html.fitted($0, room, u) } ?? ""
        text += text.isEmpty ? String(tail.dropFirst(4)) : tail
        var widgets: [JSON] = [paragraph(text.isEmpty ? html.escaped(MessageText.tierText(a)) : text)]
        if let link {
            widgets.append(
                .object([(
                    "buttonList",
                    .object([("buttons", .array([.object([("text", "Runbook"), ("onClick", .object([("openLink", .object([("url", .string(link))]))]))])]))])
                )]))
        }
        return .object([
            ("header", .string(html.fitted("[\(MessageText.tierText(a).uppercased())] \(MessageText.summary(a))", GoogleChatReceiver.maxHeader, u))),
            ("widgets", .array(widgets)),
        ])
    }

    /// The text format's body: a block per detailed alert, a line per listed one, then the count of the rest.
    func textBody(_ n: AlertNotification, _ d: Detail) -> String {
        let u = GoogleChatReceiver.unit, markup = Markup.chatText
        var blocks: [String] = []
        for a in n.alerts.prefix(d.detailed) {
            var block = "• [\(markup.fitted(MessageText.tierText(a), 100, u))] \(markup.fitted(MessageText.summary(a), 300, u))"
            if let description = MessageText.description(a), d.description > 0 { block += "\n  " + markup.fitted(description, d.description, u) }
            if let h = MessageText.historyLine(a) { block += "\n  " + h }
            if let r = MessageText.runbook(a) { block += "\n  Runbook: " + markup.fitted(r, 512, u) }
            if d.labels {
                let labels = MessageText.labelPairs(a).map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                if !labels.isEmpty { block += "\n  " + markup.fitted(labels, 300, u) }
            }
            blocks.append(block)
        }
        let lines = n.alerts.dropFirst(d.detailed).prefix(d.listed).map { "• [\(MessageText.tierText($0))] \(MessageText.summary($0))" }
        if d.detailed < n.alerts.count {
            blocks.append(MessageText.list(lines, hidden: d.hidden(of: n.alerts.count), markup: markup, limit: GoogleChatReceiver.maxText, unit: u))
        }
        return blocks.joined(separator: "\n")
    }
}

extension String {
    /// `&`, `<`, `>` and `"` as HTML entities (Google Chat's card text is a subset of HTML).
    var htmlEscaped: String { Markup.html.escaped(self) }
}
