/// Discord webhooks: the title as `content`, one embed per alert with the tier's colour as an
/// integer, the summary as title, description and runbook as description, labels as inline fields.
///
/// Discord's documented limits, all kept: content 2,000 characters; at most 10 embeds; an embed's
/// title 256, description 4,096, 25 fields (name 256, value 1,024), footer 2,048; and 6,000
/// characters across all embeds of a message. Past 10 alerts, the tenth embed lists the rest;
/// past 6,000 characters, descriptions and then fields are cut, each cut marked with `…`.
public struct DiscordReceiver: PayloadBuilder {
    public var kind: String { "discord" }
    public var username: String?

    public init(username: String? = nil) { self.username = username }

    static let maxContent = 2000, maxEmbeds = 10, maxTitle = 256, maxDescription = 4096
    static let maxFields = 25, maxFieldName = 256, maxFieldValue = 1024, maxFooter = 2048, maxTotal = 6000

    struct Embed {
        var title: String
        var description: String
        var url: String?
        var color: Int64
        var fields: [(String, String)]
        var footer: String
        var timestamp: String?

        var characters: Int {
            MessageText.scalarCount(title) + MessageText.scalarCount(description) + MessageText.scalarCount(footer)
                + fields.reduce(0) { $0 + MessageText.scalarCount($1.0) + MessageText.scalarCount($1.1) }
        }

        var json: JSON {
            var m: [(String, JSON)] = [("title", .string(title)), ("description", .string(description))]
            if let url { m.append(("url", .string(url))) }
            m.append(("color", .int(color)))
            if !fields.isEmpty {
                m.append(("fields", .array(fields.map { .object([("name", .string($0.0)), ("value", .string($0.1)), ("inline", true)]) })))
            }
            m.append(("footer", .object([("text", .string(footer))])))
            if let timestamp { m.append(("timestamp", .string(timestamp))) }
            return .object(m)
        }
    }

    public func payload(for n: AlertNotification) -> Payload {
        var shown = n.alerts
        var hidden: [NotifiedAlert] = []
        if shown.count > DiscordReceiver.maxEmbeds {
            hidden = Array(shown[(DiscordReceiver.maxEmbeds - 1)...])
            shown = Array(shown.prefix(DiscordReceiver.maxEmbeds - 1))
        }
        var embeds = shown.map(embed)
        if !hidden.isEmpty {
            let list = hidden.map { "[\(MessageText.tierText($0))] \(MessageText.summary($0))" }.joined(separator: "\n")
            embeds.append(
                Embed(
                    title: "… and \(hidden.count) more alerts", description: MessageText.truncate(list, DiscordReceiver.maxDescription),
                    url: nil, color: MessageText.intColor(nil, resolved: false), fields: [], footer: "agent", timestamp: nil))
        }
        DiscordReceiver.fit(&embeds)
        var message: [(String, JSON)] = [
            ("content", .string(MessageText.truncate(n.title, DiscordReceiver.maxContent))),
            ("embeds", .array(embeds.map(\.json))),
        ]
        if let username { message.append(("username", .string(MessageText.truncate(username, 80)))) }
        return Payload(body: JSON.object(message).encoded())
    }

    func embed(_ a: NotifiedAlert) -> Embed {
        let resolved = a.status == .resolved
        var description = MessageText.description(a) ?? ""
        if let history = MessageText.historyLine(a) { description += (description.isEmpty ? "" : "\n") + history }
        if let runbook = MessageText.runbook(a) { description += (description.isEmpty ? "" : "\n") + "[Runbook](\(runbook))" }
        var fields = MessageText.labelPairs(a).map {
            (MessageText.truncate($0.0, DiscordReceiver.maxFieldName), MessageText.truncate($0.1, DiscordReceiver.maxFieldValue))
        }
        fields.append(("value", MessageText.value(a.value)))
        if fields.count > DiscordReceiver.maxFields {
            let rest = fields.count - (DiscordReceiver.maxFields - 1)
            fields = Array(fields.prefix(DiscordReceiver.maxFields - 1)) + [("…", "\(rest) more labels")]
        }
        return Embed(
            title: MessageText.truncate("[\(MessageText.tierText(a).uppercased())] \(MessageText.summary(a))", DiscordReceiver.maxTitle),
            description: MessageText.truncate(description, DiscordReceiver.maxDescription),
            url: MessageText.runbook(a), color: MessageText.intColor(a.severity, resolved: resolved), fields: fields,
            footer: MessageText.truncate(a.source.isEmpty ? "agent" : "agent · \(a.source)", DiscordReceiver.maxFooter),
            timestamp: RFC3339.format(resolved ? (a.endsAt ?? a.startsAt) : a.startsAt))
    }

    /// Cuts descriptions, then fields, then titles until all embeds hold at most 6,000 characters.
    static func fit(_ embeds: inout [Embed]) {
        func total() -> Int { embeds.reduce(0) { $0 + $1.characters } }
        guard total() > maxTotal else { return }
        let share = maxTotal / max(1, embeds.count)
        for i in embeds.indices where embeds[i].characters > share {
            let others = embeds[i].characters - MessageText.scalarCount(embeds[i].description)
            embeds[i].description = MessageText.truncate(embeds[i].description, max(1, share - others))
        }
        for i in embeds.indices where embeds[i].characters > share {
            while embeds[i].characters > share, embeds[i].fields.count > 1 { embeds[i].fields.removeLast() }
            if embeds[i].characters > share { embeds[i].fields = [] }
            if embeds[i].characters > share { embeds[i].footer = MessageText.truncate(embeds[i].footer, 64) }
            if embeds[i].characters > share {
                let rest = embeds[i].characters - MessageText.scalarCount(embeds[i].title)
                embeds[i].title = MessageText.truncate(embeds[i].title, max(1, share - rest))
            }
        }
    }
}
